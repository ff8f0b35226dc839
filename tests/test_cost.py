"""Monthly cost estimate: hand-computed lines, sourced prices, ranges where usage drives the cost."""

from __future__ import annotations

import datetime

import pytest

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.answers import AWS_REGION_AZS
from pulumi_components.reliability.cost import (
    PRICE_LINE_MAX_AGE_DAYS,
    PRICE_TABLE_DATE,
    PRICE_TABLE_MAX_AGE_DAYS,
    PRICES,
    REGION_PRICE_FACTOR,
    TRAFFIC,
    estimate_cost,
    kms_key_count,
    monthly_cost_estimate,
    price_table_age_days,
)


def plan(**answers):
    base = dict(project_name="Example", service_slug="example", team="platform", owner_email="p@example.com")
    return plan_service(Answers(**{**base, **answers}))


def lines(env_cost):
    return {line.item: line.monthly_usd for line in env_cost.lines}


def highs(env_cost):
    return {line.item: line.high for line in env_cost.lines}


def test_every_region_has_a_price_factor():
    assert set(REGION_PRICE_FACTOR) == set(AWS_REGION_AZS)
    assert REGION_PRICE_FACTOR["us-east-1"] == 1.0


def test_the_price_table_is_not_older_than_its_stated_age():
    age = price_table_age_days()
    assert age <= PRICE_TABLE_MAX_AGE_DAYS, (
        f"the price table was reviewed {age} days ago ({PRICE_TABLE_DATE}), more than {PRICE_TABLE_MAX_AGE_DAYS}: "
        "compare each line with its page and update its value, date and check"
    )
    assert price_table_age_days(datetime.date.fromisoformat(PRICE_TABLE_DATE) + datetime.timedelta(days=400)) > (
        PRICE_TABLE_MAX_AGE_DAYS
    )


@pytest.mark.parametrize("key", sorted(PRICES))
def test_every_price_carries_its_own_page_date_and_check(key):
    price = PRICES[key]
    assert price.source.startswith("https://aws.amazon.com/") and "/pricing/" in price.source, key
    as_of = datetime.date.fromisoformat(price.as_of)
    assert as_of <= datetime.date.fromisoformat(PRICE_TABLE_DATE)
    assert (datetime.date.today() - as_of).days <= PRICE_LINE_MAX_AGE_DAYS, f"{key} is from {price.as_of}"
    assert price.check and price.usd > 0 and price.unit


def test_rds_prices_come_from_the_postgresql_page():
    for key, price in PRICES.items():
        if key.startswith("rds-"):
            assert price.source == "https://aws.amazon.com/rds/postgresql/pricing/", key
            assert "PostgreSQL" in price.check or "corroborated" in price.check or "not verified" in price.check


def test_default_prod_line_by_line():
    prod = estimate_cost(plan()).environment("prod")
    fixed = lines(prod)
    assert fixed["EKS control plane"] == 73.00  # 0.10 x 730
    assert fixed["EKS nodes"] == 220.75  # 3 x 0.1008 x 730 = 220.752
    assert fixed["Node root volumes (gp3)"] == 12.00  # 3 x 50 GB x 0.08
    # Prometheus 2 x 47 GB (31 days x 2 GB x 1.3) + Loki 475 GB (365 days x 1 GB x 1.3) = 569 GB x 0.08
    assert fixed["Monitoring volumes (gp3: Prometheus 2 x 81 GB, Loki 475 GB)"] == pytest.approx(50.96)
    assert fixed["Application Load Balancer"] == 16.43  # 0.0225 x 730 = 16.425
    assert fixed["Public IPv4 addresses (ALB)"] == 10.95  # 3 AZs x 0.005 x 730
    assert fixed["NAT gateways"] == 98.55  # 3 x 0.045 x 730
    assert fixed["Public IPv4 addresses (NAT)"] == 10.95
    assert fixed["RDS PostgreSQL (Multi-AZ)"] == 245.28  # 2 x 0.168 x 730
    assert fixed["RDS storage (gp3)"] == 23.00  # 2 x 100 GB x 0.115
    assert fixed["Secrets Manager (database master secret)"] == 0.40
    assert fixed["KMS customer managed keys"] == 5.00  # cluster secrets, volumes, WAF logs, flow logs, database
    assert fixed["WAF web ACL"] == 5.00 and fixed["WAF rules"] == 4.00
    assert "Route 53 health check" not in fixed  # no failover record below 99.99
    assert prod.total_usd == pytest.approx(round(sum(fixed.values()), 2))


def test_usage_lines_are_a_range_from_the_stated_traffic():
    prod = estimate_cost(plan()).environment("prod")
    traffic = TRAFFIC["prod"]
    low, high = lines(prod), highs(prod)
    # 10 M to 100 M requests: 20 KB out each (0.09/GB), 10 KB through NAT (0.045/GB), 1 KB of logs (0.50/GB)
    assert (low["Data transfer out"], high["Data transfer out"]) == (18.00, 180.00)
    assert (low["NAT data processing"], high["NAT data processing"]) == (4.50, 45.00)
    assert (low["CloudWatch Logs ingestion"], high["CloudWatch Logs ingestion"]) == (15.00, 60.00)  # +20 GB base
    assert (low["WAF requests"], high["WAF requests"]) == (6.00, 60.00)
    assert traffic.low_requests < traffic.high_requests
    assert prod.total_usd < prod.high_usd


def test_monthly_cost_estimate_is_each_environments_low_and_high():
    service = plan(sla=99.99)
    estimate = estimate_cost(service)
    for env in estimate.environments:
        figure = monthly_cost_estimate(service, env.name)
        assert (figure.low_usd, figure.high_usd) == (env.total_usd, env.high_usd)
    with pytest.raises(ValueError, match="no environment 'qa' in this plan; accepted: dev, staging, prod"):
        monthly_cost_estimate(service, "qa")


def test_99_99_adds_the_replica_the_dr_nat_gateway_and_the_health_check():
    prod = lines(estimate_cost(plan(sla=99.99)).environment("prod"))
    assert prod["RDS PostgreSQL (Multi-AZ)"] == pytest.approx(2 * 0.478 * 730, abs=0.005)  # 697.88
    # The replica is Multi-AZ too, so a promoted DR database keeps a standby: two instances, two volumes.
    assert prod["Cross-region replica in us-west-2 (Multi-AZ)"] == pytest.approx(2 * 0.478 * 730, abs=0.005)
    assert prod["Replica storage in us-west-2"] == pytest.approx(2 * 11.50)
    assert prod["NAT gateway in us-west-2 (DR network)"] == 32.85
    assert prod["Public IPv4 address in us-west-2 (DR NAT)"] == 3.65
    assert prod["Route 53 health check"] == 0.50
    assert prod["KMS customer managed keys"] == 7.00  # + the replica's key and the DR flow logs' key


def test_region_factor_scales_every_line_but_route53():
    base = estimate_cost(plan(sla=99.99)).environment("prod")
    frankfurt = estimate_cost(plan(sla=99.99, aws_region="eu-central-1", dr_region="us-west-2"))
    for usd, line in zip((line.monthly_usd for line in base.lines), frankfurt.environment("prod").lines, strict=True):
        dr = " in us-west-2" in line.item or "Route 53" in line.item  # priced where it runs
        assert line.monthly_usd == pytest.approx(usd * (1.0 if dr else 1.19), abs=0.01), line.item


def test_lambda_is_priced_at_arm_rates():
    prod = estimate_cost(plan(platform="aws-lambda", database="none", sla=99.95)).environment("prod")
    low, high = lines(prod), highs(prod)
    assert (low["HTTP API requests"], high["HTTP API requests"]) == (10.00, 100.00)  # 10 M to 100 M x $1.00
    assert (low["Lambda requests"], high["Lambda requests"]) == (2.00, 20.00)  # x $0.20
    # 10 M x 0.1 s x 1 GB = 1 M GB-s x 0.0000133334 (arm64; x86 would be 16.67)
    duration = "Lambda duration (arm64, 100 ms x 1024 MB)"
    assert (low[duration], high[duration]) == pytest.approx((13.33, 133.33))
    # gold keeps 2 warm instances of 1 GB all month: 2 x 2,628,000 GB-s x 0.0000033334 (x86: 21.90)
    assert low["Lambda provisioned concurrency (arm64)"] == pytest.approx(17.52, abs=0.01)
    assert "EKS control plane" not in low
    assert "NAT gateways" not in low  # no database to reach: the function runs outside any VPC
    assert low["KMS customer managed keys"] == 2.00  # environment variables, alarm topic


def test_every_line_names_a_price_with_a_source():
    for answers in ({}, {"sla": 99.99}, {"sla": 99.5}, {"platform": "aws-lambda", "sla": 99.99}):
        estimate = estimate_cost(plan(**answers))
        keys = {key for key, _ in estimate.sources}
        for env in estimate.environments:
            for line in env.lines:
                assert line.price_key in keys, line.item
                assert 0 < line.monthly_usd <= line.high, line.item


@pytest.mark.parametrize(
    ("answers", "keys"),
    [({}, 5), ({"database": "none"}, 4), ({"platform": "aws-lambda", "database": "none"}, 2), ({"sla": 99.99}, 7)],
)
def test_kms_keys_counted_per_encrypted_concern(answers, keys):
    service = plan(**answers)
    assert kms_key_count(service, service.prod) == keys
