"""Grafana dashboards for a plan, as JSON-ready data.

- `slo`: per SLO the SLI over the period, the error budget left, the burn rate
  over every alert window against the alert table's burn rates;
- `red`: rate, errors and duration percentiles of the service's requests;
- `error-budget` (comprehensive): budget spent and left over time, for the
  error-budget policy review.

They read the SLO recording rules (`prometheus_rules.py`), so no dashboard
computes an objective or a budget. Every dashboard has a `datasource`
variable and a `uid` derived from the service, stable across `copier update`.
"""

from __future__ import annotations

from typing import Any

from .alerts import service_selector
from .plan import ServicePlan
from .prometheus_rules import DURATION, ERROR_CODES, REQUESTS, objectives
from .slo import SLI_WINDOWS, SLO_PERIOD_DAYS
from .vocabulary import MonitoringLevel, Severity

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_WIDTH = 24


def _datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "options": [],
    }


def _target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}


def _panel(
    panel_id: int,
    title: str,
    kind: str,
    targets: list[tuple[str, str]],
    grid: tuple[int, int, int, int],
    unit: str,
    thresholds: list[dict[str, Any]] | None = None,
    description: str = "",
) -> dict[str, Any]:
    x, y, w, h = grid
    defaults: dict[str, Any] = {"unit": unit}
    if thresholds:
        defaults["thresholds"] = {"mode": "absolute", "steps": thresholds}
    panel: dict[str, Any] = {
        "id": panel_id,
        "title": title,
        "type": kind,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {},
        "targets": [_target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(targets)],
    }
    if description:
        panel["description"] = description
    return panel


def _dashboard(plan: ServicePlan, key: str, title: str, panels: list[dict[str, Any]]) -> dict[str, Any]:
    slug = plan.answers.service_slug
    return {
        "uid": f"{slug}-{key}"[:40],
        "title": f"{plan.answers.project_name} / {title}",
        "tags": [slug, plan.answers.team, "groundwork"],
        "timezone": "utc",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": [_datasource_variable()]},
        "annotations": {"list": []},
        "links": [],
        "panels": panels,
    }


def _selector(plan: ServicePlan, sli: str) -> str:
    return f'{{service="{plan.answers.service_slug}", slo="{sli}"}}'


def slo_dashboard(plan: ServicePlan) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    for objective in objectives(plan):
        sel = _selector(plan, objective.sli)
        name = objective.sli.capitalize()
        page = objective.alerts[0]
        panels += [
            _panel(
                len(panels) + 1,
                f"{name} SLI ({SLO_PERIOD_DAYS} days)",
                "stat",
                [(f"1 - slo:sli_error:ratio_rate{SLO_PERIOD_DAYS}d{sel}", "SLI")],
                (0, y, 6, 6),
                "percentunit",
                [{"color": "red", "value": None}, {"color": "green", "value": objective.objective}],
                f"Objective {objective.objective:.3%} of good requests over {SLO_PERIOD_DAYS} days.",
            ),
            _panel(
                len(panels) + 2,
                f"{name} error budget left",
                "stat",
                [(f"slo:period_error_budget_remaining:ratio{sel}", "budget left")],
                (6, y, 6, 6),
                "percentunit",
                [{"color": "red", "value": None}, {"color": "orange", "value": 0.25}, {"color": "green", "value": 0.5}],
                f"{objective.budget_minutes} minutes of full outage per {SLO_PERIOD_DAYS} days.",
            ),
            _panel(
                len(panels) + 3,
                f"{name} burn rate per window",
                "timeseries",
                [
                    (f"slo:sli_error:ratio_rate{window}{sel} / on(service, slo) slo:error_budget:ratio{sel}", window)
                    for window in SLI_WINDOWS
                ],
                (12, y, 12, 6),
                "none",
                [{"color": "green", "value": None}]
                + [
                    {"color": "red" if row.severity == Severity.CRITICAL else "orange", "value": row.burn_rate}
                    for row in sorted(objective.alerts, key=lambda row: row.burn_rate)
                ],
                f"1 = spending the budget exactly over {SLO_PERIOD_DAYS} days; the page fires at "
                f"{page.burn_rate:g} over {page.long_window} and {page.short_window}.",
            ),
        ]
        y += 6
    return _dashboard(plan, "slo", "SLOs", panels)


def red_dashboard(plan: ServicePlan) -> dict[str, Any]:
    sel = service_selector(plan.answers.service_slug)
    latency_s = plan.answers.latency_slo_ms / 1000
    rate = f"sum by (route) (rate({REQUESTS}{{{sel}}}[5m]))"
    errors = f'sum by (route) (rate({REQUESTS}{{{sel}, code=~"{ERROR_CODES}"}}[5m]))'
    quantile = "histogram_quantile({q}, sum by (le) (rate({d}_bucket{{{s}}}[5m])))"
    panels = [
        _panel(1, "Request rate", "timeseries", [(rate, "{{route}}")], (0, 0, 8, 8), "reqps"),
        _panel(
            2, "Error ratio (5xx)", "timeseries", [(f"{errors} / {rate}", "{{route}}")], (8, 0, 8, 8), "percentunit"
        ),
        _panel(
            3,
            "Duration percentiles",
            "timeseries",
            [(quantile.format(q=q, d=DURATION, s=sel), f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)],
            (16, 0, 8, 8),
            "s",
            [{"color": "green", "value": None}, {"color": "red", "value": latency_s}],
            f"The latency SLO: 99% of requests faster than {plan.answers.latency_slo_ms} ms.",
        ),
    ]
    return _dashboard(plan, "red", "Requests (RED)", panels)


def error_budget_dashboard(plan: ServicePlan) -> dict[str, Any]:
    panels = []
    for index, objective in enumerate(objectives(plan)):
        sel = _selector(plan, objective.sli)
        name = objective.sli.capitalize()
        panels += [
            _panel(
                2 * index + 1,
                f"{name}: error budget left over time",
                "timeseries",
                [(f"slo:period_error_budget_remaining:ratio{sel}", "left")],
                (0, 8 * index, 12, 8),
                "percentunit",
                [{"color": "red", "value": None}, {"color": "green", "value": 0}],
            ),
            _panel(
                2 * index + 2,
                f"{name}: budget spent (minutes of full outage)",
                "stat",
                [(f"slo:period_burn_rate:ratio{sel} * {objective.budget_minutes!r}", "minutes")],
                (12, 8 * index, 12, 8),
                "m",
                [{"color": "green", "value": None}, {"color": "red", "value": objective.budget_minutes}],
                f"The period's budget is {objective.budget_minutes} minutes.",
            ),
        ]
    return _dashboard(plan, "error-budget", "Error budget report", panels)


def dashboards(plan: ServicePlan) -> dict[str, dict[str, Any]]:
    """File name -> dashboard, for the monitoring level (none at basic: no Grafana)."""
    level = plan.answers.monitoring_level
    if level == MonitoringLevel.BASIC:
        return {}
    boards = {"slo.json": slo_dashboard(plan), "red.json": red_dashboard(plan)}
    if level == MonitoringLevel.COMPREHENSIVE:
        boards["error-budget.json"] = error_budget_dashboard(plan)
    return boards
