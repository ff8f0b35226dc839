"""Feasibility of the SLA: composite availability against hand-computed cases."""

from __future__ import annotations

import pytest

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.availability import (
    PUBLISHED_SLAS,
    SLA_TABLE_DATE,
    feasibility,
    percent_display,
)


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
    assert result.reachable and result.reason == ""
    # (1 - 0.99930005) x 43200 min = 30.24 min, 70 % of the 43.2-min budget
    assert result.allowed_downtime_minutes == pytest.approx(30.24, abs=0.01)
    assert result.budget_share_percent == pytest.approx(70.0, abs=0.1)


def test_99_95_on_one_region_is_not_reachable_and_says_a_second_region_would():
    result = feasibility(plan(sla=99.95))
    assert not result.reachable
    assert result.composite_display == "99.9300"
    assert "limited by Amazon RDS for PostgreSQL at 99.95%" in result.reason
    assert "99.95 needs a second region: failover to us-west-2" in result.reason
    # without the database: 0.9999 x 0.9999 = 99.9800 %
    assert "would give 99.9800%" in result.reason


def test_99_99_counts_the_dr_region_in_parallel_behind_failover_dns():
    result = feasibility(plan(sla=99.99))
    region = 0.9999 * 0.9999 * 0.9995
    expected = 100 * 1.0 * (1 - (1 - region) ** 2)  # Route 53 is 100 %
    assert result.regions == 2 and result.dr_region == "us-west-2"
    assert result.region_percent == pytest.approx(100 * region, abs=1e-9)
    assert result.composite_percent == pytest.approx(expected, abs=1e-9)
    assert result.reachable


def test_lambda_with_postgres_misses_99_9_by_three_nines_five():
    result = feasibility(plan(platform="aws-lambda"))
    # 0.9995 (API Gateway) x 0.9995 (Lambda) x 0.9995 (RDS Multi-AZ) = 0.998500750
    assert result.composite_percent == pytest.approx(100 * 0.9995**3, abs=1e-9)
    assert result.composite_display == "99.8500"
    assert not result.reachable
    assert "99.9 needs a second region" in result.reason


def test_lambda_without_a_database_just_reaches_99_9():
    result = feasibility(plan(platform="aws-lambda", database="none"))
    assert result.composite_percent == pytest.approx(100 * 0.9995**2, abs=1e-9)  # 99.900025
    assert result.reachable


def test_bronze_single_az_database_names_multi_az_as_the_fix():
    result = feasibility(plan(sla=99.5))
    assert [c.sla_key for c in result.components][-1] == "rds-single-az"
    assert result.composite_percent == pytest.approx(100 * 0.9999 * 0.9999 * 0.995, abs=1e-9)
    assert not result.reachable
    assert "a Multi-AZ database (planned from sla 99.9) would give 99.9300%" in result.reason


def test_display_never_rounds_up():
    assert percent_display(99.99995) == "99.9999"
    assert percent_display(99.93) == "99.9300"


def test_the_cluster_api_is_listed_but_not_multiplied_in():
    result = feasibility(plan())
    assert [c.sla_key for c in result.off_path] == ["eks"]
    assert "eks" not in [c.sla_key for c in result.components]
    assert feasibility(plan(platform="aws-lambda")).off_path == ()
