"""The generated Prometheus rules pass promtool, and their unit tests fail when the rules are weakened."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from monitoring_repos import LEVELS, repo, run, tool

from pulumi_components.reliability.promtool_tests import counter


def prometheus_dir(level: str = "standard", **answers) -> Path:
    return repo(platform="aws-eks", monitoring_level=level, **answers) / "monitoring" / "prometheus"


def promtool_test(directory: Path, files: tuple[str, ...] = ()) -> tuple[int, str]:
    files = files or tuple(sorted(p.name for p in directory.glob("*.test.yml")))
    result = run(tool("promtool"), "test", "rules", *files, cwd=directory)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("level", LEVELS)
def test_rules_pass_promtool_check_and_their_unit_tests(level):
    directory = prometheus_dir(level)
    check = run(tool("promtool"), "check", "rules", str(directory / "rules.yml"))
    assert check.returncode == 0, check.stdout + check.stderr
    code, output = promtool_test(directory)
    assert code == 0, output[-4000:]


@pytest.mark.parametrize("sla,latency_slo_ms", [(93.1, 250), (99.99, 1000), (99.999, 300)])
def test_unit_tests_pass_across_slas_and_latency_targets(sla, latency_slo_ms):
    code, output = promtool_test(prometheus_dir("basic", sla=sla, latency_slo_ms=latency_slo_ms))
    assert code == 0, output[-4000:]


def _mutated(tmp_path: Path, edit) -> Path:
    directory = shutil.copytree(prometheus_dir("basic"), tmp_path / "prometheus")
    rules = yaml.safe_load((directory / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            edit(rule)
    (directory / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    return directory


def test_unit_tests_catch_a_page_threshold_ten_times_too_high(tmp_path):
    def weaken(rule):
        if rule.get("alert") == "AvailabilityBudgetBurnPage":
            rule["expr"] = rule["expr"].replace("> 0.0144", "> 0.144").replace("> 0.006", "> 0.06")

    code, output = promtool_test(_mutated(tmp_path, weaken), ("alerts.test.yml",))
    assert code != 0 and "AvailabilityBudgetBurnPage fires" in output


def test_unit_tests_catch_a_missing_zero_traffic_guard(tmp_path):
    def unguard(rule):
        if rule.get("record", "").startswith("slo:sli_error:ratio_rate"):
            rule["expr"] = rule["expr"].replace("/\nclamp_min(", "/\n(").replace(", 1e-12)", ")")

    code, output = promtool_test(_mutated(tmp_path, unguard), ("recording-rules.test.yml",))
    assert code != 0 and "NaN" in output


def test_unit_tests_catch_a_ticket_that_also_pages(tmp_path):
    def louder(rule):
        if rule.get("alert") == "AvailabilityBudgetBurnPage":
            rule["expr"] = rule["expr"].replace("> 0.0144", "> 0.0009").replace("> 0.006", "> 0.0009")

    code, output = promtool_test(_mutated(tmp_path, louder), ("alerts.test.yml",))
    assert code != 0 and "AvailabilityBudgetBurnPage stays silent" in output


def _page_expectation(directory: Path) -> dict:
    """The page alert as the generated unit tests expect it (labels and annotations)."""
    cases = yaml.safe_load((directory / "alerts.test.yml").read_text())["tests"]
    return next(
        check["exp_alerts"][0]
        for case in cases
        for check in case["alert_rule_test"]
        if check["alertname"] == "AvailabilityBudgetBurnPage" and check["exp_alerts"]
    )


CLEAN_MINUTES = 6 * 60  # a clean history as long as the longest page window


def scenario(directory: Path, ratio: float, minutes: int, checks: list[tuple[int, bool]]) -> tuple[int, str]:
    """Six clean hours, then `ratio` of requests failing for `minutes`; `checks` are
    (minutes after the change, page expected) pairs run by promtool on the generated rules."""
    slug = "example-service"
    labels = f'namespace="{slug}", job="{slug}-metrics", method="GET", route="/"'
    per_minute = 100_000
    page = _page_expectation(directory)
    document = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f'http_requests_total{{{labels}, code="200"}}',
                        "values": counter((CLEAN_MINUTES, per_minute), (minutes, per_minute * (1 - ratio))),
                    },
                    {
                        "series": f'http_requests_total{{{labels}, code="500"}}',
                        "values": counter((CLEAN_MINUTES, 0), (minutes, per_minute * ratio)),
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": f"{CLEAN_MINUTES + minute}m",
                        "alertname": "AvailabilityBudgetBurnPage",
                        "exp_alerts": [page] if firing else [],
                    }
                    for minute, firing in checks
                ],
            }
        ],
    }
    (directory / "scenario.test.yml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = run(tool("promtool"), "test", "rules", "scenario.test.yml", cwd=directory)
    return result.returncode, result.stdout + result.stderr


def test_two_percent_errors_for_an_hour_pages_at_sla_999(tmp_path):
    # The 1h window crosses 0.0144 after 0.0144 / 0.02 x 60 = 43.2 min; the page has no `for`.
    directory = shutil.copytree(prometheus_dir("basic"), tmp_path / "prometheus")
    code, output = scenario(directory, 0.02, 60, [(40, False), (46, True), (60, True)])
    assert code == 0, output[-3000:]


def test_errors_at_the_budget_never_page(tmp_path):
    directory = shutil.copytree(prometheus_dir("basic"), tmp_path / "prometheus")
    code, output = scenario(directory, 0.001, 8 * 60, [(minute, False) for minute in range(0, 8 * 60, 15)])
    assert code == 0, output[-3000:]


def test_a_total_outage_pages_at_the_first_evaluation_after_the_windows_cross(tmp_path):
    # No `for`: the 1h window crosses 0.0144 after 0.86 min, so the evaluation at minute 1 pages. The
    # alert sits in its recordings' group, after them, so it reads this evaluation's ratios.
    directory = shutil.copytree(prometheus_dir("basic"), tmp_path / "prometheus")
    code, output = scenario(directory, 1.0, 10, [(0, False), (1, True), (10, True)])
    assert code == 0, output[-3000:]


def test_two_percent_errors_page_as_soon_as_the_hour_window_crosses(tmp_path):
    # 0.0144 / 0.02 x 60 = 43.2 min: silent at 43, paging at 44 (the next one-minute evaluation).
    directory = shutil.copytree(prometheus_dir("basic"), tmp_path / "prometheus")
    code, output = scenario(directory, 0.02, 50, [(43, False), (44, True)])
    assert code == 0, output[-3000:]


def test_every_rule_follows_the_recordings_it_reads_in_their_group():
    # Groups evaluate independently (in promtool as in Prometheus): an alert reading another group's
    # recordings may see the previous evaluation, one evaluation of lag on the page.
    groups = yaml.safe_load((prometheus_dir("standard") / "rules.yml").read_text())["groups"]
    alerts_reading = 0
    for group in groups:
        recorded: set[str] = set()
        for rule in group["rules"]:
            reads = set(re.findall(r"\bslo:[a-z0-9_:]+", rule["expr"]))
            assert reads <= recorded, f"{rule.get('alert') or rule['record']} reads {reads - recorded} too early"
            alerts_reading += bool(reads and "alert" in rule)
            recorded |= {rule["record"]} if "record" in rule else set()
    assert alerts_reading == 5, "four burn-rate alerts and the budget-left one"


def _no_pods_case(directory: Path) -> tuple[int, str]:
    return promtool_test(directory, ("alerts.test.yml",))


def test_no_pods_serving_pages_a_minute_after_the_last_ready_pod_goes(tmp_path):
    # The generated case: two pods ready until minute 30, then none; silent at 30 (pending), paging at 31.
    cases = yaml.safe_load((prometheus_dir("basic") / "alerts.test.yml").read_text())["tests"]
    (case,) = [c for c in cases if c["name"] == "NoPodsServing fires 1 min after the last ready pod goes"]
    assert [(c["eval_time"], bool(c["exp_alerts"])) for c in case["alert_rule_test"]] == [
        ("29m", False),
        ("30m", False),
        ("31m", True),
    ]

    def slower(rule):
        if rule.get("alert") == "NoPodsServing":
            rule["for"] = "2m"

    code, output = _no_pods_case(_mutated(tmp_path / "slower", slower))
    assert code != 0 and "NoPodsServing fires" in output


def test_no_pods_serving_cases_catch_a_rule_that_ignores_readiness(tmp_path):
    def any_address(rule):
        if rule.get("alert") == "NoPodsServing":
            rule["expr"] = rule["expr"].replace(', ready="true"', "")

    code, output = _no_pods_case(_mutated(tmp_path, any_address))
    assert code != 0 and "NoPodsServing fires" in output


def test_burn_rate_alerts_have_no_for_as_in_sloth():
    rules = yaml.safe_load((prometheus_dir("standard") / "rules.yml").read_text())
    burn = [r for g in rules["groups"] for r in g["rules"] if "BudgetBurn" in r.get("alert", "")]
    assert len(burn) == 4 and not [r["alert"] for r in burn if "for" in r]
    sloth = [r for g in SLOTH["groups"] for r in g["rules"] if "alert" in r]
    assert sloth and not [r for r in sloth if "for" in r], "Sloth's generated alerts have no `for` either"


def test_unit_tests_catch_a_30_day_ratio_diluted_by_time_without_traffic(tmp_path):
    def average_over_time(rule):  # Sloth's optimised form: the 5m ratio averaged over the period
        if rule.get("record") == "slo:sli_error:ratio_rate30d":
            selector = rule["expr"].split("slo:sli_bad_events:rate5m", 1)[1].split("[", 1)[0]
            rule["expr"] = f"avg_over_time(slo:sli_error:ratio_rate5m{selector}[30d])"

    code, output = promtool_test(_mutated(tmp_path, average_over_time), ("recording-rules.test.yml",))
    # The idle case fails at its end (3h): the hour at 1% reads as 0.36% once averaged with idle time.
    assert code != 0 and "ratio_rate30d" in output and "time: 3h," in output and "3.556E-03" in output


SLOTH = yaml.safe_load(
    (Path(__file__).parent / "reference" / "sloth" / "getting-started.rules.yml").read_text().split("---\n", 1)[1]
)
SLOTH_SLO_LABELS = {"sloth_id", "sloth_service", "sloth_slo"}


def test_recording_rules_carry_sloth_s_names_and_labels():
    """Every record Sloth generates exists here with Sloth's `sloth_*` label keys (its example's own
    SLO labels, owner/repo/tier/cmd, aside); alerts carry `sloth_severity` as Sloth's do."""
    ours: dict[str, list[dict]] = {}
    rules = yaml.safe_load((prometheus_dir("standard") / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            ours.setdefault(rule.get("record") or rule["alert"], []).append(rule)
    for group in SLOTH["groups"]:
        for rule in group["rules"]:
            if "record" not in rule:
                continue
            sloth_keys = {k for k in rule["labels"] if k.startswith("sloth_")}
            assert rule["record"] in ours, rule["record"]
            for mine in ours[rule["record"]]:
                assert {k for k in mine["labels"] if k.startswith("sloth_")} == sloth_keys, rule["record"]
                assert mine["labels"]["sloth_id"] == f"{mine['labels']['sloth_service']}-{mine['labels']['sloth_slo']}"
    sloth_severities = {r["labels"]["sloth_severity"] for g in SLOTH["groups"] for r in g["rules"] if "alert" in r}
    burn = [r for rs in ours.values() for r in rs if "BudgetBurn" in r.get("alert", "")]
    assert {r["labels"]["sloth_severity"] for r in burn} == sloth_severities == {"page", "ticket"}
    (info,) = [r for r in ours["sloth_slo_info"] if r["labels"]["slo"] == "availability"]
    assert info["labels"]["sloth_objective"] == "99.9" and info["expr"] == "vector(1)"
