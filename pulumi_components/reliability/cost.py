"""Monthly cost estimate per environment, line by line, from one price table.

Prices are AWS on-demand list prices in us-east-1 (USD, Linux, no free tier,
no savings plans); another region multiplies them by its regional factor.
Every price carries its own source page, the date its value is from, and how it
was checked. Usage-driven lines (requests, GB processed, logs) are a range: low
at the assumed traffic, high at the assumed peak month (`TRAFFIC`), both stated
in the report. `monthly_cost_estimate(plan, env)` is the one figure per
environment other tools read (AWS Budgets).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .plan import EnvironmentPlan, ServicePlan
from .vocabulary import NatStrategy, Platform

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

# The day the table was last reviewed line by line; tests/test_cost.py fails once it is older
# than PRICE_TABLE_MAX_AGE_DAYS, and no line may be older than PRICE_LINE_MAX_AGE_DAYS.
PRICE_TABLE_DATE = "2026-11-30"
PRICE_TABLE_MAX_AGE_DAYS = 365
PRICE_LINE_MAX_AGE_DAYS = 730
PRICE_SOURCE = "AWS on-demand list prices for us-east-1, USD; each line names its pricing page and date"

_UNVERIFIED = (
    "not verified offline (no stored copy of the page holds the figure); value as read from the page on 2025-06-01"
)
# Graviton instance rates differ between RDS engines; these were never compared with the PostgreSQL page offline.
_RDS_UNVERIFIED = (
    "not verified offline for PostgreSQL: MySQL's Graviton rates differ and no stored copy of the PostgreSQL "
    "page holds the figure; check it there"
)


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    source: str  # the AWS pricing page
    as_of: str  # the date of the value
    check: str  # how the value was checked, or why it could not be


def _p(usd: float, unit: str, page: str, as_of: str, check: str) -> Price:
    return Price(usd, unit, f"https://aws.amazon.com/{page}/", as_of, check)


PRICES: dict[str, Price] = {
    "eks-cluster-hour": _p(0.10, "cluster-hour", "eks/pricing", "2025-06-01", _UNVERIFIED),
    "ec2-hour:t3.large": _p(0.0832, "instance-hour", "ec2/pricing/on-demand", "2025-06-01", _UNVERIFIED),
    "ec2-hour:m7i.large": _p(0.1008, "instance-hour", "ec2/pricing/on-demand", "2025-06-01", _UNVERIFIED),
    "ebs-gp3-gb-month": _p(0.08, "GB-month", "ebs/pricing", "2025-06-01", _UNVERIFIED),
    "alb-hour": _p(0.0225, "ALB-hour", "elasticloadbalancing/pricing", "2025-06-01", _UNVERIFIED),
    "alb-lcu-hour": _p(0.008, "LCU-hour", "elasticloadbalancing/pricing", "2025-06-01", _UNVERIFIED),
    "nat-gateway-hour": _p(0.045, "gateway-hour", "vpc/pricing", "2025-06-01", _UNVERIFIED),
    "nat-gateway-gb": _p(0.045, "GB processed", "vpc/pricing", "2025-06-01", _UNVERIFIED),
    "public-ipv4-hour": _p(
        0.005,
        "address-hour",
        "vpc/pricing",
        "2025-05-12",
        "charged for every public IPv4 address since 2024-02-01 "
        "(https://aws.amazon.com/blogs/aws/new-aws-public-ipv4-address-charge-public-ip-insights/); "
        "corroborated by https://taourl.com/read-2607549.html (2025-05-12)",
    ),
    "data-transfer-out-gb": _p(0.09, "GB to the internet", "ec2/pricing/on-demand", "2025-06-01", _UNVERIFIED),
    # RDS for PostgreSQL (not MySQL, whose Graviton rates differ), Single-AZ; Multi-AZ bills two instances.
    "rds-hour:db.t4g.micro": _p(
        0.016,
        "instance-hour",
        "rds/postgresql/pricing",
        "2026-04-01",
        "corroborated for PostgreSQL in us-east-1 by https://infratally.com/articles/aws-rds-pricing-explained-2026.html",
    ),
    "rds-hour:db.t4g.medium": _p(
        0.065,
        "instance-hour",
        "rds/postgresql/pricing",
        "2026-04-01",
        "corroborated for PostgreSQL in us-east-1 by https://infratally.com/articles/aws-rds-pricing-explained-2026.html",
    ),
    "rds-hour:db.t4g.large": _p(0.129, "instance-hour", "rds/postgresql/pricing", "2025-06-01", _RDS_UNVERIFIED),
    "rds-hour:db.m7g.large": _p(0.168, "instance-hour", "rds/postgresql/pricing", "2025-06-01", _RDS_UNVERIFIED),
    "rds-hour:db.r7g.large": _p(0.239, "instance-hour", "rds/postgresql/pricing", "2025-06-01", _RDS_UNVERIFIED),
    "rds-hour:db.r7g.xlarge": _p(0.478, "instance-hour", "rds/postgresql/pricing", "2025-06-01", _RDS_UNVERIFIED),
    "rds-gp3-gb-month": _p(
        0.115,
        "GB-month (each copy)",
        "rds/postgresql/pricing",
        "2026-06-01",
        "corroborated by https://www.usage.ai/blogs/aws/reserved-instances/rds/pricing-calculator/",
    ),
    "rds-cross-region-gb": _p(
        0.02, "GB replicated to another region", "rds/postgresql/pricing", "2025-06-01", _UNVERIFIED
    ),
    # The function is arm64 (serverless_function.py): Arm rates, 20% below x86.
    "lambda-million-requests": _p(0.20, "million requests", "lambda/pricing", "2025-06-01", _UNVERIFIED),
    "lambda-arm-gb-second": _p(
        0.0000133334,
        "GB-second (Arm, first tier)",
        "lambda/pricing",
        "2025-06-01",
        "Arm rate; corroborated by https://cloudchipr.com/blog/aws-lambda-pricing",
    ),
    "lambda-arm-provisioned-gb-second": _p(
        0.0000033334, "GB-second provisioned (Arm)", "lambda/pricing", "2025-06-01", _UNVERIFIED
    ),
    "http-api-million-requests": _p(
        1.00, "million requests (first 300 M)", "api-gateway/pricing", "2025-06-01", _UNVERIFIED
    ),
    "kms-key-month": _p(
        1.00,
        "customer managed key-month",
        "kms/pricing",
        "2026-01-01",
        "corroborated by https://www.wring.co/blog/aws-kms-pricing-guide",
    ),
    "secret-month": _p(
        0.40,
        "secret-month",
        "secrets-manager/pricing",
        "2026-01-01",
        "corroborated by https://hivebook.wiki/wiki/aws-secrets-manager-rotated-secrets-dynamic-db-credentials-kms",
    ),
    "cloudwatch-alarm-month": _p(
        0.10, "standard-resolution alarm-month", "cloudwatch/pricing", "2025-06-01", _UNVERIFIED
    ),
    "cloudwatch-composite-alarm-month": _p(
        0.50, "composite alarm-month", "cloudwatch/pricing", "2025-06-01", _UNVERIFIED
    ),
    "cloudwatch-dashboard-month": _p(
        3.00, "dashboard-month (beyond three free)", "cloudwatch/pricing", "2025-06-01", _UNVERIFIED
    ),
    "cloudwatch-logs-ingest-gb": _p(
        0.50, "GB ingested (standard class)", "cloudwatch/pricing", "2025-06-01", _UNVERIFIED
    ),
    "cloudwatch-logs-store-gb-month": _p(0.03, "GB-month archived", "cloudwatch/pricing", "2025-06-01", _UNVERIFIED),
    "route53-health-check-month": _p(
        0.50,
        "health check-month (AWS endpoint)",
        "route53/pricing",
        "2025-06-01",
        "$0.50 for AWS endpoints, $0.75 for others, corroborated by "
        "https://wewantcode.com/en/course/aws/lesson/7-84-health-checks-status-check.html; HTTPS adds an "
        "optional-feature charge not verified offline",
    ),
    "waf-web-acl-month": _p(5.00, "web ACL-month", "waf/pricing", "2025-06-01", _UNVERIFIED),
    "waf-rule-month": _p(1.00, "rule-month", "waf/pricing", "2025-06-01", _UNVERIFIED),
    "waf-million-requests": _p(0.60, "million requests", "waf/pricing", "2025-06-01", _UNVERIFIED),
}

# Regional price level: the region's on-demand m7i.large price over us-east-1's, applied
# to every line (an approximation: services differ by a few percent between regions).
REGION_PRICE_FACTOR: dict[str, float] = {
    "us-east-1": 1.00,
    "us-east-2": 1.00,
    "us-west-1": 1.17,
    "us-west-2": 1.00,
    "ca-central-1": 1.11,
    "ca-west-1": 1.11,
    "mx-central-1": 1.12,
    "sa-east-1": 1.59,
    "eu-west-1": 1.11,
    "eu-west-2": 1.16,
    "eu-west-3": 1.17,
    "eu-central-1": 1.19,
    "eu-central-2": 1.31,
    "eu-north-1": 1.06,
    "eu-south-1": 1.17,
    "eu-south-2": 1.11,
    "il-central-1": 1.16,
    "me-south-1": 1.22,
    "me-central-1": 1.22,
    "af-south-1": 1.32,
    "ap-east-1": 1.38,
    "ap-east-2": 1.30,
    "ap-south-1": 1.04,
    "ap-south-2": 1.04,
    "ap-northeast-1": 1.28,
    "ap-northeast-2": 1.23,
    "ap-northeast-3": 1.28,
    "ap-southeast-1": 1.25,
    "ap-southeast-2": 1.24,
    "ap-southeast-3": 1.25,
    "ap-southeast-4": 1.24,
    "ap-southeast-5": 1.13,
    "ap-southeast-6": 1.24,  # Sydney's level: the region opened after the factors were read
    "ap-southeast-7": 1.13,
}


@dataclass(frozen=True)
class Traffic:
    """What usage-driven lines assume for one environment: a quiet month and a busy one."""

    low_requests: int  # per month
    high_requests: int
    mean_duration_ms: int = 100  # Lambda duration per request
    response_kb: int = 20  # data transfer out per request
    egress_kb: int = 10  # what each request sends out through NAT (AWS APIs, third parties)
    log_kb: int = 1  # application and access log per request
    # Per-environment log volume that does not scale with requests (control plane, flow and WAF logs).
    base_log_gb: float = 5.0


TRAFFIC: dict[str, Traffic] = {
    "dev": Traffic(1_000_000, 5_000_000),
    "staging": Traffic(2_000_000, 20_000_000),
    "prod": Traffic(10_000_000, 100_000_000, base_log_gb=20.0),
}
WAF_RULES = 4  # the web ACL's rate rule and three AWS managed groups (edge_protection.py)
ALARMS_UPPER_BOUND = {"aws-lambda": (20, 4), "aws-eks": (0, 0)}  # (metric alarms, composites) at most
ALB_NEW_CONNECTIONS_PER_LCU = 25  # per second; one of the LCU dimensions (elasticloadbalancing/pricing)
NOT_ESTIMATED = (
    "backup storage beyond the database's size, snapshots kept after deletion, S3 storage of the access "
    "logs, Performance Insights beyond its free 7 days, Route 53 records and queries (records carry no "
    "charge and alias queries to AWS targets are free, https://aws.amazon.com/route53/pricing/; the hosted "
    "zone is the team's own), support plans, taxes"
)


@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: str  # how the figure is built, in words
    monthly_usd: float  # at the assumed (low) traffic; fixed lines have one figure
    price_key: str = ""
    high_usd: float | None = None  # at the busy month; None for a fixed line

    @property
    def high(self) -> float:
        return self.monthly_usd if self.high_usd is None else self.high_usd

    @property
    def price(self) -> Price | None:
        return PRICES.get(self.price_key)


@dataclass(frozen=True)
class MonthlyCost:
    low_usd: float
    high_usd: float


@dataclass(frozen=True)
class EnvironmentCost:
    name: str
    region: str
    lines: tuple[CostLine, ...]
    traffic: Traffic

    @property
    def total_usd(self) -> float:
        return round(sum(line.monthly_usd for line in self.lines), 2)

    @property
    def high_usd(self) -> float:
        return round(sum(line.high for line in self.lines), 2)


@dataclass(frozen=True)
class CostEstimate:
    environments: tuple[EnvironmentCost, ...]
    region: str
    region_factor: float

    @property
    def total_usd(self) -> float:
        return round(sum(env.total_usd for env in self.environments), 2)

    @property
    def high_usd(self) -> float:
        return round(sum(env.high_usd for env in self.environments), 2)

    def environment(self, name: str) -> EnvironmentCost:
        return next(env for env in self.environments if env.name == name)

    @property
    def sources(self) -> tuple[tuple[str, Price], ...]:
        """Every price the lines use, once, in table order."""
        used = {line.price_key for env in self.environments for line in env.lines}
        return tuple((key, price) for key, price in PRICES.items() if key in used)

    # The assumptions behind the figures, for the report to state next to them.
    price_table_date = PRICE_TABLE_DATE
    price_source = PRICE_SOURCE
    not_estimated = NOT_ESTIMATED


def _price(key: str, region: str) -> float:
    return PRICES[key].usd * REGION_PRICE_FACTOR[region]


def _hourly(item: str, count: int, key: str, region: str, what: str) -> CostLine:
    monthly = count * _price(key, region) * HOURS_PER_MONTH
    quantity = f"{count} x {what} x {HOURS_PER_MONTH} h x ${_price(key, region):.4f}/h"
    return CostLine(item, quantity, round(monthly, 2), key)


def _monthly(item: str, count: float, key: str, region: str, what: str) -> CostLine:
    """A line priced per unit-month (keys, secrets, alarms, GB stored)."""
    return CostLine(item, f"{count:g} {what} x ${_price(key, region):.4f}", round(count * _price(key, region), 2), key)


def _usage(item: str, low: float, high: float, key: str, region: str, unit: str, per: float = 1.0) -> CostLine:
    """A line priced by use: `low` and `high` units (in `per`s) at the key's price."""
    price = _price(key, region)
    return CostLine(
        item,
        f"{_num(low)} to {_num(high)} {unit} x ${price:.10g}",
        round(low / per * price, 2),
        key,
        round(high / per * price, 2),
    )


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.4g}"


def _gb(requests: int, kb: int) -> float:
    return requests * kb / 1_000_000


def _cluster_lines(env: EnvironmentPlan, region: str, traffic: Traffic) -> list[CostLine]:
    cluster = env.cluster
    instance_type = cluster.node_instance_types[0]
    disk_gb = cluster.node_desired * cluster.node_disk_gb
    monitoring = env.monitoring
    volumes = monitoring.prometheus_replicas * monitoring.prometheus_storage_gb
    parts = [f"Prometheus {monitoring.prometheus_replicas} x {monitoring.prometheus_storage_gb} GB"]
    for component in ("loki", "tempo"):  # one replica each (monitoring/values)
        if component in monitoring.components:
            volumes += monitoring.loki_storage_gb
            parts.append(f"{component.title()} {monitoring.loki_storage_gb} GB")
    return [
        _hourly("EKS control plane", 1, "eks-cluster-hour", region, "cluster"),
        _hourly("EKS nodes", cluster.node_desired, f"ec2-hour:{instance_type}", region, instance_type),
        CostLine(
            "Node root volumes (gp3)",
            f"{disk_gb} GB x ${_price('ebs-gp3-gb-month', region):.4f}/GB-month",
            round(disk_gb * _price("ebs-gp3-gb-month", region), 2),
            "ebs-gp3-gb-month",
        ),
        _monthly(f"Monitoring volumes (gp3: {', '.join(parts)})", volumes, "ebs-gp3-gb-month", region, "GB-month"),
    ]


def load_balancer_lines(env: EnvironmentPlan, region: str, traffic: Traffic) -> list[CostLine]:
    """The service's own ALB and its web ACL, which its Ingress creates on a dedicated or a shared
    cluster alike."""
    peak_lcu = max(1.0, traffic.high_requests / SECONDS_PER_MONTH / ALB_NEW_CONNECTIONS_PER_LCU)
    return [
        _hourly("Application Load Balancer", 1, "alb-hour", region, "ALB"),
        _usage("ALB capacity units", HOURS_PER_MONTH, peak_lcu * HOURS_PER_MONTH, "alb-lcu-hour", region, "LCU-hours"),
        # The controller's internet-facing ALB holds a public IPv4 address in each of its subnets' AZs.
        _hourly("Public IPv4 addresses (ALB)", env.network.az_count, "public-ipv4-hour", region, "address"),
        _monthly("WAF web ACL", 1, "waf-web-acl-month", region, "web ACL"),
        _monthly("WAF rules", WAF_RULES, "waf-rule-month", region, "rules"),
        _usage(
            "WAF requests",
            traffic.low_requests / 1e6,
            traffic.high_requests / 1e6,
            "waf-million-requests",
            region,
            "M requests",
        ),
    ]


def _function_lines(env: EnvironmentPlan, region: str, traffic: Traffic) -> list[CostLine]:
    function = env.function
    memory_gb = function.memory_mb / 1024
    low_m, high_m = traffic.low_requests / 1e6, traffic.high_requests / 1e6

    def gb_seconds(requests: int) -> float:
        return requests * traffic.mean_duration_ms / 1000 * memory_gb

    lines = [
        _usage("HTTP API requests", low_m, high_m, "http-api-million-requests", region, "M requests"),
        _usage("Lambda requests", low_m, high_m, "lambda-million-requests", region, "M requests"),
        _usage(
            f"Lambda duration (arm64, {traffic.mean_duration_ms} ms x {function.memory_mb} MB)",
            gb_seconds(traffic.low_requests),
            gb_seconds(traffic.high_requests),
            "lambda-arm-gb-second",
            region,
            "GB-s",
        ),
    ]
    if function.provisioned_concurrency:
        provisioned = function.provisioned_concurrency * memory_gb * SECONDS_PER_MONTH
        lines.append(
            CostLine(
                "Lambda provisioned concurrency (arm64)",
                f"{function.provisioned_concurrency} x {function.memory_mb} MB always warm = {provisioned:,.0f} GB-s "
                f"x ${_price('lambda-arm-provisioned-gb-second', region):.10f}",
                round(provisioned * _price("lambda-arm-provisioned-gb-second", region), 2),
                "lambda-arm-provisioned-gb-second",
            )
        )
    return lines


def _database_lines(env: EnvironmentPlan, region: str, traffic: Traffic) -> list[CostLine]:
    db = env.database
    copies = 2 if db.multi_az else 1
    deployment = "Multi-AZ" if db.multi_az else "Single-AZ"
    storage_price = _price("rds-gp3-gb-month", region)
    lines = [
        _hourly(f"RDS PostgreSQL ({deployment})", copies, f"rds-hour:{db.instance_class}", region, db.instance_class),
        CostLine(
            "RDS storage (gp3)",
            f"{copies} x {db.allocated_storage_gb} GB x ${storage_price:.4f}/GB-month",
            round(copies * db.allocated_storage_gb * storage_price, 2),
            "rds-gp3-gb-month",
        ),
        # RDS keeps the managed master password in Secrets Manager (manageMasterUserPassword).
        _monthly("Secrets Manager (database master secret)", 1, "secret-month", region, "secret"),
    ]
    if db.replica_region:
        replica = db.replica_region
        replica_copies = 2 if db.replica_multi_az else 1
        replica_deployment = "Multi-AZ" if db.replica_multi_az else "Single-AZ"
        lines.append(
            _hourly(
                f"Cross-region replica in {replica} ({replica_deployment})",
                replica_copies,
                f"rds-hour:{db.instance_class}",
                replica,
                db.instance_class,
            )
        )
        replica_storage = _price("rds-gp3-gb-month", replica)
        lines.append(
            CostLine(
                f"Replica storage in {replica}",
                f"{replica_copies} x {db.allocated_storage_gb} GB x ${replica_storage:.4f}/GB-month",
                round(replica_copies * db.allocated_storage_gb * replica_storage, 2),
                "rds-gp3-gb-month",
            )
        )
        # Every write crosses to the replica: one log record per request, as the log volume assumes.
        lines.append(
            _usage(
                f"Replication to {replica}",
                _gb(traffic.low_requests, traffic.log_kb),
                _gb(traffic.high_requests, traffic.log_kb),
                "rds-cross-region-gb",
                region,
                "GB",
            )
        )
    return lines


def _network_lines(plan: ServicePlan, env: EnvironmentPlan, region: str, traffic: Traffic) -> list[CostLine]:
    from .plan import replica_network

    nats = env.network.az_count if env.network.nat_gateways == NatStrategy.PER_AZ else 1
    lines = [
        _hourly("NAT gateways", nats, "nat-gateway-hour", region, "NAT gateway"),
        _hourly("Public IPv4 addresses (NAT)", nats, "public-ipv4-hour", region, "address"),
        _usage(
            "NAT data processing",
            _gb(traffic.low_requests, traffic.egress_kb),
            _gb(traffic.high_requests, traffic.egress_kb),
            "nat-gateway-gb",
            region,
            "GB",
        ),
    ]
    dr = replica_network(env)
    if dr is not None:
        replica = env.database.replica_region
        lines.append(_hourly(f"NAT gateway in {replica} (DR network)", 1, "nat-gateway-hour", replica, "NAT gateway"))
        lines.append(_hourly(f"Public IPv4 address in {replica} (DR NAT)", 1, "public-ipv4-hour", replica, "address"))
    return lines


def kms_key_count(plan: ServicePlan, env: EnvironmentPlan) -> int:
    """Customer managed keys the environment's stack creates (one per encrypted concern)."""
    eks = env.cluster is not None
    count = 3 if eks else 2  # EKS: secrets, volumes, WAF logs; Lambda: environment, alarm topic
    if plan.has_network:
        count += 1  # flow logs
    if env.database is not None:
        count += 1
        if env.database.replica_region:
            count += 2  # the replica's key and the DR network's flow logs, in the DR region
    return count


def _observability_lines(plan: ServicePlan, env: EnvironmentPlan, region: str, traffic: Traffic) -> list[CostLine]:
    lines = [_monthly("KMS customer managed keys", kms_key_count(plan, env), "kms-key-month", region, "keys")]
    if env.function is not None:
        alarms, composites = ALARMS_UPPER_BOUND["aws-lambda"]
        lines.append(
            _monthly(
                "CloudWatch alarms (SLO and deployment)", alarms, "cloudwatch-alarm-month", region, "alarms, at most"
            )
        )
        lines.append(
            _monthly(
                "CloudWatch composite alarms", composites, "cloudwatch-composite-alarm-month", region, "alarms, at most"
            )
        )
        lines.append(_monthly("CloudWatch dashboard", 1, "cloudwatch-dashboard-month", region, "dashboard"))
    low_gb = traffic.base_log_gb + _gb(traffic.low_requests, traffic.log_kb)
    high_gb = traffic.base_log_gb + _gb(traffic.high_requests, traffic.log_kb)
    lines.append(_usage("CloudWatch Logs ingestion", low_gb, high_gb, "cloudwatch-logs-ingest-gb", region, "GB"))
    # Retention keeps about that many months of logs once the environment has run that long.
    months = env.log_retention_days / 30
    lines.append(
        _usage(
            f"CloudWatch Logs storage ({env.log_retention_days}-day retention, when full)",
            low_gb * months * 0.15,  # compressed to about 15% of ingested size
            high_gb * months * 0.15,
            "cloudwatch-logs-store-gb-month",
            region,
            "GB-month",
        )
    )
    lines.append(
        _usage(
            "Data transfer out",
            _gb(traffic.low_requests, traffic.response_kb),
            _gb(traffic.high_requests, traffic.response_kb),
            "data-transfer-out-gb",
            region,
            "GB",
        )
    )
    if env.recovery.failover != "none":
        # The PRIMARY failover record's health check (a Route 53 price, the same in every region).
        lines.append(_monthly("Route 53 health check", 1, "route53-health-check-month", "us-east-1", "health check"))
    return lines


def environment_cost(plan: ServicePlan, env: EnvironmentPlan) -> EnvironmentCost:
    region = plan.answers.aws_region
    traffic = TRAFFIC[env.name]
    lines: list[CostLine] = []
    if env.cluster is not None:
        lines += _cluster_lines(env, region, traffic)
    if plan.answers.platform == Platform.AWS_EKS:  # the Ingress's ALB, on its own cluster or the platform's
        lines += load_balancer_lines(env, region, traffic)
    if env.function is not None:
        lines += _function_lines(env, region, traffic)
    if plan.has_network:
        lines += _network_lines(plan, env, region, traffic)
    if env.database is not None:
        lines += _database_lines(env, region, traffic)
    lines += _observability_lines(plan, env, region, traffic)
    return EnvironmentCost(env.name, region, tuple(lines), traffic)


def estimate_cost(plan: ServicePlan) -> CostEstimate:
    """The monthly cost of every environment the plan creates."""
    region = plan.answers.aws_region
    return CostEstimate(
        environments=tuple(environment_cost(plan, env) for env in plan.environments.values()),
        region=region,
        region_factor=REGION_PRICE_FACTOR[region],
    )


def monthly_cost_estimate(plan: ServicePlan, env: str) -> MonthlyCost:
    """One environment's monthly cost in USD: low at the assumed traffic, high at the busy month."""
    if env not in plan.environments:
        raise ValueError(f"no environment {env!r} in this plan; accepted: {', '.join(plan.environments)}")
    cost = environment_cost(plan, plan.environments[env])
    return MonthlyCost(cost.total_usd, cost.high_usd)


def price_table_age_days(today: datetime.date | None = None) -> int:
    today = today or datetime.date.today()
    return (today - datetime.date.fromisoformat(PRICE_TABLE_DATE)).days
