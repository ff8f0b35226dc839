"""Prometheus rule groups for a plan: SLO recording rules and the catalogue's alerts, as data.

The generated repo's `monitoring/prometheus/rules.yml` is `rule_file(plan)`
dumped to YAML; Pulumi wraps the same groups in PrometheusRule objects; the
local game day loads `rule_file(plan, time_scale=60)`, where every window and
`for` is sixty times shorter but the rule names and thresholds are the same.

Recording-rule names follow Sloth (`slo:sli_error:ratio_rate5m`,
`slo:period_error_budget_remaining:ratio`, ...) so dashboards and tools
written for Sloth or Pyrra read them unchanged.
"""

from __future__ import annotations

from typing import Any

from .alerts import alert_catalogue, service_selector
from .plan import ServicePlan
from .slo import SLI_WINDOWS, SLO_PERIOD_DAYS, Objective, duration_seconds

REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"
ERROR_CODES = "5.."
# Denominator floor: with no traffic the ratio is 0, never NaN, and nothing pages at night.
ZERO_TRAFFIC_FLOOR = 1e-12


def scaled(duration: str, time_scale: int = 1) -> str:
    """A Prometheus duration divided by `time_scale`, in seconds when scaled."""
    if time_scale == 1:
        return duration
    return f"{max(1, duration_seconds(duration) // time_scale)}s"


def le_matcher(seconds: float) -> str:
    """The `le` label of the bucket at `seconds`. Clients write whole numbers as
    "1" (Go) or "1.0" (Python, Prometheus 3 normalisation): match both."""
    if float(seconds).is_integer():
        return f'le=~"{int(seconds)}|{int(seconds)}\\\\.0"'
    return f'le="{seconds!r}"'


def objectives(plan: ServicePlan) -> tuple[Objective, ...]:
    """The SLOs the repo records: availability always, latency from `standard` up."""
    if plan.answers.monitoring_level == "basic":
        return (plan.availability,)
    return (plan.availability, plan.latency)


def _slo_labels(plan: ServicePlan, objective: Objective) -> dict[str, str]:
    return {"service": plan.answers.service_slug, "slo": objective.sli}


def _sli_expr(plan: ServicePlan, objective: Objective, window: str) -> str:
    job = service_selector(plan.answers.service_slug)
    floor = repr(ZERO_TRAFFIC_FLOOR)
    if objective.sli == "availability":
        errors = f'(sum(rate({REQUESTS}{{{job}, code=~"{ERROR_CODES}"}}[{window}])) or vector(0))'
        total = f"sum(rate({REQUESTS}{{{job}}}[{window}]))"
        return f"{errors}\n/\nclamp_min({total}, {floor})"
    threshold = plan.answers.latency_slo_ms / 1000
    total = f"sum(rate({DURATION}_count{{{job}}}[{window}]))"
    fast = f"sum(rate({DURATION}_bucket{{{job}, {le_matcher(threshold)}}}[{window}]))"
    return f"clamp_min({total} - {fast}, 0)\n/\nclamp_min({total}, {floor})"


def sli_recordings(plan: ServicePlan, time_scale: int = 1) -> list[dict[str, Any]]:
    """The error ratio of each SLO over every window; the 30-day one averages the 5m ratio."""
    rules = []
    period = f"{SLO_PERIOD_DAYS}d"
    for objective in objectives(plan):
        labels = _slo_labels(plan, objective)
        selector = f'{{service="{labels["service"]}", slo="{objective.sli}"}}'
        for window in SLI_WINDOWS:
            if window == period:
                expr = f"avg_over_time(slo:sli_error:ratio_rate5m{selector}[{scaled(period, time_scale)}])"
            else:
                expr = _sli_expr(plan, objective, scaled(window, time_scale))
            rules.append({"record": f"slo:sli_error:ratio_rate{window}", "expr": expr, "labels": labels})
    return rules


def meta_recordings(plan: ServicePlan) -> list[dict[str, Any]]:
    """Objective, budget and burn rates as series, so dashboards never compute them."""
    rules = []
    for objective in objectives(plan):
        labels = _slo_labels(plan, objective)
        selector = f'{{service="{labels["service"]}", slo="{objective.sli}"}}'
        budget = repr(objective.error_budget)
        for record, expr in (
            ("slo:objective:ratio", f"vector({objective.objective!r})"),
            ("slo:error_budget:ratio", f"vector({budget})"),
            ("slo:time_period:days", f"vector({SLO_PERIOD_DAYS})"),
            ("slo:current_burn_rate:ratio", f"slo:sli_error:ratio_rate5m{selector} / {budget}"),
            ("slo:period_burn_rate:ratio", f"slo:sli_error:ratio_rate{SLO_PERIOD_DAYS}d{selector} / {budget}"),
            ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{selector}"),
        ):
            rules.append({"record": record, "expr": expr, "labels": labels})
    return rules


def alerting_rules(plan: ServicePlan, time_scale: int = 1, engine: str = "prometheus") -> list[dict[str, Any]]:
    rules = []
    for alert in alert_catalogue(plan):
        if alert.engine != engine:
            continue
        rule = {"alert": alert.name, "expr": alert.expr}
        if alert.for_ != "0s":
            rule["for"] = scaled(alert.for_, time_scale)
        rule["labels"] = {"severity": alert.severity, "service": plan.answers.service_slug, **alert.labels}
        rule["annotations"] = {
            "summary": alert.summary,
            "description": alert.description,
            "runbook_url": alert.runbook,
        }
        rules.append(rule)
    return rules


def rule_file(plan: ServicePlan, time_scale: int = 1) -> dict[str, Any]:
    """The Prometheus rule file: SLI recordings, then meta recordings, then alerts."""
    slug = plan.answers.service_slug
    return {
        "groups": [
            {"name": f"{slug}-slo-sli-recordings", "rules": sli_recordings(plan, time_scale)},
            {"name": f"{slug}-slo-meta-recordings", "rules": meta_recordings(plan)},
            {"name": f"{slug}-alerts", "rules": alerting_rules(plan, time_scale)},
        ]
    }


def loki_rule_file(plan: ServicePlan) -> dict[str, Any]:
    """Log-based alerts for the Loki ruler (comprehensive); same file format, LogQL expressions."""
    return {"groups": [{"name": f"{plan.answers.service_slug}-logs", "rules": alerting_rules(plan, engine="loki")}]}


def rule_count(plan: ServicePlan) -> dict[str, int]:
    """Recording and alerting rules in the Prometheus file, and Loki ruler alerts."""
    groups = rule_file(plan)["groups"]
    return {
        "recording": len(groups[0]["rules"]) + len(groups[1]["rules"]),
        "alerting": len(groups[2]["rules"]),
        "loki": len(loki_rule_file(plan)["groups"][0]["rules"]),
    }
