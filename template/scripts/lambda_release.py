"""Shift the Lambda alias to a new version step by step, or shift it back.

    python scripts/lambda_release.py shift --function F --alias live --version 7 \
        --steps 5,25,50,100 --pause 300 --alarm F-errors --alarm F-latency
    python scripts/lambda_release.py rollback --function F --alias live

`shift` sends each step's share of traffic to the new version (weighted alias
routing), watches the CloudWatch alarms for `--pause` seconds after each step and
for `--bake` seconds after the last, and returns every request to the previous
version and exits 1 as soon as an alarm fires. `rollback` returns the alias to the
version it served before: it drops an in-progress shift, or moves the alias to the
previous published version. Only the AWS CLI is needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from _poll import Runner, Verdict, poll, run_cli, run_json


class Alias:
    def __init__(self, runner: Runner, function: str, name: str) -> None:
        self.runner, self.function, self.name = runner, function, name

    def get(self) -> dict[str, Any]:
        return run_json(
            self.runner, ["aws", "lambda", "get-alias", "--function-name", self.function, "--name", self.name]
        )

    def route(self, version: str, weights: dict[str, float]) -> None:
        routing = json.dumps({"AdditionalVersionWeights": weights})
        self.runner(
            ["aws", "lambda", "update-alias", "--function-name", self.function, "--name", self.name,
             "--function-version", version, "--routing-config", routing]
        )  # fmt: skip


def firing_alarms(runner: Runner, alarms: Sequence[str]) -> list[str]:
    if not alarms:
        return []
    answer = run_json(runner, ["aws", "cloudwatch", "describe-alarms", "--alarm-names", *alarms, "--output", "json"])
    return [
        a["AlarmName"]
        for a in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
        if a.get("StateValue") == "ALARM"
    ]


def watch(runner: Runner, alarms: Sequence[str], seconds: float, interval: float, **poll_args: Any) -> Verdict:
    """Pass when `seconds` go by with no alarm firing; fail on the first that fires."""

    def check() -> Verdict:
        firing = firing_alarms(runner, alarms)
        return Verdict.failed(f"alarm firing: {', '.join(firing)}") if firing else Verdict.waiting("alarms quiet")

    verdict = poll(check, timeout_seconds=seconds, interval_seconds=interval, **poll_args)
    if not verdict.ok and verdict.message.startswith("timed out"):
        return Verdict.passed(f"alarms quiet for {seconds:.0f}s")
    return verdict


def parse_steps(text: str) -> list[int]:
    steps = [int(part) for part in text.split(",") if part.strip()]
    if not steps or steps != sorted(set(steps)) or not 0 < steps[0] or steps[-1] != 100:
        raise argparse.ArgumentTypeError(f"steps must rise strictly and end at 100, got {text!r}")
    return steps


def shift(
    runner: Runner,
    alias: Alias,
    version: str,
    steps: Sequence[int],
    pause: float,
    bake: float,
    alarms: Sequence[str],
    interval: float = 15,
    **poll_args: Any,
) -> Verdict:
    previous = str(alias.get()["FunctionVersion"])
    if previous == version:
        return Verdict.passed(f"alias {alias.name} already serves version {version}")
    for weight in steps:
        if weight < 100:
            alias.route(previous, {version: weight / 100})
            print(f"version {version} takes {weight}% of requests")
            verdict = watch(runner, alarms, pause, interval, **poll_args)
        else:
            alias.route(version, {})
            print(f"version {version} takes all requests; previous was {previous}")
            verdict = watch(runner, alarms, bake, interval, **poll_args)
        if not verdict.ok:
            alias.route(previous, {})
            return Verdict.failed(f"{verdict.message}; alias {alias.name} returned to version {previous}")
    return Verdict.passed(f"alias {alias.name} promoted to version {version}")


def previous_version(versions: Sequence[str], current: str) -> str:
    """The highest published version below `current` ($LATEST is never a release)."""
    older = [int(v) for v in versions if v.isdigit() and int(v) < int(current)]
    if not older:
        raise SystemExit(f"no published version before {current} to return to")
    return str(max(older))


def published_versions(runner: Runner, function: str) -> list[str]:
    versions, marker = [], None
    while True:
        command = ["aws", "lambda", "list-versions-by-function", "--function-name", function, "--output", "json"]
        page = run_json(runner, command + (["--marker", marker] if marker else []))
        versions += [v["Version"] for v in page.get("Versions", [])]
        marker = page.get("NextMarker")
        if not marker:
            return versions


def rollback(runner: Runner, alias: Alias) -> str:
    state = alias.get()
    current = str(state["FunctionVersion"])
    if (state.get("RoutingConfig") or {}).get("AdditionalVersionWeights"):
        alias.route(current, {})
        return f"in-progress shift dropped: alias {alias.name} serves version {current} only"
    target = previous_version(published_versions(runner, alias.function), current)
    alias.route(target, {})
    return f"alias {alias.name} returned from version {current} to {target}"


def main(argv: Sequence[str] | None = None, runner: Runner = run_cli) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("shift", "rollback"))
    parser.add_argument("--function", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--version", help="version to shift to (shift)")
    parser.add_argument("--steps", type=parse_steps, default=[100], help="traffic percentages, e.g. 5,25,50,100")
    parser.add_argument("--pause", type=float, default=0, help="seconds to watch alarms after each step")
    parser.add_argument("--bake", type=float, default=0, help="seconds to watch alarms after the last step")
    parser.add_argument("--alarm", action="append", default=[], help="CloudWatch alarm that aborts the shift")
    parser.add_argument("--interval", type=float, default=15)
    args = parser.parse_args(argv)
    alias = Alias(runner, args.function, args.alias)
    if args.action == "rollback":
        print(rollback(runner, alias))
        return 0
    if not args.version:
        parser.error("shift needs --version")
    verdict = shift(runner, alias, args.version, args.steps, args.pause, args.bake, args.alarm, args.interval)
    print(("OK: " if verdict.ok else "FAILED: ") + verdict.message)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
