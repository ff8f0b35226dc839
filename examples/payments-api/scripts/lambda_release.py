"""Shift the Lambda alias to a new version through CodeDeploy, or shift it back.

    python scripts/lambda_release.py deploy --function F --alias live --version 7 \
        --application APP --deployment-group GROUP
    python scripts/lambda_release.py rollback --function F --alias live \
        --application APP --deployment-group GROUP

`deploy` starts a CodeDeploy deployment of the alias from the version it serves to
`--version` (the group's deployment configuration holds the canary, linear or
all-at-once shift, and its alarms roll back on their own) and follows it until it
succeeds, or exits 1 when it fails or is stopped. `rollback` returns the alias to the
version it served before: it stops an in-progress deployment with CodeDeploy's
automatic rollback, or else moves the alias to the previous published version.
Only the AWS CLI is needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from _poll import Runner, Verdict, poll, run_cli, run_json

IN_PROGRESS = ("Created", "Queued", "InProgress", "Baking", "Ready")


class Alias:
    def __init__(self, runner: Runner, function: str, name: str) -> None:
        self.runner, self.function, self.name = runner, function, name

    def get(self) -> dict[str, Any]:
        command = ["aws", "lambda", "get-alias", "--function-name", self.function, "--name", self.name]
        return run_json(self.runner, command + ["--output", "json"])

    def point_at(self, version: str) -> None:
        self.runner(
            ["aws", "lambda", "update-alias", "--function-name", self.function, "--name", self.name,
             "--function-version", version, "--routing-config", json.dumps({"AdditionalVersionWeights": {}})]
        )  # fmt: skip


def appspec(function: str, alias: str, current: str, target: str, pre_traffic_hook: str = "") -> str:
    """The AppSpec CodeDeploy needs to shift a Lambda alias; with a pre-traffic hook, CodeDeploy
    runs it before any traffic moves and stops the deployment unless it reports success."""
    properties = {"Name": function, "Alias": alias, "CurrentVersion": current, "TargetVersion": target}
    spec: dict[str, Any] = {
        "version": 0.0,
        "Resources": [{alias: {"Type": "AWS::Lambda::Function", "Properties": properties}}],
    }
    if pre_traffic_hook:
        spec["Hooks"] = [{"BeforeAllowTraffic": pre_traffic_hook}]
    return json.dumps(spec)


def deployment_verdict(info: dict[str, Any]) -> Verdict:
    status = info.get("status", "Unknown")
    if status == "Succeeded":
        return Verdict.passed("deployment succeeded: the alias serves the new version")
    if status in ("Failed", "Stopped"):
        error = (info.get("errorInformation") or {}).get("message", "")
        rolled_back = " and was rolled back" if (info.get("rollbackInfo") or {}).get("rollbackDeploymentId") else ""
        return Verdict.failed(f"deployment {status.lower()}{rolled_back}: {error}".rstrip(": "))
    overview = info.get("deploymentOverview") or {}
    progress = ", ".join(f"{k} {v}" for k, v in overview.items() if v)
    return Verdict.waiting(f"deployment {status}" + (f" ({progress})" if progress else ""))


def deploy(
    runner: Runner,
    alias: Alias,
    version: str,
    application: str,
    group: str,
    timeout: float,
    interval: float,
    pre_traffic_hook: str = "",
    **poll_args: Any,
) -> Verdict:
    current = str(alias.get()["FunctionVersion"])
    if current == version:
        return Verdict.passed(f"alias {alias.name} already serves version {version}")
    revision = {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": appspec(alias.function, alias.name, current, version, pre_traffic_hook)},
    }
    started = run_json(
        runner,
        ["aws", "deploy", "create-deployment", "--application-name", application, "--deployment-group-name", group,
         "--revision", json.dumps(revision), "--output", "json"],
    )  # fmt: skip
    deployment = started["deploymentId"]
    print(f"CodeDeploy deployment {deployment}: version {current} -> {version}")

    def check() -> Verdict:
        answer = run_json(
            runner, ["aws", "deploy", "get-deployment", "--deployment-id", deployment, "--output", "json"]
        )
        return deployment_verdict(answer.get("deploymentInfo", {}))

    return poll(check, timeout_seconds=timeout, interval_seconds=interval, **poll_args)


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


def rollback(runner: Runner, alias: Alias, application: str, group: str) -> str:
    running = run_json(
        runner,
        ["aws", "deploy", "list-deployments", "--application-name", application, "--deployment-group-name", group,
         "--include-only-statuses", *IN_PROGRESS, "--output", "json"],
    ).get("deployments", [])  # fmt: skip
    for deployment in running:
        runner(["aws", "deploy", "stop-deployment", "--deployment-id", deployment, "--auto-rollback-enabled"])
    if running:
        return f"stopped {', '.join(running)} with automatic rollback: the alias returns to the version it served"
    current = str(alias.get()["FunctionVersion"])
    target = previous_version(published_versions(runner, alias.function), current)
    alias.point_at(target)
    return f"alias {alias.name} returned from version {current} to {target}"


def main(argv: Sequence[str] | None = None, runner: Runner = run_cli) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("deploy", "rollback"))
    parser.add_argument("--function", required=True)
    parser.add_argument("--alias", required=True)
    parser.add_argument("--application", required=True, help="CodeDeploy application")
    parser.add_argument("--deployment-group", required=True, help="CodeDeploy deployment group")
    parser.add_argument("--version", help="published version to shift the alias to (deploy)")
    parser.add_argument("--pre-traffic-hook", default="", help="function CodeDeploy runs before shifting (deploy)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for the deployment")
    parser.add_argument("--interval", type=float, default=15)
    args = parser.parse_args(argv)
    alias = Alias(runner, args.function, args.alias)
    if args.action == "rollback":
        print(rollback(runner, alias, args.application, args.deployment_group))
        return 0
    if not args.version:
        parser.error("deploy needs --version")
    verdict = deploy(
        runner,
        alias,
        args.version,
        args.application,
        args.deployment_group,
        args.timeout,
        args.interval,
        pre_traffic_hook=args.pre_traffic_hook,
    )
    print(("OK: " if verdict.ok else "FAILED: ") + verdict.message)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
