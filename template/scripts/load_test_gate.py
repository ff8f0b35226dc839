"""Gate production on the staging load test: exit 1 when the run broke the SLO.

    python scripts/load_test_gate.py <prefix>_stats.csv --profile loadtest/profile.json

Reads the "Aggregated" row of the stats file Locust writes with `--csv <prefix>` and fails when,
over the whole run, the error ratio (failures / requests) exceeds the availability SLO's error
budget, the p99 exceeds the latency SLO, or the run achieved less than the minimum rate (a run
that did not apply the load proves nothing). Thresholds come from loadtest/profile.json, which
the reliability model writes; --max-error-ratio, --max-p99-ms and --min-rps override them (the
loopback test runs at a lower rate). A summary goes to stdout and, in GitHub Actions, to the job
summary.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("Name", "Request Count", "Failure Count", "Requests/s", "99%")


class StatsError(ValueError):
    """A stats file that is not Locust's, or a run with no requests."""


@dataclass(frozen=True)
class RunStats:
    requests: int
    failures: int
    rps: float
    p99_ms: float

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests


@dataclass(frozen=True)
class Thresholds:
    max_error_ratio: float
    max_p99_ms: float
    min_rps: float


def read_stats(path: Path) -> RunStats:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or any(column not in rows[0] for column in COLUMNS):
        raise StatsError(f"{path} is not a Locust stats file (--csv <prefix> writes <prefix>_stats.csv with {COLUMNS})")
    aggregated = [row for row in rows if row["Name"] == "Aggregated"]
    if not aggregated:
        raise StatsError(f"{path} has no Aggregated row")
    row = aggregated[0]
    requests = int(row["Request Count"])
    if requests == 0:
        raise StatsError(f"{path}: the run sent no requests, so it shows nothing about the SLO")
    p99 = row["99%"]
    return RunStats(
        requests=requests,
        failures=int(row["Failure Count"]),
        rps=float(row["Requests/s"]),
        p99_ms=float(p99) if p99 not in ("", "N/A") else float("inf"),
    )


def breaches(stats: RunStats, limits: Thresholds) -> list[str]:
    found = []
    if stats.error_ratio > limits.max_error_ratio:
        found.append(
            f"error ratio {stats.error_ratio:.5f} ({stats.failures} of {stats.requests}) is above the "
            f"SLO's error budget {limits.max_error_ratio:g}"
        )
    if stats.p99_ms > limits.max_p99_ms:
        found.append(f"p99 {stats.p99_ms:g} ms is above the latency SLO {limits.max_p99_ms:g} ms")
    if stats.rps < limits.min_rps:
        found.append(f"achieved {stats.rps:.2f} requests/s, below the {limits.min_rps:g}/s the test must apply")
    return found


def thresholds(args: argparse.Namespace) -> Thresholds:
    profile = json.loads(Path(args.profile).read_text()) if args.profile else {}

    def pick(name: str) -> float:
        value = getattr(args, name)
        if value is None:
            if name not in profile:
                raise SystemExit(f"--{name.replace('_', '-')} is needed (or --profile with {name})")
            value = profile[name]
        return float(value)

    return Thresholds(pick("max_error_ratio"), pick("max_p99_ms"), pick("min_rps"))


def summary(stats: RunStats, limits: Thresholds, found: list[str]) -> str:
    verdict = "broke the SLO: production is not deployed" if found else "within the SLO"
    lines = [
        f"### Load test: {verdict}",
        "",
        "| measure | run | limit |",
        "| --- | ---: | ---: |",
        f"| error ratio | {stats.error_ratio:.5f} | {limits.max_error_ratio:g} |",
        f"| p99 (ms) | {stats.p99_ms:g} | {limits.max_p99_ms:g} |",
        f"| requests/s | {stats.rps:.2f} | at least {limits.min_rps:g} |",
        f"| requests | {stats.requests} | |",
    ]
    return "\n".join(lines + [""] + [f"- {line}" for line in found]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stats", type=Path, help="<prefix>_stats.csv from locust --csv <prefix>")
    parser.add_argument("--profile", help="loadtest/profile.json: the thresholds the reliability model set")
    parser.add_argument("--max-error-ratio", type=float)
    parser.add_argument("--max-p99-ms", type=float)
    parser.add_argument("--min-rps", type=float)
    args = parser.parse_args(argv)
    limits = thresholds(args)
    try:
        stats = read_stats(args.stats)
    except (OSError, StatsError) as error:
        print(f"load test gate: {error}", file=sys.stderr)
        return 1
    found = breaches(stats, limits)
    text = summary(stats, limits, found)
    print(text)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as handle:
            handle.write(text)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
