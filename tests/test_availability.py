"""Feasibility of the SLA: hand-computed cases, and properties of the failover model."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.answers import SLA_CHOICES
from pulumi_components.reliability.availability import (
    FAILOVER_ORDER,
    PUBLISHED_SLAS,
    REGIONAL_INCIDENTS,
    SLA_TABLE_DATE,
    FailoverStep,
    RegionalIncidents,
    _compose,
    downtime_minutes,
    failover_kind,
    feasibility,
    percent_display,
    request_path,
)
from pulumi_components.reliability.slo import SLO_PERIOD_MINUTES


def plan(**answers):
    base = dict(project_name="Example", service_slug="example", team="platform", owner_email="p@example.com")
    return plan_service(Answers(**{**base, **answers}))


def test_every_published_sla_has_a_source_and_the_table_a_date():
    assert SLA_TABLE_DATE
    for key, row in PUBLISHED_SLAS.items():
        assert row.source.startswith("https://aws.amazon.com/"), key
        assert 90 < row.percent <= 100, key


def test_default_eks_with_postgres_is_alb_times_ec2_times_multi_az_rds():
    result = feasibility(plan())
    # 0.9999 (ALB) x 0.9999 (EC2 across AZs) x 0.9995 (RDS Multi-AZ)
    expected = 100 * 0.9999 * 0.9999 * 0.9995
    assert result.composite_percent == pytest.approx(expected, abs=1e-9)
    assert [c.sla_key for c in result.components] == ["elb", "ec2-multi-az", "rds-multi-az"]
    assert result.composite_display == "99.9300"
    assert result.failover.key == "none" and result.regions == 1
    assert result.reachable and result.reason == ""
    # (1 - 0.99930005) x 43200 min = 30.24 min, 70 % of the 43.2-min budget
    assert result.allowed_downtime_minutes == pytest.approx(30.24, abs=0.01)
    assert result.budget_share_percent == pytest.approx(70.0, abs=0.1)


def test_99_95_on_one_region_is_not_reachable_and_names_what_would_reach_it():
    result = feasibility(plan(sla=99.95))
    assert not result.reachable
    assert result.composite_display == "99.9300"
    assert "limited by Amazon RDS for PostgreSQL at 99.95%" in result.reason
    # A cold standby (what 99.99 builds) would not reach it; a warm standby would.
    assert "a cold standby" not in result.reason
    assert "a warm standby in us-west-2 with health-checked automatic failover" in result.reason
    # without the database: 0.9999 x 0.9999 = 99.9800 %
    assert "would give 99.9800%" in result.reason


def test_99_99_counts_the_cold_standby_by_its_steps_not_as_a_parallel_region():
    result = feasibility(plan(sla=99.99))
    kind = result.failover
    assert kind.key == "cold-standby" and result.dr_region == "us-west-2"
    # page 2 + acknowledge 5 + decide 15 + promote 10 + provision 35 + DNS 1 + warm-up 3
    assert [s.minutes for s in kind.steps] == [2, 5, 15, 10, 35, 1, 3]
    assert kind.minutes == 71
    assert [s.name for s in kind.manual_steps] == ["acknowledgement", "decision"]
    region = 0.9999 * 0.9999 * 0.9995
    single = (1 - region) * SLO_PERIOD_MINUTES  # 30.24 min
    per_period = 30 / 365  # one incident a year
    regional = per_period * 360  # six hours each: 29.59 min of the 30.24
    down = single - regional + per_period * 71
    assert result.composite_percent == pytest.approx(100 * (1 - down / SLO_PERIOD_MINUTES), abs=1e-9)
    assert result.composite_display == "99.9849"
    assert not result.reachable  # the old parallel formula claimed 99.9999%
    assert "cold standby, failover by a person to us-west-2 takes 71 min" in result.reason
    assert "A warm standby in us-west-2" in result.reason


@pytest.mark.parametrize("sla", [99.9, 99.95, 99.99])
def test_lambda_with_postgres_is_not_reachable_at_any_of_the_upper_tiers(sla):
    # 0.9995 (API Gateway) x 0.9995 (Lambda) x 0.9995 (RDS Multi-AZ) = 99.85 % per region: below 99.9,
    # and a cold standby at 99.99 cannot lift it to 99.99 either.
    result = feasibility(plan(platform="aws-lambda", sla=sla))
    assert result.region_percent == pytest.approx(100 * 0.9995**3, abs=1e-9)
    assert not result.reachable
    assert "active-active serving" in result.reason.lower()


def test_lambda_figures_rise_with_what_the_tier_builds():
    figures = [feasibility(plan(platform="aws-lambda", sla=sla)).composite_percent for sla in (99.9, 99.99)]
    assert figures[0] == pytest.approx(100 * 0.9995**3, abs=1e-9)
    assert figures[0] < figures[1] < 99.99


def test_lambda_without_a_database_just_reaches_99_9():
    result = feasibility(plan(platform="aws-lambda", database="none"))
    assert result.composite_percent == pytest.approx(100 * 0.9995**2, abs=1e-9)  # 99.900025
    assert result.reachable


def test_bronze_single_az_database_names_multi_az_as_the_fix():
    result = feasibility(plan(sla=99.5))
    assert [c.sla_key for c in result.components][-1] == "rds-single-az"
    assert result.composite_percent == pytest.approx(100 * 0.9999 * 0.9999 * 0.995, abs=1e-9)
    assert not result.reachable
    assert "a multi-az database (planned from sla 99.9) would give 99.9300%" in result.reason.lower()


def test_display_never_rounds_up():
    assert percent_display(99.99995) == "99.9999"
    assert percent_display(99.93) == "99.9300"


def test_the_cluster_api_is_listed_but_not_multiplied_in():
    result = feasibility(plan())
    assert [c.sla_key for c in result.off_path] == ["eks"]
    assert "eks" not in [c.sla_key for c in result.components]
    assert feasibility(plan(platform="aws-lambda")).off_path == ()


def test_every_alternative_is_shown_and_the_built_one_is_marked():
    result = feasibility(plan(sla=99.99))
    assert [a.kind.key for a in result.alternatives] == list(FAILOVER_ORDER)
    assert [a.built for a in result.alternatives] == [False, True, False, False]
    built = next(a for a in result.alternatives if a.built)
    assert built.percent == result.composite_percent


def test_a_step_cannot_get_slower_by_being_automated():
    with pytest.raises(ValueError, match="automating a step cannot make it slower"):
        FailoverStep("decision", 5, False, "", automated_minutes=10)


def test_unknown_failover_kind_is_refused_with_the_accepted_ones():
    with pytest.raises(ValueError, match="accepted: none, cold-standby, warm-standby, active-active"):
        failover_kind(plan(), "pilot-light")


def test_a_regional_incident_shorter_than_the_failover_costs_only_itself():
    short = RegionalIncidents(per_year=12, duration_minutes=10, basis="", source="")
    kind = failover_kind(plan(sla=99.99), "cold-standby")
    none = failover_kind(plan(sla=99.99), "none")
    region = 0.999
    assert downtime_minutes(region, kind, short) == pytest.approx(downtime_minutes(region, none, short))


# -- properties ------------------------------------------------------------------------------------

PLANS = st.builds(
    lambda platform, database, sla: plan(platform=platform, database=database, sla=sla),
    st.sampled_from(["aws-eks", "aws-lambda"]),
    st.sampled_from(["postgres", "none"]),
    st.sampled_from(SLA_CHOICES),
)
INCIDENTS = st.builds(
    lambda per_year, hours: RegionalIncidents(per_year, hours * 60, "", ""),
    st.floats(min_value=0, max_value=12),
    st.floats(min_value=0.1, max_value=48),
)
REGION = st.floats(min_value=0.9, max_value=1.0)


@settings(max_examples=60, deadline=None)
@given(PLANS, REGION, INCIDENTS)
def test_more_redundancy_never_lowers_availability(service, region, incidents):
    downs = [downtime_minutes(region, failover_kind(service, key), incidents) for key in FAILOVER_ORDER]
    assert all(later <= earlier + 1e-9 for earlier, later in zip(downs, downs[1:], strict=False)), downs


@settings(max_examples=60, deadline=None)
@given(PLANS)
def test_a_more_redundant_request_path_never_lowers_the_estimate(service):
    # Multi-AZ database instead of Single-AZ, or no database on the path at all, in every failover kind.
    path = request_path(service)
    stronger = tuple(
        dataclasses.replace(c, sla_key="rds-multi-az") if c.sla_key == "rds-single-az" else c for c in path
    )
    without_db = tuple(c for c in path if c.role != "database")
    for key in FAILOVER_ORDER:
        kind = failover_kind(service, key)
        base = _compose(path, kind)[1]
        assert _compose(stronger, kind)[1] >= base - 1e-9
        assert _compose(without_db, kind)[1] >= base - 1e-9


@settings(max_examples=60, deadline=None)
@given(PLANS, REGION, INCIDENTS, st.data())
def test_a_manual_step_never_gives_a_higher_figure_than_its_automated_equivalent(service, region, incidents, data):
    for key in FAILOVER_ORDER:
        kind = failover_kind(service, key)
        if not kind.manual_steps:
            continue
        step = data.draw(st.sampled_from(kind.manual_steps))
        automated = kind.automate(step.name)
        assert automated.minutes <= kind.minutes
        assert downtime_minutes(region, automated, incidents) <= downtime_minutes(region, kind, incidents) + 1e-9


@settings(max_examples=40, deadline=None)
@given(PLANS)
def test_the_figure_is_the_one_of_the_failover_the_plan_builds(service):
    result = feasibility(service)
    assert result.failover.key == service.prod.recovery.failover
    built = FAILOVER_ORDER.index(result.failover.key)
    # No stronger kind than the one built enters the figure: each stronger one gives at least as much.
    for option in result.alternatives[built:]:
        assert option.percent >= result.composite_percent - 1e-9
    assert result.incidents == REGIONAL_INCIDENTS


def test_a_shared_service_keeps_its_replica_but_claims_no_failover_and_says_why():
    shared = plan(cluster="shared", sla=99.99)
    assert shared.prod.recovery.multi_region and shared.prod.database.replica_region  # the data outlives the region
    assert shared.prod.recovery.failover == "none" and not shared.prod.recovery.fails_over
    report = feasibility(shared)
    assert report.regions == 1 and not report.reachable
    assert "shared cluster, in one region; any failover needs a platform in us-west-2 first" in report.reason
    dedicated = plan(sla=99.99)
    assert dedicated.prod.recovery.fails_over and not feasibility(dedicated).one_region_because


def test_a_platform_keeps_nothing_in_a_second_region():
    platform = plan(kind="platform", database="none", sla=99.99)
    assert not platform.prod.recovery.multi_region and platform.prod.recovery.failover == "none"
    assert "a failover needs a second platform" in feasibility(platform).reason
    assert "planned from sla" not in feasibility(platform).reason  # no tier plans one for a platform


@pytest.mark.parametrize("answers", [{"platform": "aws-lambda"}, {"cluster": "shared"}])
def test_a_platform_is_an_eks_cluster_of_its_own(answers):
    with pytest.raises(ValueError, match="kind: platform is an EKS cluster of its own"):
        plan(kind="platform", **answers)
