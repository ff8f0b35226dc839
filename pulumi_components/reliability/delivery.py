"""docs/delivery.md's timing table, decided from the plan: how long a healthy release takes in each
environment and how soon a regression's rollback is decided, each cell a finished string.

Standard library only: the Copier extension loads this module.
"""

from __future__ import annotations

from .facts import service_facts
from .plan import EnvironmentPlan, ServicePlan
from .vocabulary import DeploymentStrategy

Row = tuple[str, ...]


def _kubernetes_row(env: EnvironmentPlan) -> Row:
    rollout = env.rollout
    full = (
        f"{rollout.full_rollout_seconds} s" if rollout.full_rollout_seconds else "paced by readiness (no timed steps)"
    )
    decision = rollout.rollback_decision_seconds_at(1.0)
    if decision:
        rollback = f"{decision} s for a release failing every request"
    else:
        rollback = "no automatic gate: SLO alerts, then the rollback workflow"
    return (env.name, full, rollback)


def _lambda_row(env: EnvironmentPlan) -> Row:
    rollout = env.rollout
    seconds = rollout.lambda_full_rollout_seconds
    full = f"{seconds} s" if seconds else "immediate after the pre-traffic check"
    if rollout.strategy == DeploymentStrategy.BLUE_GREEN:
        rollback = "a version that is not ready never gets traffic; after the shift, the rollback workflow"
    else:
        rollback = (
            f"at most {rollout.lambda_rollback_decision_seconds} s while the shift runs "
            "(alarm period x (datapoints + 1))"
        )
    return (env.name, full, rollback)


def release_timings(plan: ServicePlan) -> tuple[Row, ...]:
    """Per environment: its name, a healthy release's full rollout, a regression's rollback decision."""
    row = _kubernetes_row if service_facts(plan).runs_on_kubernetes else _lambda_row
    return tuple(row(env) for env in plan.environments.values())
