"""Prometheus rule groups for a plan: SLO recording rules and the catalogue's alerts, as data.

The generated repo's `monitoring/prometheus/rules.yml` is `rule_file(plan)`
dumped to YAML; Pulumi wraps the same groups in PrometheusRule objects; the
local game day loads `rule_file(plan, time_scale=60)`, where every window and
`for` is sixty times shorter but the rule names and thresholds are the same.

Recording rules follow Sloth's generated rules (slok/sloth v0.16.0,
`examples/_gen/getting-started.yml`): the same names (`slo:sli_error:ratio_rate5m`
... `slo:period_error_budget_remaining:ratio`), the same `sloth_id`,
`sloth_service`, `sloth_slo` (and, on SLI ratios, `sloth_window`) labels, and the
`sloth_slo_info` series, so Sloth's UI and dashboards built on Sloth's series
find these SLOs. They also carry `service` and `slo`, which the alerts and this
repo's dashboards select on. Pyrra's tools read Pyrra's own recording rules
(and its ServiceLevelObjective objects), which are not generated here.

Groups differ from Sloth's three (SLI recordings, meta recordings, alerts): the
recordings and the alerts that read them (burn rates, budget left) share one group,
in that order. Prometheus evaluates a group's rules in sequence, each seeing what
the ones before it recorded at the same evaluation, while separate groups run
independently, so an alert in another group may read the previous evaluation's
ratio: one evaluation of lag on every SLO page, gone here.

Two more deliberate differences from Sloth: every ratio reads 0, not NaN, without
traffic; and the 30-day ratio is request-weighted (bad requests over all
requests in the period, from per-evaluation 5-minute rates), where Sloth
averages the 5-minute ratio over time, so time without traffic counts as
neither good nor bad instead of as error-free.
"""

from __future__ import annotations

from typing import Any

from .alerts import alert_catalogue, service_selector
from .plan import ServicePlan
from .slo import SLI_WINDOWS, SLO_PERIOD_DAYS, Objective, duration_seconds
from .vocabulary import MonitoringLevel

REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"
ERROR_CODES = "5.."
# Denominator floor: with no traffic the ratio is 0, never NaN, and nothing pages at night.
ZERO_TRAFFIC_FLOOR = 1e-12
# Per-second event rates over 5 minutes, recorded each evaluation; the 30-day ratio sums them.
EVENTS, BAD_EVENTS = "slo:sli_events:rate5m", "slo:sli_bad_events:rate5m"
# sloth_slo_info's descriptive labels: the Sloth spec these SLOs correspond to; the generator (these
# rules are not Sloth's output, so the mode is none of Sloth's); the Sloth release whose rules they follow.
SLOTH_SPEC, SLOTH_MODE, SLOTH_VERSION = "prometheus/v1", "groundwork", "v0.16.0"


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
    if plan.answers.monitoring_level == MonitoringLevel.BASIC:
        return (plan.availability,)
    return (plan.availability, plan.latency)


def sloth_id(plan: ServicePlan, objective: Objective) -> str:
    """Sloth's SLO id: `<service>-<slo name>`; the SLO name here is the SLI."""
    return f"{plan.answers.service_slug}-{objective.sli}"


def slo_labels(plan: ServicePlan, objective: Objective) -> dict[str, str]:
    service = plan.answers.service_slug
    return {
        "service": service,
        "slo": objective.sli,
        "sloth_id": sloth_id(plan, objective),
        "sloth_service": service,
        "sloth_slo": objective.sli,
    }


def _selector(plan: ServicePlan, objective: Objective) -> str:
    return f'{{service="{plan.answers.service_slug}", slo="{objective.sli}"}}'


def _events(plan: ServicePlan, objective: Objective, window: str) -> tuple[str, str]:
    """(bad events, all events) per second over `window`: failing or slow requests per SLI."""
    job = service_selector(plan.answers.service_slug)
    if objective.sli == "availability":
        bad = f'(sum(rate({REQUESTS}{{{job}, code=~"{ERROR_CODES}"}}[{window}])) or vector(0))'
        return bad, f"sum(rate({REQUESTS}{{{job}}}[{window}]))"
    threshold = plan.answers.latency_slo_ms / 1000
    total = f"sum(rate({DURATION}_count{{{job}}}[{window}]))"
    fast = f"sum(rate({DURATION}_bucket{{{job}, {le_matcher(threshold)}}}[{window}]))"
    return f"clamp_min({total} - {fast}, 0)", total


def _sli_expr(plan: ServicePlan, objective: Objective, window: str) -> str:
    bad, total = _events(plan, objective, window)
    return f"{bad}\n/\nclamp_min({total}, {ZERO_TRAFFIC_FLOOR!r})"


def _period_expr(plan: ServicePlan, objective: Objective, period: str) -> str:
    """Bad requests over all requests in the period. A 5-minute window without traffic adds
    nothing to either sum, so idle time is neither good nor bad; no traffic at all reads 0."""
    sel = _selector(plan, objective)
    return (
        f"sum_over_time({BAD_EVENTS}{sel}[{period}])\n/\n"
        f"clamp_min(sum_over_time({EVENTS}{sel}[{period}]), {ZERO_TRAFFIC_FLOOR!r})"
    )


def sli_recordings(plan: ServicePlan, time_scale: int = 1) -> list[dict[str, Any]]:
    """The event rates over 5 minutes, then the error ratio of each SLO over every window."""
    rules = []
    period = f"{SLO_PERIOD_DAYS}d"
    for objective in objectives(plan):
        labels = slo_labels(plan, objective)
        short = SLI_WINDOWS[0]
        bad, total = _events(plan, objective, scaled(short, time_scale))
        for record, expr in ((BAD_EVENTS, bad), (EVENTS, total)):
            rules.append({"record": record, "expr": expr, "labels": {**labels, "sloth_window": short}})
        for window in SLI_WINDOWS:
            if window == period:
                expr = _period_expr(plan, objective, scaled(period, time_scale))
            else:
                expr = _sli_expr(plan, objective, scaled(window, time_scale))
            rules.append(
                {
                    "record": f"slo:sli_error:ratio_rate{window}",
                    "expr": expr,
                    "labels": {**labels, "sloth_window": window},
                }
            )
    return rules


def sloth_info_labels(plan: ServicePlan, objective: Objective) -> dict[str, str]:
    """The labels of `sloth_slo_info`: the SLO's, plus Sloth's descriptive ones. Sloth writes the
    objective as a percentage (`99.9`), as `strconv.FormatFloat(objective, 'f', -1, 64)` does."""
    return {
        **slo_labels(plan, objective),
        "sloth_mode": SLOTH_MODE,
        "sloth_objective": repr(round(objective.objective * 100, 6)).removesuffix(".0"),
        "sloth_spec": SLOTH_SPEC,
        "sloth_version": SLOTH_VERSION,
    }


def _per_slo(series: str, selector: str) -> str:
    """One series per SLO, whichever window it was recorded over."""
    return f"max({series}{selector}) without (sloth_window)"


def meta_recordings(plan: ServicePlan) -> list[dict[str, Any]]:
    """Objective, budget and burn rates as series, so dashboards never compute them; and
    `sloth_slo_info`, the series Sloth's UI lists SLOs from."""
    rules = []
    for objective in objectives(plan):
        labels = slo_labels(plan, objective)
        sel = _selector(plan, objective)
        budget = repr(objective.error_budget)

        for record, expr in (
            ("slo:objective:ratio", f"vector({objective.objective!r})"),
            ("slo:error_budget:ratio", f"vector({budget})"),
            ("slo:time_period:days", f"vector({SLO_PERIOD_DAYS})"),
            ("slo:current_burn_rate:ratio", f"{_per_slo('slo:sli_error:ratio_rate5m', sel)} / {budget}"),
            (
                "slo:period_burn_rate:ratio",
                f"{_per_slo(f'slo:sli_error:ratio_rate{SLO_PERIOD_DAYS}d', sel)} / {budget}",
            ),
            ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{sel}"),
        ):
            rules.append({"record": record, "expr": expr, "labels": labels})
        rules.append({"record": "sloth_slo_info", "expr": "vector(1)", "labels": sloth_info_labels(plan, objective)})
    return rules


def alerting_rules(
    plan: ServicePlan, time_scale: int = 1, engine: str = "prometheus", slo: bool | None = None
) -> list[dict[str, Any]]:
    """The catalogue's alerts of `engine`; with `slo`, only those reading the SLO recordings (True)
    or only the others (False)."""
    rules = []
    for alert in alert_catalogue(plan):
        if alert.engine != engine or (slo is not None and bool(alert.slo) != slo):
            continue
        rule = {"alert": alert.name, "expr": alert.expr}
        if alert.for_ != "0s":
            rule["for"] = scaled(alert.for_, time_scale)
        rule["labels"] = {"severity": alert.severity, "service": plan.answers.service_slug, **alert.labels}
        rule["annotations"] = {
            "summary": alert.summary,
            "description": alert.description,
            "runbook_url": alert.runbook_url,
        }
        rules.append(rule)
    return rules


def rule_file(plan: ServicePlan, time_scale: int = 1) -> dict[str, Any]:
    """The Prometheus rule file: the SLO group (SLI recordings, meta recordings, then the alerts reading
    them, evaluated in that order), then the other alerts."""
    slug = plan.answers.service_slug
    slo_rules = [*sli_recordings(plan, time_scale), *meta_recordings(plan), *alerting_rules(plan, time_scale, slo=True)]
    return {
        "groups": [
            {"name": f"{slug}-slo", "rules": slo_rules},
            {"name": f"{slug}-alerts", "rules": alerting_rules(plan, time_scale, slo=False)},
        ]
    }


def loki_rule_file(plan: ServicePlan) -> dict[str, Any]:
    """Log-based alerts for the Loki ruler (comprehensive); same file format, LogQL expressions."""
    return {"groups": [{"name": f"{plan.answers.service_slug}-logs", "rules": alerting_rules(plan, engine="loki")}]}


def rule_count(plan: ServicePlan) -> dict[str, int]:
    """Recording and alerting rules in the Prometheus file, and Loki ruler alerts."""
    rules = [rule for group in rule_file(plan)["groups"] for rule in group["rules"]]
    return {
        "recording": sum("record" in rule for rule in rules),
        "alerting": sum("alert" in rule for rule in rules),
        "loki": len(loki_rule_file(plan)["groups"][0]["rules"]),
    }
