"""Grafana dashboards: valid JSON, a datasource variable, stable uids, and PromQL that promtool parses
and that reads only series the generated rules record or the sample app exposes."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from monitoring_repos import repo, run, tool

LEVEL_DASHBOARDS = {
    "basic": set(),
    "standard": {"slo.json", "red.json"},
    "comprehensive": {"slo.json", "red.json", "error-budget.json"},
}
APP_METRICS = {"http_requests_total", "http_request_duration_seconds_bucket"}


def dashboards(level: str, **answers) -> dict[str, dict]:
    directory = repo(platform="aws-eks", monitoring_level=level, **answers) / "monitoring" / "dashboards"
    return {path.name: json.loads(path.read_text()) for path in directory.glob("*.json")}


@pytest.mark.parametrize("level", LEVEL_DASHBOARDS)
def test_each_level_has_exactly_its_dashboards(level):
    assert set(dashboards(level)) == LEVEL_DASHBOARDS[level]


def test_dashboards_have_a_datasource_variable_used_by_every_panel():
    for name, board in dashboards("comprehensive").items():
        variables = board["templating"]["list"]
        assert [v["name"] for v in variables if v["type"] == "datasource"] == ["datasource"], name
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}", (name, panel["title"])
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])


def test_uids_are_stable_and_unique():
    a = {name: board["uid"] for name, board in dashboards("comprehensive").items()}
    b = {name: board["uid"] for name, board in dashboards("comprehensive", sla=99.99, latency_slo_ms=300).items()}
    assert a == b, "a uid must not change when the answers do (links and bookmarks keep working)"
    assert len(set(a.values())) == len(a)
    assert all(len(uid) <= 40 and re.fullmatch(r"[a-z0-9-]+", uid) for uid in a.values())


def test_panel_queries_parse_and_read_recorded_or_app_series(tmp_path):
    root = repo(platform="aws-eks", monitoring_level="comprehensive")
    rules = yaml.safe_load((root / "monitoring" / "prometheus" / "rules.yml").read_text())
    recorded = {rule["record"] for group in rules["groups"] for rule in group["rules"] if "record" in rule}
    exprs = [
        target["expr"]
        for board in dashboards("comprehensive").values()
        for panel in board["panels"]
        for target in panel["targets"]
    ]
    for expr in exprs:
        names = set(re.findall(r"([a-z_:][a-z0-9_:]*)\{", expr))
        assert names <= recorded | APP_METRICS, (expr, names - recorded - APP_METRICS)
    check = {
        "groups": [{"name": "panels", "rules": [{"record": f"panel:{i}", "expr": e} for i, e in enumerate(exprs)]}]
    }
    (tmp_path / "panels.yml").write_text(yaml.safe_dump(check))
    result = run(tool("promtool"), "check", "rules", str(tmp_path / "panels.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_slo_dashboard_thresholds_come_from_the_model():
    from pulumi_components.reliability import Answers, plan_service

    plan = plan_service(
        Answers.from_mapping(
            {
                "project_name": "Example Service",
                "service_slug": "example-service",
                "team": "platform",
                "owner_email": "platform@example.com",
                "monitoring_level": "standard",
            }
        )
    )
    board = dashboards("standard")["slo.json"]
    burn = next(p for p in board["panels"] if p["title"] == "Availability burn rate per window")
    steps = [s["value"] for s in burn["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
    assert steps == sorted(row.burn_rate for row in plan.availability.alerts)
    budget = next(p for p in board["panels"] if p["title"] == "Availability error budget left")
    assert str(plan.availability.budget_minutes) in budget["description"]
