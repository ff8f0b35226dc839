"""Monthly cost estimate: hand-computed lines and totals."""

from __future__ import annotations

import pytest

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.answers import AWS_REGION_AZS
from pulumi_components.reliability.cost import PRICE_TABLE_DATE, PRICES, REGION_PRICE_FACTOR, estimate_cost


def plan(**answers):
    base = dict(project_name="Example", service_slug="example", team="platform", owner_email="p@example.com")
    return plan_service(Answers(**{**base, **answers}))


def lines(env_cost):
    return {line.item: line.monthly_usd for line in env_cost.lines}


def test_every_region_has_a_price_factor_and_the_table_a_date():
    assert set(REGION_PRICE_FACTOR) == set(AWS_REGION_AZS)
    assert REGION_PRICE_FACTOR["us-east-1"] == 1.0
    assert PRICE_TABLE_DATE


def test_default_prod_line_by_line():
    prod = estimate_cost(plan()).environment("prod")
    assert lines(prod) == {
        "EKS control plane": 73.00,  # 0.10 x 730
        "EKS nodes": 220.75,  # 3 x 0.1008 x 730 = 220.752
        "Node root volumes (gp3)": 12.00,  # 3 x 50 GB x 0.08
        "Application Load Balancer": 16.43,  # 0.0225 x 730 = 16.425
        "ALB capacity units": 5.84,  # 0.008 x 730
        "NAT gateways": 98.55,  # 3 x 0.045 x 730
        "RDS PostgreSQL (Multi-AZ)": 245.28,  # 2 x 0.168 x 730
        "RDS storage (gp3)": 23.00,  # 2 x 100 GB x 0.115
    }
    assert prod.total_usd == pytest.approx(694.85)


def test_default_totals_sum_the_environments():
    estimate = estimate_cost(plan())
    assert [env.name for env in estimate.environments] == ["dev", "staging", "prod"]
    dev = estimate.environment("dev")
    # 73 + 2 x 0.0832 x 730 (121.47) + 2 x 20 GB x 0.08 (3.20) + 16.43 + 5.84 + 32.85
    #   + 0.016 x 730 (11.68) + 20 GB x 0.115 (2.30)
    assert dev.total_usd == pytest.approx(266.77)
    assert estimate.total_usd == pytest.approx(round(sum(env.total_usd for env in estimate.environments), 2))
    assert estimate.total_usd == pytest.approx(266.77 + 467.27 + 694.85)


def test_99_99_adds_the_cross_region_replica_priced_in_the_dr_region():
    prod = lines(estimate_cost(plan(sla=99.99)).environment("prod"))
    assert prod["RDS PostgreSQL (Multi-AZ)"] == pytest.approx(2 * 0.478 * 730, abs=0.005)  # 697.88
    # The replica is Multi-AZ too, so a promoted DR database keeps a standby: two instances, two volumes.
    assert prod["Cross-region replica in us-west-2 (Multi-AZ)"] == pytest.approx(2 * 0.478 * 730, abs=0.005)
    assert prod["Replica storage in us-west-2"] == pytest.approx(2 * 11.50)


def test_region_factor_scales_every_line():
    base = estimate_cost(plan()).environment("prod")
    frankfurt = estimate_cost(plan(aws_region="eu-central-1")).environment("prod")
    for usd, line in zip((line.monthly_usd for line in base.lines), frankfurt.lines, strict=True):
        assert line.monthly_usd == pytest.approx(usd * 1.19, abs=0.01)


def test_lambda_prod_uses_the_stated_traffic():
    prod = lines(estimate_cost(plan(platform="aws-lambda", database="none", sla=99.95)).environment("prod"))
    assert prod["HTTP API requests"] == 10.00  # 10 M x $1.00
    assert prod["Lambda requests"] == 2.00  # 10 M x $0.20
    assert prod["Lambda duration"] == pytest.approx(16.67)  # 10 M x 0.1 s x 1 GB x 0.0000166667
    # gold tier keeps 2 warm instances of 1 GB all month: 2 x 2,628,000 GB-s x 0.0000041667
    assert prod["Lambda provisioned concurrency"] == pytest.approx(21.90, abs=0.01)
    assert "EKS control plane" not in prod
    assert "NAT gateways" not in prod  # no database to reach: the function runs outside any VPC


def test_every_priced_item_is_in_the_table():
    for answers in ({}, {"sla": 99.99}, {"sla": 99.5}, {"platform": "aws-lambda", "sla": 99.99}):
        for env in estimate_cost(plan(**answers)).environments:
            assert all(line.monthly_usd > 0 for line in env.lines)
    assert all(price > 0 for price in PRICES.values())
