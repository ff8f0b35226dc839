"""Rollout and rollback timing of what Groundwork generates, per strategy and SLA.

For each SLA choice and deployment strategy, from the production plan:
  full rollout   healthy release, first new pod serving to fully promoted
                 (EKS: Argo Rollouts steps/analysis; Lambda: CodeDeploy shifting)
  rollback       regression starts -> automatic rollback decided
                 (EKS: worst case for a hard failure, and for a regression at twice the
                 error threshold; Lambda: CloudWatch alarm period bound)
Each figure is printed with its ratio to the reference aims (full rollout under
10 minutes, rollback decision under 2 minutes). Run: python benchmarks/rollout_timing.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_components.reliability import Answers, plan_service  # noqa: E402
from pulumi_components.reliability.answers import SLA_CHOICES  # noqa: E402

ROLLOUT_AIM_SECONDS = 600
ROLLBACK_AIM_SECONDS = 120
STRATEGIES = ("rolling", "canary", "blue-green")


def rollout_plan(platform: str, strategy: str, sla: float):
    answers = {
        "project_name": "Bench",
        "service_slug": "bench",
        "team": "platform",
        "owner_email": "platform@example.com",
        "platform": platform,
        "deployment_strategy": strategy,
        "sla": sla,
    }
    return plan_service(Answers.from_mapping(answers)).prod.rollout


def seconds(value: float | None) -> str:
    """None: no such phase; 0: no timed phase (readiness-paced, or shifted at once)."""
    return "-" if not value else f"{value:g}s"


def ratio(value: float | None, aim: int) -> str:
    return "-" if not value else f"{value / aim:.2f}"


def rows() -> list[tuple[str, ...]]:
    table = []
    for sla in SLA_CHOICES:
        for strategy in STRATEGIES:
            eks = rollout_plan("aws-eks", strategy, sla)
            lam = rollout_plan("aws-lambda", strategy, sla)
            hard = eks.rollback_decision_seconds_at(1.0)
            # Lambda blue-green shifts at once: its gate is the pre-traffic check, not the alarms.
            lambda_rollback = None if strategy == "blue-green" else lam.lambda_rollback_decision_seconds
            mild = eks.rollback_decision_seconds_at(2 * eks.max_error_ratio)
            table.append(
                (
                    f"{sla}",
                    strategy,
                    f"{eks.max_error_ratio:.4%}",
                    seconds(eks.full_rollout_seconds),
                    ratio(eks.full_rollout_seconds, ROLLOUT_AIM_SECONDS),
                    seconds(hard),
                    ratio(hard, ROLLBACK_AIM_SECONDS),
                    seconds(mild),
                    seconds(lam.lambda_full_rollout_seconds),
                    seconds(lambda_rollback),
                    ratio(lambda_rollback, ROLLBACK_AIM_SECONDS),
                )
            )
    return table


HEADER = (
    "SLA",
    "strategy",
    "max err",
    "EKS rollout",
    "/10min",
    "EKS rollback",
    "/2min",
    "at 2x thr",
    "Lambda rollout",
    "Lambda rollback",
    "/2min",
)


def main() -> None:
    table = [HEADER, *rows()]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    for index, row in enumerate(table):
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    print()
    print("EKS rolling: paced by readiness only (no timed steps, no analysis); a pod that never gets ready")
    print("  stops it, the SLO alerts page. Lambda blue-green: shifts at once after the pre-traffic check.")
    print('EKS rollback (every request failing; "at 2x thr": errors at twice the threshold) = scrape')
    print("  + threshold crossing in the rate window + (failureLimit + 1) analysis intervals.")
    print("Lambda rollback = alarm period x (datapoints + 1): the period the regression starts in may not breach.")


if __name__ == "__main__":
    main()
