"""promtool unit tests for every Prometheus alert of a plan: it fires when it should, and not otherwise.

`alerts.test.yml` holds every alert's cases, `recording-rules.test.yml` the
SLI recordings'; both sit beside `rules.yml` in `monitoring/prometheus/`. Input series are synthetic counters at one
sample a minute; expected firing times are derived from `slo.py`
(`BurnRateAlert.detection_seconds`) and the alert's `for`, with one
evaluation of slack for rate extrapolation, so a test fails when the rules
stop matching the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from .alerts import Alert, alert_catalogue, scrape_job
from .plan import ServicePlan
from .prometheus_rules import DURATION, REQUESTS, objectives, slo_labels, sloth_info_labels
from .slo import BurnRateAlert, Objective, duration_seconds
from .vocabulary import AlertTest

TRAFFIC_PER_MINUTE = 100_000  # requests a minute in the synthetic series
OUTAGE_START_MINUTES = 30  # clean history before an injected failure
STEADY_MINUTES = 60  # length of the steady-ratio cases
RULES_FILE = "rules.yml"  # the test files sit beside it


def counter(*segments: tuple[int, float]) -> str:
    """promtool's expanding notation for a counter growing `per_minute` for `minutes`, segment by segment."""
    parts, value = [], 0.0
    for index, (minutes, per_minute) in enumerate(segments):
        step = _num(per_minute)
        if index == 0:
            parts.append(f"0+{step}x{minutes}")
            value = per_minute * minutes
        else:
            parts.append(f"{_num(value + per_minute)}+{step}x{minutes - 1}")
            value += per_minute * minutes
    return " ".join(parts)


def gauge(value: float, minutes: int) -> str:
    return f"{_num(value)}x{minutes}"


def _num(value: float) -> str:
    return repr(round(value, 9)).removesuffix(".0")


def _minutes(duration: str) -> int:
    return math.ceil(duration_seconds(duration) / 60)


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    body = ", ".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{body}}}", "values": values}


def _expand(text: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)


def _expected(plan: ServicePlan, alert: Alert, series_labels: dict[str, str]) -> dict[str, Any]:
    labels = {**series_labels, "severity": alert.severity, "service": plan.answers.service_slug, **alert.labels}
    return {
        "exp_labels": labels,
        "exp_annotations": {
            "summary": alert.summary,
            "description": _expand(alert.description, series_labels),
            "runbook_url": alert.runbook_url,
        },
    }


def _check(plan: ServicePlan, alert: Alert, minute: int, firing: dict[str, str] | None) -> dict[str, Any]:
    return {
        "eval_time": f"{minute}m",
        "alertname": alert.name,
        "exp_alerts": [] if firing is None else [_expected(plan, alert, firing)],
    }


def _case(name: str, series: list[dict[str, str]], checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "interval": "1m", "input_series": series, "alert_rule_test": checks}


# --- SLO traffic -------------------------------------------------------------------------------------------------


def _traffic(
    plan: ServicePlan, sli: str, segments: list[tuple[int, float]], idle: tuple[int, ...] = ()
) -> list[dict[str, str]]:
    """Request series for `segments` of (minutes, bad ratio): failing or slow requests per SLI.
    Segments whose index is in `idle` have no requests at all (the counters stay flat)."""
    slug = plan.answers.service_slug
    job = {"namespace": slug, "job": scrape_job(slug), "method": "GET", "route": "/"}
    rates = [(minutes, 0 if i in idle else TRAFFIC_PER_MINUTE, ratio) for i, (minutes, ratio) in enumerate(segments)]
    total = counter(*((minutes, per_minute) for minutes, per_minute, _ in rates))
    bad = counter(*((minutes, per_minute * ratio) for minutes, per_minute, ratio in rates))
    good = counter(*((minutes, per_minute * (1 - ratio)) for minutes, per_minute, ratio in rates))
    if sli == "availability":
        return [
            _series(REQUESTS, {**job, "code": "200"}, good),
            _series(REQUESTS, {**job, "code": "500"}, bad),
        ]
    le = plan.answers.latency_slo_ms / 1000
    le_label = str(int(le)) if float(le).is_integer() else repr(le)
    return [
        _series(f"{DURATION}_count", job, total),
        _series(f"{DURATION}_bucket", {**job, "le": le_label}, good),
        _series(f"{DURATION}_bucket", {**job, "le": "+Inf"}, total),
    ]


def first_firing_minute(row: BurnRateAlert, error_ratio: float, for_: str) -> int:
    """The evaluation (in minutes after a step to `error_ratio`) by which the alert must fire:
    both windows crossed (slo.detection_seconds), then `for`, plus one evaluation of slack."""
    detection = row.detection_seconds(error_ratio)
    assert detection is not None, "no detection below the threshold"
    return math.ceil(detection / 60) + _minutes(for_) + 1


def _objective(plan: ServicePlan, alert: Alert) -> Objective:
    return plan.availability if alert.slo == "availability" else plan.latency


def _burn_cases(plan: ServicePlan, alert: Alert) -> list[dict[str, Any]]:
    objective = _objective(plan, alert)
    labels = slo_labels(plan, objective)
    fastest = alert.burn_rows[0]
    start = OUTAGE_START_MINUTES
    cases = []
    if alert.severity == "critical":
        steps = [("a total outage", 1.0)]
        if 2 * fastest.threshold < 1:  # at the lowest SLAs twice the threshold is no longer a ratio
            steps.append(("twice the fast-burn threshold", 2 * fastest.threshold))
        for title, ratio in steps:
            fire = first_firing_minute(fastest, ratio, alert.for_)
            cases.append(
                _case(
                    f"{alert.name} fires {fire} min after {title} starts",
                    _traffic(plan, alert.slo, [(start, 0.0), (fire + 5, ratio)]),
                    [_check(plan, alert, start, None), _check(plan, alert, start + fire, labels)],
                )
            )
        # A steady ratio from the first sample fills every window alike, so an hour stands for any span.
        cases.append(
            _case(
                f"{alert.name} stays silent while errors run exactly at the budget",
                _traffic(plan, alert.slo, [(STEADY_MINUTES, objective.error_budget)]),
                [_check(plan, alert, minute, None) for minute in (5, 30, STEADY_MINUTES)],
            )
        )
    else:
        steady = 2 * objective.error_budget  # above the 1x ticket, far below the 6x page
        fire = _minutes(alert.for_) + 2
        cases.append(
            _case(
                f"{alert.name} fires on a steady burn at twice the budget",
                _traffic(plan, alert.slo, [(fire + 10, steady)]),
                [_check(plan, alert, fire, labels)],
            )
        )
        below = 0.9 * objective.error_budget
        cases.append(
            _case(
                f"{alert.name} stays silent below the budget",
                _traffic(plan, alert.slo, [(STEADY_MINUTES, below)]),
                [_check(plan, alert, minute, None) for minute in (30, STEADY_MINUTES)],
            )
        )
    return cases


def _budget_low_cases(plan: ServicePlan, alert: Alert) -> list[dict[str, Any]]:
    """The alert's SLO (`alert.slo`) spends 80% of its period's budget, then half of it."""
    objective = _objective(plan, alert)
    labels = slo_labels(plan, objective)
    budget = objective.error_budget
    fire = _minutes(alert.for_) + 2
    return [
        _case(
            f"{alert.name} fires when 80% of the budget is spent",
            _traffic(plan, alert.slo, [(fire + 10, 0.8 * budget)]),
            [_check(plan, alert, fire, labels)],
        ),
        _case(
            f"{alert.name} stays silent at half the budget",
            _traffic(plan, alert.slo, [(fire + 10, 0.5 * budget)]),
            [_check(plan, alert, fire, None)],
        ),
    ]


def _no_pods_cases(plan: ServicePlan, alert: Alert) -> list[dict[str, Any]]:
    """Two pods serve, then both stop being ready at OUTAGE_START_MINUTES (kube-state-metrics drops their
    ready addresses: a staleness marker); the page fires `for` after the first evaluation without one.
    One pod of two not ready is no page."""
    slug = plan.answers.service_slug
    endpoints = {"namespace": slug, "endpoint": slug}
    scrape = {**endpoints, "job": "kube-state-metrics"}
    start, span = OUTAGE_START_MINUTES, OUTAGE_START_MINUTES + 20
    fire = start + _minutes(alert.for_)

    def address(ip: str, ready_until: int | None) -> list[dict[str, str]]:
        if ready_until is None:
            return [_series("kube_endpoint_address", {**scrape, "ip": ip, "ready": "true"}, gauge(1, span))]
        rest = span - ready_until
        return [
            _series("kube_endpoint_address", {**scrape, "ip": ip, "ready": "true"}, f"1x{ready_until - 1} stale"),
            _series("kube_endpoint_address", {**scrape, "ip": ip, "ready": "false"}, f"_x{ready_until - 1} 1x{rest}"),
        ]

    info = _series("kube_endpoint_info", scrape, gauge(1, span))
    return [
        _case(
            f"{alert.name} fires {fire - start} min after the last ready pod goes",
            [info, *address("10.0.2.5", start), *address("10.0.3.7", start)],
            [_check(plan, alert, start - 1, None), _check(plan, alert, start, None)]
            + [_check(plan, alert, fire, endpoints)],
        ),
        _case(
            f"{alert.name} stays silent while one pod of two serves",
            [info, *address("10.0.2.5", start), *address("10.0.3.7", None)],
            [_check(plan, alert, minute, None) for minute in (start, fire, span - 1)],
        ),
    ]


# --- Everything else: one bad and one healthy steady state -------------------------------------------------------


def _steady_input(alert: Alert, firing: bool) -> list[dict[str, str]]:
    """The series of `alert.steady` in its firing or its healthy case, long enough for its `for`."""
    assert alert.steady is not None
    span = _minutes(alert.for_) + 20
    series = []
    for one in alert.steady.series:
        value = one.firing if firing else one.healthy
        if value is not None:
            values = counter((span, value)) if one.counter else gauge(value, span)
            series.append(_series(one.metric, one.labels, values))
    return series


def _steady_cases(plan: ServicePlan, alert: Alert) -> list[dict[str, Any]]:
    if alert.steady is None:
        raise ValueError(
            f"{alert.name}: a Prometheus alert needs its steady-state input series (Alert.steady in alerts.py), "
            "or another test shape (Alert.test) whose cases promtool_tests.CASES builds"
        )
    fire = _minutes(alert.for_) + 6  # the for, plus the 5m rate windows filling
    return [
        _case(f"{alert.name} fires", _steady_input(alert, True), [_check(plan, alert, fire, alert.steady.labels)]),
        _case(
            f"{alert.name} stays silent when healthy", _steady_input(alert, False), [_check(plan, alert, fire, None)]
        ),
    ]


# The cases of each shape of alert (Alert.test): a catalogue entry of a known shape needs no code here.
CASES: dict[AlertTest, Callable[[ServicePlan, Alert], list[dict[str, Any]]]] = {
    AlertTest.STEADY: _steady_cases,
    AlertTest.BURN_RATE: _burn_cases,
    AlertTest.BUDGET_LEFT: _budget_low_cases,
    AlertTest.NO_PODS: _no_pods_cases,
}


def alert_cases(plan: ServicePlan, alert: Alert) -> list[dict[str, Any]]:
    return CASES[alert.test](plan, alert)


IDLE_MINUTES = 120  # time without traffic after an hour of it, in the period-ratio case


def _ratio_check(objective_sli: str, window: str, labels: dict[str, str], minute: int, value: float) -> dict:
    return {
        # rounded: rate extrapolation leaves float noise in the last digits
        "expr": f'round(slo:sli_error:ratio_rate{window}{{slo="{objective_sli}"}} * 1e6) / 1e6',
        "eval_time": f"{minute}m",
        "exp_samples": [{"labels": _labels({**labels, "sloth_window": window}), "value": value}],
    }


def recording_cases(plan: ServicePlan) -> list[dict[str, Any]]:
    """With zero traffic every SLI reads 0, not NaN; with 1% errors it reads 0.01; time without
    traffic leaves the 30-day ratio where the traffic put it (not diluted towards 0); and
    `sloth_slo_info` describes each SLO as Sloth's UI reads it."""
    cases = []
    for objective in objectives(plan):
        labels = slo_labels(plan, objective)
        for title, ratio, traffic in (("no traffic", 0.0, 0), ("1% bad requests", 0.01, TRAFFIC_PER_MINUTE)):
            series = _traffic(plan, objective.sli, [(120, ratio)])
            if not traffic:
                series = [{**s, "values": gauge(0, 120)} for s in series]
            cases.append(
                {
                    "name": f"{objective.sli} SLI with {title}",
                    "interval": "1m",
                    "input_series": series,
                    "promql_expr_test": [
                        _ratio_check(objective.sli, window, labels, 100, ratio) for window in ("5m", "1h", "30d")
                    ],
                }
            )
        idle_end = STEADY_MINUTES + IDLE_MINUTES
        cases.append(
            {
                "name": f"{objective.sli} 30-day ratio: {IDLE_MINUTES} minutes without traffic count for nothing",
                "interval": "1m",
                "input_series": _traffic(plan, objective.sli, [(STEADY_MINUTES, 0.01), (IDLE_MINUTES, 0.0)], idle=(1,)),
                "promql_expr_test": [
                    _ratio_check(objective.sli, "30d", labels, STEADY_MINUTES, 0.01),
                    _ratio_check(objective.sli, "30d", labels, idle_end, 0.01),
                    _ratio_check(objective.sli, "5m", labels, idle_end, 0.0),
                ],
            }
        )
        info = sloth_info_labels(plan, objective)
        cases.append(
            {
                "name": f"{objective.sli} SLO is listed by sloth_slo_info",
                "interval": "1m",
                "input_series": [],
                "promql_expr_test": [
                    {
                        "expr": f'sloth_slo_info{{sloth_id="{labels["sloth_id"]}"}}',
                        "eval_time": "1m",
                        "exp_samples": [{"labels": "sloth_slo_info" + _labels(info), "value": 1}],
                    }
                ],
            }
        )
    return cases


def _labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def test_files(plan: ServicePlan) -> dict[str, dict[str, Any]]:
    """File name -> promtool test document: every Prometheus alert's cases, and the recordings'."""
    cases = [
        case for alert in alert_catalogue(plan) if alert.engine == "prometheus" for case in alert_cases(plan, alert)
    ]
    return {"alerts.test.yml": _document(cases), "recording-rules.test.yml": _document(recording_cases(plan))}


def _document(cases: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rule_files": [RULES_FILE], "evaluation_interval": "1m", "tests": cases}
