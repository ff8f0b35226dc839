"""Service level objectives: error budgets and the multi-window, multi-burn-rate alerts.

The alert table is the one in the Google SRE workbook ("Alerting on SLOs",
table 5-8), extended with the 1d/2h ticket: an alert fires when the error
ratio over BOTH its long and short window exceeds burn_rate x (1 - SLO).
"""

from __future__ import annotations

from dataclasses import dataclass

from .vocabulary import Severity

SLO_PERIOD_DAYS = 30
SLO_PERIOD_MINUTES = SLO_PERIOD_DAYS * 24 * 60

PAGE_FAST_BURN_RATE = 14.4

# The latency SLI counts a request as good when it is faster than latency_slo_ms;
# latency_slo_ms is a p99 target, so 99% of requests must be good.
LATENCY_OBJECTIVE = 0.99

# Every rate window a rule needs, in Prometheus duration syntax, shortest first.
SLI_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", f"{SLO_PERIOD_DAYS}d")

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(duration: str) -> int:
    """'5m' -> 300. Only the single-unit form the model itself writes."""
    return int(duration[:-1]) * _SECONDS[duration[-1]]


@dataclass(frozen=True)
class BurnRateAlert:
    """One row of the alert table for one SLO."""

    name: str  # "page-fast", "page-slow", "ticket-fast", "ticket-slow"
    severity: Severity  # critical pages, warning opens a ticket
    long_window: str
    short_window: str
    burn_rate: float
    error_budget: float  # 1 - objective

    @property
    def threshold(self) -> float:
        """The error ratio both windows must exceed."""
        return round(self.burn_rate * self.error_budget, 12)

    @property
    def budget_consumed(self) -> float:
        """Fraction of the period's budget spent at this burn rate over the long window."""
        return self.burn_rate * duration_seconds(self.long_window) / (SLO_PERIOD_MINUTES * 60)

    def detection_seconds(self, error_ratio: float) -> float | None:
        """Seconds from a step change to `error_ratio` until both windows cross the
        threshold, assuming a clean history before it; None when it never fires."""
        if error_ratio <= self.threshold:
            return None
        return max(
            self.threshold * duration_seconds(window) / error_ratio for window in (self.long_window, self.short_window)
        )


# (name, severity, long window, short window, burn rate)
_ALERT_TABLE = (
    ("page-fast", Severity.CRITICAL, "1h", "5m", PAGE_FAST_BURN_RATE),
    ("page-slow", Severity.CRITICAL, "6h", "30m", 6.0),
    ("ticket-fast", Severity.WARNING, "1d", "2h", 3.0),
    ("ticket-slow", Severity.WARNING, "3d", "6h", 1.0),
)


@dataclass(frozen=True)
class Objective:
    """One SLO: its target and its burn-rate alerts."""

    sli: str  # "availability" or "latency"
    objective: float  # fraction of good events, e.g. 0.999

    @property
    def error_budget(self) -> float:
        return round(1 - self.objective, 10)

    @property
    def budget_minutes(self) -> float:
        """Minutes of full outage the period's budget allows."""
        return round(self.error_budget * SLO_PERIOD_MINUTES, 4)

    @property
    def alerts(self) -> tuple[BurnRateAlert, ...]:
        return tuple(
            BurnRateAlert(name, severity, long, short, rate, self.error_budget)
            for name, severity, long, short, rate in _ALERT_TABLE
        )


def availability_objective(sla_percent: float) -> Objective:
    return Objective("availability", round(sla_percent / 100, 10))


def latency_objective() -> Objective:
    return Objective("latency", LATENCY_OBJECTIVE)


def latency_buckets_seconds(latency_slo_ms: int) -> tuple[float, ...]:
    """Histogram bucket bounds for the service: Prometheus' defaults plus the
    latency target itself, so the latency SLI reads an exact bucket."""
    defaults = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
    return tuple(sorted({*defaults, latency_slo_ms / 1000}))
