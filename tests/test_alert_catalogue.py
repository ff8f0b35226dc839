"""The alert catalogue: stable names, exactly the alerts of each level, thresholds read from the model."""

from __future__ import annotations

import itertools
import re

import pytest

from pulumi_components.reliability import ALL_ALERT_NAMES, Answers, alert_catalogue, alert_names, plan_service

BASE = {"project_name": "Example", "service_slug": "svc", "team": "platform", "owner_email": "p@example.com"}

EXPECTED = {
    ("aws-eks", "basic"): {
        "AvailabilityBudgetBurnPage",
        "AvailabilityBudgetBurnTicket",
        "AvailabilityErrorBudgetLow",
        "ServiceAbsent",
        "ServiceDown",
        "NoPodsServing",
        "PodCrashLooping",
    },
    ("aws-lambda", "basic"): {"AvailabilityBudgetBurnPage", "AvailabilityBudgetBurnTicket", "FunctionThrottled"},
}
EXPECTED[("aws-eks", "standard")] = EXPECTED[("aws-eks", "basic")] | {
    "LatencyBudgetBurnPage",
    "LatencyBudgetBurnTicket",
    "ServiceCPUSaturation",
    "ServiceMemorySaturation",
    "DiskSpaceLow",
    "SyntheticProbeFailing",
}
EXPECTED[("aws-eks", "comprehensive")] = EXPECTED[("aws-eks", "standard")] | {"ErrorLogsElevated"}
EXPECTED[("aws-lambda", "standard")] = EXPECTED[("aws-lambda", "basic")] | {
    "LatencyBudgetBurnPage",
    "LatencyBudgetBurnTicket",
    "FunctionConcurrencySaturation",
}
EXPECTED[("aws-lambda", "comprehensive")] = EXPECTED[("aws-lambda", "standard")]


def plan(**answers):
    return plan_service(Answers.from_mapping({**BASE, **answers}))


@pytest.mark.parametrize(
    "platform,level,database",
    list(itertools.product(("aws-eks", "aws-lambda"), ("basic", "standard", "comprehensive"), ("postgres", "none"))),
)
def test_each_level_has_exactly_its_alerts(platform, level, database):
    names = alert_names(plan(platform=platform, monitoring_level=level, database=database))
    expected = set(EXPECTED[(platform, level)])
    if platform == "aws-eks" and level != "basic" and database == "postgres":
        expected.add("DatabaseUnavailable")
    assert set(names) == expected
    assert len(names) == len(set(names))
    assert set(names) <= set(ALL_ALERT_NAMES)


def test_every_alert_is_complete():
    for platform in ("aws-eks", "aws-lambda"):
        for alert in alert_catalogue(plan(platform=platform, monitoring_level="comprehensive")):
            assert alert.severity in {"critical", "warning", "info"}
            assert alert.summary and "{{" not in alert.summary, "summaries are static"
            assert alert.description and alert.source
            assert alert.runbook == f"docs/runbooks/{alert.name}.md"
            assert alert.runbook_url == f"https://github.com/platform/svc/blob/main/docs/runbooks/{alert.name}.md"
            assert bool(alert.expr) == (platform == "aws-eks"), alert.name


@pytest.mark.parametrize("sla", [93.1, 99.5, 99.9, 99.95, 99.99, 99.999])
def test_burn_alerts_use_the_model_thresholds(sla):
    p = plan(sla=sla, monitoring_level="standard")
    by_name = {a.name: a for a in alert_catalogue(p)}
    for objective in (p.availability, p.latency):
        cap = objective.sli.capitalize()
        page, ticket = by_name[f"{cap}BudgetBurnPage"], by_name[f"{cap}BudgetBurnTicket"]
        assert page.burn_rows == objective.alerts[:2] and ticket.burn_rows == objective.alerts[2:]
        for row in objective.alerts:
            alert = page if row.severity == "critical" else ticket
            assert f"ratio_rate{row.long_window}" in alert.expr and f"> {row.threshold!r}" in alert.expr
            assert row.threshold <= 1, "the questionnaire refuses SLAs whose page can never fire"


def test_names_do_not_depend_on_the_sla_or_slug():
    a = alert_names(plan(sla=99.5, monitoring_level="comprehensive"))
    b = alert_names(plan(sla=99.99, service_slug="other", monitoring_level="comprehensive"))
    assert a == b


def test_monitoring_volumes_follow_retention():
    from pulumi_components.reliability.plan import LOKI_GB_PER_DAY, PROMETHEUS_GB_PER_DAY

    for sla in (99.5, 99.9, 99.99):
        for env in plan(sla=sla).environments.values():
            m = env.monitoring
            assert m.prometheus_storage_gb >= m.prometheus_retention_days * PROMETHEUS_GB_PER_DAY
            assert m.loki_storage_gb >= m.log_retention_days * LOKI_GB_PER_DAY


def test_the_guide_lists_every_alert():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "observability.md").read_text()
    listed = set(re.findall(r"^\| `(\w+)` \|", guide, flags=re.MULTILINE))
    assert listed == set(ALL_ALERT_NAMES)
    every = {
        name
        for p, level, database in itertools.product(
            ("aws-eks", "aws-lambda"), ("basic", "standard", "comprehensive"), ("postgres", "none")
        )
        for name in alert_names(plan(platform=p, monitoring_level=level, database=database))
    }
    assert every == set(ALL_ALERT_NAMES), "ALL_ALERT_NAMES is exactly what some answers produce"


def test_runbook_links_follow_the_repository_answer():
    p = plan(repository_url="https://github.com/acme/payments-api", monitoring_level="comprehensive")
    for alert in alert_catalogue(p):
        assert alert.runbook_url == f"https://github.com/acme/payments-api/blob/main/docs/runbooks/{alert.name}.md"
