"""The decisions a runbook prints are the model's (runbooks.runbook_facts); the template only formats them."""

from __future__ import annotations

import itertools

import pytest

from pulumi_components.reliability import Answers, alert_catalogue, plan_service
from pulumi_components.reliability.alerts import DATABASE, FILESYSTEM, RESOURCES
from pulumi_components.reliability.incident import SEVERITIES
from pulumi_components.reliability.runbooks import reader_description, runbook_facts

BASE = {"project_name": "Example", "service_slug": "svc", "team": "platform", "owner_email": "p@example.com"}


def plan(**answers):
    return plan_service(Answers.from_mapping({**BASE, **answers}))


def facts_by_name(p):
    return {alert.name: runbook_facts(p, alert) for alert in alert_catalogue(p)}


@pytest.mark.parametrize(
    ("platform", "level", "database"),
    list(itertools.product(("aws-eks", "aws-lambda"), ("basic", "standard", "comprehensive"), ("postgres", "none"))),
)
def test_every_alert_has_its_runbook_facts(platform, level, database):
    p = plan(platform=platform, monitoring_level=level, database=database)
    for name, facts in facts_by_name(p).items():
        alert = facts.alert
        assert alert.impact and "{{" not in alert.impact, name
        assert set(alert.checks) <= {RESOURCES, FILESYSTEM, DATABASE}, name
        assert facts.incident in {s.level for s in SEVERITIES}
        assert "{{" not in facts.description, name
        assert bool(facts.query_language) == bool(alert.expr), name
        assert facts.database_check == (database == "postgres" and DATABASE in alert.checks), name
        assert not (facts.resource_check or facts.filesystem_check) or platform == "aws-eks", name


def test_severity_decides_the_incident_and_whether_it_pages():
    facts = facts_by_name(plan(monitoring_level="standard"))
    assert (facts["ServiceDown"].incident, facts["ServiceDown"].pages) == ("SEV-2", True)
    assert (facts["PodCrashLooping"].incident, facts["PodCrashLooping"].pages) == ("SEV-3", False)
    assert (facts["AvailabilityErrorBudgetLow"].incident, facts["AvailabilityErrorBudgetLow"].severity_effect) == (
        "SEV-4",
        "informational",
    )


@pytest.mark.parametrize(
    ("strategy", "kind"), [("rolling", "deployment"), ("canary", "rollout"), ("blue-green", "rollout")]
)
def test_the_workload_kind_follows_the_strategy(strategy, kind):
    assert facts_by_name(plan(deployment_strategy=strategy))["ServiceDown"].workload_kind == kind
    assert (
        facts_by_name(plan(platform="aws-lambda", deployment_strategy=strategy))["FunctionThrottled"].workload_kind
        == ""
    )


@pytest.mark.parametrize("sla", [99.5, 99.9, 99.99])
def test_mitigation_numbers_come_from_the_plan(sla):
    p = plan(sla=sla, database="postgres")
    facts = facts_by_name(p)["AvailabilityBudgetBurnPage"]
    assert facts.replicas_max == p.prod.workload.replicas_max
    assert facts.incident_replicas_max == 2 * p.prod.workload.replicas_max
    assert facts.database_multi_az == p.prod.database.multi_az
    assert facts.dr_region == (p.prod.recovery.dr_region if p.prod.recovery.multi_region else "")
    assert facts.database_check
    lam = plan(sla=sla, platform="aws-lambda")
    assert facts_by_name(lam)["FunctionThrottled"].reserved_concurrency == lam.prod.function.reserved_concurrency


def test_the_extra_first_checks_are_the_alert_s():
    facts = facts_by_name(plan(monitoring_level="standard", database="none"))
    assert facts["ServiceMemorySaturation"].resource_check and not facts["ServiceMemorySaturation"].filesystem_check
    assert facts["DiskSpaceLow"].filesystem_check and not facts["DiskSpaceLow"].resource_check
    assert not facts["ServiceDown"].database_check, "no database to check"
    assert facts_by_name(plan(monitoring_level="standard", database="postgres"))["ServiceDown"].database_check


def test_where_the_rule_runs_and_how_to_query_it():
    eks = facts_by_name(plan(monitoring_level="comprehensive"))
    assert (eks["ServiceDown"].query_language, eks["ErrorLogsElevated"].query_language) == ("promql", "logql")
    assert eks["ErrorLogsElevated"].evaluated_by == "the Loki ruler"
    assert eks["ServiceDown"].dashboards == "grafana"
    assert facts_by_name(plan(monitoring_level="basic"))["ServiceDown"].dashboards == "prometheus"
    lam = facts_by_name(plan(platform="aws-lambda"))["FunctionThrottled"]
    assert (lam.query_language, lam.dashboards) == ("", "cloudwatch")


def test_a_reader_sees_the_service_named_and_other_labels_as_code():
    p = plan(monitoring_level="standard")
    alerts = {a.name: a for a in alert_catalogue(p)}
    assert reader_description(p, alerts["ServiceDown"]) == "Every svc target has failed its scrape for 2 minutes."
    assert reader_description(p, alerts["PodCrashLooping"]).startswith("Pod `namespace`/`pod` has been")
