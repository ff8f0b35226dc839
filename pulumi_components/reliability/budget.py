"""Each environment's monthly cost budget: the cost estimate plus stated headroom, and when it alerts.

The limit is the environment's monthly estimate (`cost.py`) plus HEADROOM, rounded up to whole
dollars. The headroom covers what the estimate leaves out on purpose: per-GB charges
(`cost.NOT_ESTIMATED`), nodes the autoscaler adds above `node_desired`, and traffic above the
assumption the usage-priced lines read. The budget alerts the owner through the ticket route
(never a page: spend is not an outage) when the month is forecast to end above the limit, and
when actual spend crosses each of ACTUAL_PERCENTS of it.

Each generated stack carries its BudgetPlan as config (`<service>:budget`), so a team can raise
the limit in the file it deploys from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .cost import monthly_cost_estimate
from .plan import ServicePlan

HEADROOM = 0.25  # a quarter above the estimate: per-GB charges, autoscaled nodes, traffic above the assumption
FORECAST_PERCENT = 100  # the month is forecast to end above the limit
ACTUAL_PERCENTS = (80, 100)  # actual spend crossed 80% of the limit, then the limit


class BudgetConfigError(ValueError):
    """Stack config that does not describe a budget; the message names the key."""


@dataclass(frozen=True)
class BudgetPlan:
    limit_usd: int  # whole dollars a month
    estimate_usd: float  # the estimate the limit was derived from
    headroom: float
    forecast_percent: int
    actual_percents: tuple[int, ...]

    def validate(self) -> None:
        if self.limit_usd <= 0:
            raise BudgetConfigError(f"budget.limit_usd must be a positive number of dollars; got {self.limit_usd!r}")
        for key, value in (
            ("forecast_percent", self.forecast_percent),
            *(("actual_percents", p) for p in self.actual_percents),
        ):
            if not 0 < value <= 1000:
                raise BudgetConfigError(f"budget.{key} must be percentages between 1 and 1000; got {value!r}")
        if not self.actual_percents:
            raise BudgetConfigError("budget.actual_percents must name at least one percentage of the limit")


def monthly_estimate_usd(plan: ServicePlan, env: str) -> float:
    """The estimate a budget is built on: the environment's monthly cost (its high end, where the
    cost model gives a range)."""
    return monthly_cost_estimate(plan, env).high_usd


def budget_plan(plan: ServicePlan, env: str) -> BudgetPlan:
    estimate = monthly_estimate_usd(plan, env)
    return BudgetPlan(
        limit_usd=max(1, math.ceil(estimate * (1 + HEADROOM))),
        estimate_usd=estimate,
        headroom=HEADROOM,
        forecast_percent=FORECAST_PERCENT,
        actual_percents=ACTUAL_PERCENTS,
    )


def budget_config(plan: ServicePlan, env: str) -> dict[str, Any]:
    """The `<service>:budget` stack config of environment `env`."""
    budget = budget_plan(plan, env)
    return {
        "limit_usd": budget.limit_usd,
        "estimate_usd": budget.estimate_usd,
        "headroom": budget.headroom,
        "forecast_percent": budget.forecast_percent,
        "actual_percents": list(budget.actual_percents),
    }


def budget_from_config(data: Any) -> BudgetPlan:
    """A BudgetPlan back from stack config, checking every key; errors name the key."""
    if not isinstance(data, dict):
        raise BudgetConfigError(f"budget must be a mapping of {', '.join(_FIELDS)}; got {data!r}")
    unknown = sorted(set(data) - set(_FIELDS))
    missing = [key for key in _FIELDS if key not in data]
    if unknown or missing:
        raise BudgetConfigError(
            f"budget: unknown keys {unknown}, missing keys {missing}; expected {', '.join(_FIELDS)}"
        )
    percents = data["actual_percents"]
    if not isinstance(percents, list) or not all(_is_number(p) for p in percents):
        raise BudgetConfigError(f"budget.actual_percents must be a list of percentages; got {percents!r}")
    for key in ("limit_usd", "estimate_usd", "headroom", "forecast_percent"):
        if not _is_number(data[key]):
            raise BudgetConfigError(f"budget.{key} must be a number; got {data[key]!r}")
    budget = BudgetPlan(
        limit_usd=int(data["limit_usd"]),
        estimate_usd=float(data["estimate_usd"]),
        headroom=float(data["headroom"]),
        forecast_percent=int(data["forecast_percent"]),
        actual_percents=tuple(int(p) for p in percents),
    )
    budget.validate()
    return budget


_FIELDS = ("limit_usd", "estimate_usd", "headroom", "forecast_percent", "actual_percents")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
