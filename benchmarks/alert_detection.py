"""How fast the generated page alert fires, measured with promtool on the generated rules.

    python benchmarks/alert_detection.py [--sla 99.9] [--step 15]

For a total outage and for a 2% error ratio, after six clean hours of traffic
(so every page window starts clean), promtool evaluates the generated rules
every `--step` seconds (15 by default; the deployed Prometheus evaluates every
30) and the first evaluation at which AvailabilityBudgetBurnPage fires is the
measured detection time. Printed beside it: the model's figure
(`BurnRateAlert.detection_seconds` of the page rows, plus the alert's `for`),
the share of the 30-day error budget spent before the page, and the Google SRE
workbook's figures for the 1h/14.4x alert (detection 0.86 min for a total
outage at 99.9%, 2% of the budget per alert). Then the rule count per
monitoring level.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_components.reliability import Answers, alert_catalogue, plan_service  # noqa: E402
from pulumi_components.reliability.alerts import scrape_job  # noqa: E402
from pulumi_components.reliability.prometheus_rules import rule_count, rule_file  # noqa: E402
from pulumi_components.reliability.promtool_tests import counter  # noqa: E402
from pulumi_components.reliability.slo import SLO_PERIOD_MINUTES, duration_seconds  # noqa: E402

STEP_SECONDS = 15  # scrape and evaluation interval of the measurement
CLEAN_HOURS = 6  # the longest page window, clean before the failure starts
REQUESTS_PER_STEP = 25_000
PAGE = "AvailabilityBudgetBurnPage"


def plan_for(sla: float, level: str = "basic"):
    return plan_service(
        Answers.from_mapping(
            {
                "project_name": "Benchmark",
                "service_slug": "bench",
                "team": "sre",
                "owner_email": "sre@example.com",
                "sla": sla,
                "monitoring_level": level,
            }
        )
    )


def measure(plan, ratio: float, scan_minutes: int, workdir: Path, step: int = STEP_SECONDS) -> float | None:
    """Seconds from the failure starting to the page firing, per promtool; None if it never fires."""
    (workdir / "rules.yml").write_text(yaml.safe_dump(rule_file(plan), sort_keys=False))
    clean = CLEAN_HOURS * 3600 // step
    scan = scan_minutes * 60 // step
    labels = f'namespace="bench", job="{scrape_job("bench")}", method="GET", route="/"'
    document = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": f"{step}s",
        "tests": [
            {
                "interval": f"{step}s",
                "input_series": [
                    {
                        "series": f'http_requests_total{{{labels}, code="200"}}',
                        "values": counter((clean, REQUESTS_PER_STEP), (scan, REQUESTS_PER_STEP * (1 - ratio))),
                    },
                    {
                        "series": f'http_requests_total{{{labels}, code="500"}}',
                        "values": counter((clean, 0), (scan, REQUESTS_PER_STEP * ratio)),
                    },
                ],
                # Expect silence at every step: promtool then lists exactly the steps where the page fires.
                "alert_rule_test": [
                    {"eval_time": f"{(clean + n) * step}s", "alertname": PAGE, "exp_alerts": []}
                    for n in range(scan + 1)
                ],
            }
        ],
    }
    (workdir / "scan.test.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = subprocess.run(
        ["promtool", "test", "rules", "scan.test.yml"], cwd=workdir, capture_output=True, text=True, timeout=600
    )
    # Every failure is a step where silence was expected and the page was firing.
    firing = [_seconds(t) for t in re.findall(r"time: ([0-9hms.]+),", result.stdout + result.stderr)]
    return min(firing) - CLEAN_HOURS * 3600 if firing else None


def _seconds(duration: str) -> float:
    total = 0.0
    for amount, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", duration):
        total += float(amount) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total


def expected(plan, ratio: float) -> float | None:
    """The model: the first page row whose both windows cross, plus the page's `for`."""
    page = next(a for a in alert_catalogue(plan) if a.name == PAGE)
    crossings = [t for row in page.burn_rows if (t := row.detection_seconds(ratio)) is not None]
    return min(crossings) + duration_seconds(page.for_) if crossings else None


def budget_spent(plan, ratio: float, seconds: float | None) -> float | None:
    """Share of the 30-day error budget the failure consumed before the page fired."""
    if seconds is None:
        return None
    return ratio * seconds / 60 / (plan.availability.error_budget * SLO_PERIOD_MINUTES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sla", type=float, default=99.9)
    parser.add_argument("--step", type=int, default=STEP_SECONDS, help="scrape and evaluation interval, seconds")
    args = parser.parse_args()
    if not shutil.which("promtool"):
        print("promtool is not on PATH (apt-get install prometheus)", file=sys.stderr)
        return 2
    plan = plan_for(args.sla)
    print(
        f"Page alert detection at SLA {args.sla}% (budget {plan.availability.budget_minutes} min / 30 days), "
        f"evaluated every {args.step}s"
    )
    print(f"{'failure':<16}{'promtool':>12}{'model':>12}{'budget spent':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for title, ratio, scan in (("total outage", 1.0, 10), ("2% errors", 0.02, 60)):
            measured = measure(plan, ratio, scan, Path(tmp), args.step)
            model = expected(plan, ratio)
            spent = budget_spent(plan, ratio, measured)
            print(
                f"{title:<16}{_fmt(measured):>12}{_fmt(model):>12}"
                f"{(f'{spent:.2%}' if spent is not None else 'never'):>15}"
            )
    fast = plan.availability.alerts[0]
    print(
        f"SRE workbook, {fast.long_window}/{fast.short_window} at {fast.burn_rate:g}x: detection "
        f"{fast.threshold * duration_seconds(fast.long_window) / 60:.2f} min for a total outage, "
        f"{fast.budget_consumed:.0%} of the budget per alert "
        "(windows only; the generated page has no `for`, so it fires at the next evaluation)"
    )
    print("\nRules per monitoring level (aws-eks, with postgres):")
    print(f"{'level':<15}{'recording':>10}{'alerting':>10}{'loki':>6}")
    for level in ("basic", "standard", "comprehensive"):
        counts = rule_count(plan_for(args.sla, level))
        print(f"{level:<15}{counts['recording']:>10}{counts['alerting']:>10}{counts['loki']:>6}")
    return 0


def _fmt(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds / 60:.1f} min"


if __name__ == "__main__":
    sys.exit(main())
