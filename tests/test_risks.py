"""Risks derived from the answers: each answer that leaves a gap names it, most severe first."""

from __future__ import annotations

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.availability import failover_kind
from pulumi_components.reliability.risks import SEVERITY_ORDER, assess_risks


def risks(**answers):
    base = dict(project_name="Example", service_slug="example", team="platform", owner_email="p@example.com")
    return {risk.key: risk for risk in assess_risks(plan_service(Answers(**{**base, **answers})))}


def test_defaults_have_no_high_risk_and_name_the_relaxations():
    found = risks()
    assert not [r for r in found.values() if r.severity == "high"]
    assert {"dev-single-nat", "staging-single-nat", "dev-short-backups", "single-region", "no-tracing"} <= set(found)
    assert "infrastructure-spends-budget" in found  # 30.24 of 43.2 budget minutes


def test_unreachable_sla_is_the_first_risk_with_its_remedy():
    ordered = assess_risks(
        plan_service(
            Answers(project_name="E", service_slug="e", team="t", owner_email="t@example.com", platform="aws-lambda")
        )
    )
    assert ordered[0].key == "sla-not-reachable" and ordered[0].severity == "high"
    # the remedy names what would reach the SLA: the failover kinds stronger than the one built
    assert "warm standby" in ordered[0].recommendation and "would give" in ordered[0].recommendation
    assert [SEVERITY_ORDER.index(r.severity) for r in ordered] == sorted(
        SEVERITY_ORDER.index(r.severity) for r in ordered
    )
    assert "lambda-connection-storms" in {r.key for r in ordered}


def test_answers_that_weaken_operations_are_named():
    assert risks(oncall="slack")["no-paging"].severity == "high"
    assert risks(oncall="email", sla=99.5)["no-paging"].severity == "medium"
    assert "no-automated-rollback" in risks(deployment_strategy="rolling")
    assert "no-dashboards-or-logs" in risks(monitoring_level="basic")
    assert "no-tracing" not in risks(monitoring_level="comprehensive")
    assert "no-staging" in risks(environments=("dev", "prod"))
    assert "dev-short-backups" not in risks(database="none")


def test_four_nines_names_the_failover_time_against_the_budget():
    found = risks(sla=99.99)
    assert "single-region" not in found
    plan = plan_service(Answers(project_name="E", service_slug="e", team="t", owner_email="t@example.com", sla=99.99))
    built = failover_kind(plan, plan.prod.recovery.failover)
    finding = found["failover-exceeds-budget"].finding
    assert f"takes about {built.minutes:g} min" in finding and "4.32 min" in finding
    assert f"{len(built.manual_steps)} step(s) wait for a person" in finding and built.manual_steps


def test_single_az_database_in_production_is_high():
    assert risks(sla=99.5)["prod-single-az-database"].severity == "high"


def test_a_shared_service_is_told_its_platform_probes_no_tenant():
    assert "no-synthetic-probe" in risks(cluster="shared", monitoring_level="comprehensive")
    assert "no-synthetic-probe" not in risks(monitoring_level="comprehensive")
    shared_standard = risks(cluster="shared", monitoring_level="standard")["no-tracing"].finding
    assert "synthetic probes" in shared_standard  # the standard level's probe is the service's own cluster's
