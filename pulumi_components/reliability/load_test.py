"""The staging load test: its rate (an answer), its shape, and the SLO thresholds that gate production.

The deploy workflow runs Locust against staging after each staging deploy and promotes to
production only when, over the whole run, the error ratio stays within the availability SLO's
error budget and the p99 within the latency SLO, at no less than MIN_RATE_SHARE of the target rate
(a run that did not apply the load proves nothing).

All the load comes from one CI runner, so one client address: the rate must fit under staging's
per-IP WAF rule (EKS) and the HTTP API's throttle (Lambda), or the edge, not the service, would
answer the test. `load_test_error` refuses a rate that does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .plan import ServicePlan

RUN_SECONDS = 300  # long enough for a stable p99 at a few requests per second
MIN_RATE_SHARE = 0.9  # the run must reach 90% of the target rate to count
EDGE_SHARE = 0.8  # the rate may use at most 80% of what the edge lets one client send
ENVIRONMENT = "staging"


@dataclass(frozen=True)
class LoadTestPlan:
    target_rps: int
    users: int  # Locust users, each paced at per_user_rps (constant throughput)
    per_user_rps: float
    run_seconds: int
    max_error_ratio: float  # the availability SLO's error budget
    max_p99_ms: int  # the latency SLO
    min_rps: float  # the run fails when it achieved less

    def as_dict(self) -> dict[str, float | int]:
        return {
            "target_rps": self.target_rps,
            "users": self.users,
            "per_user_rps": self.per_user_rps,
            "run_seconds": self.run_seconds,
            "max_error_ratio": self.max_error_ratio,
            "max_p99_ms": self.max_p99_ms,
            "min_rps": self.min_rps,
        }


def load_test_plan(plan: ServicePlan) -> LoadTestPlan:
    answers = plan.answers
    latency_seconds = answers.latency_slo_ms / 1000
    # Each user may wait out a request as slow as the SLO and still keep its pace twice over.
    users = max(1, math.ceil(answers.load_test_rps * 2 * latency_seconds))
    return LoadTestPlan(
        target_rps=answers.load_test_rps,
        users=users,
        per_user_rps=round(answers.load_test_rps / users, 6),
        run_seconds=RUN_SECONDS,
        max_error_ratio=plan.availability.error_budget,
        max_p99_ms=answers.latency_slo_ms,
        min_rps=round(answers.load_test_rps * MIN_RATE_SHARE, 3),
    )


def edge_allowance_rps(plan: ServicePlan) -> float | None:
    """Requests per second one client may send to staging before its edge refuses them; None
    when there is no staging environment."""
    env = plan.environments.get(ENVIRONMENT)
    if env is None:
        return None
    if env.function is not None:
        return float(env.function.api_throttle_rate)
    return env.edge.waf_rate_limit / env.edge.waf_rate_window_seconds


def load_test_error(plan: ServicePlan) -> str:
    """Why the answered rate cannot be tested from one runner against staging; '' when it can."""
    allowance = edge_allowance_rps(plan)
    if allowance is None:
        return ""
    ceiling = math.floor(allowance * EDGE_SHARE)
    if plan.answers.load_test_rps > ceiling:
        edge = "HTTP API throttle" if plan.environments[ENVIRONMENT].function else "per-IP WAF rate rule"
        return (
            f"load_test_rps must be at most {ceiling} requests per second: staging's {edge} lets one client send "
            f"{allowance:g}/s and the load test runs from one CI runner; got {plan.answers.load_test_rps}"
        )
    return ""
