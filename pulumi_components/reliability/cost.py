"""Monthly cost estimate per environment, line by line, from one price table.

Prices are AWS on-demand list prices in us-east-1 (USD, Linux, no free tier,
no savings plans); another region multiplies them by its regional factor.
Usage-priced items (Lambda, API Gateway) read the traffic assumption below;
per-GB charges (NAT data processing, data transfer, log ingestion) depend on
traffic the template cannot know and are left out, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from .plan import EnvironmentPlan, ServicePlan

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

PRICE_TABLE_DATE = "2025-06-01"
PRICE_SOURCE = "AWS on-demand list prices for us-east-1 (each service's page under aws.amazon.com/pricing), USD"

# us-east-1, per hour unless the key says otherwise.
PRICES: dict[str, float] = {
    "eks-cluster-hour": 0.10,
    "ec2-hour:t3.large": 0.0832,
    "ec2-hour:m7i.large": 0.1008,
    "ebs-gp3-gb-month": 0.08,
    "alb-hour": 0.0225,
    "alb-lcu-hour": 0.008,
    "nat-gateway-hour": 0.045,
    "rds-hour:db.t4g.micro": 0.016,
    "rds-hour:db.t4g.medium": 0.065,
    "rds-hour:db.t4g.large": 0.129,
    "rds-hour:db.m7g.large": 0.168,
    "rds-hour:db.r7g.large": 0.239,
    "rds-hour:db.r7g.xlarge": 0.478,
    "rds-gp3-gb-month": 0.115,  # Single-AZ; Multi-AZ storage is billed twice
    "lambda-million-requests": 0.20,
    "lambda-gb-second": 0.0000166667,
    "lambda-provisioned-gb-second": 0.0000041667,
    "http-api-million-requests": 1.00,
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
    "ap-southeast-6": 1.24,  # Sydney's level: the region opened after PRICE_TABLE_DATE
    "ap-southeast-7": 1.13,
}

# Traffic the usage-priced lines assume (requests per month, mean duration).
ASSUMED_MONTHLY_REQUESTS: dict[str, int] = {"dev": 1_000_000, "staging": 2_000_000, "prod": 10_000_000}
ASSUMED_MEAN_DURATION_MS = 100
NOT_ESTIMATED = (
    "per-GB charges: NAT gateway data processing, data transfer out, CloudWatch log ingestion "
    "and storage, backup storage beyond the database size"
)


@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: str  # how the figure is built, in words
    monthly_usd: float


@dataclass(frozen=True)
class EnvironmentCost:
    name: str
    region: str
    lines: tuple[CostLine, ...]

    @property
    def total_usd(self) -> float:
        return round(sum(line.monthly_usd for line in self.lines), 2)


@dataclass(frozen=True)
class CostEstimate:
    environments: tuple[EnvironmentCost, ...]
    region: str
    region_factor: float

    @property
    def total_usd(self) -> float:
        return round(sum(env.total_usd for env in self.environments), 2)

    def environment(self, name: str) -> EnvironmentCost:
        return next(env for env in self.environments if env.name == name)

    # The assumptions behind the figures, for the report to state next to them.
    price_table_date = PRICE_TABLE_DATE
    price_source = PRICE_SOURCE
    not_estimated = NOT_ESTIMATED
    assumed_monthly_requests = ASSUMED_MONTHLY_REQUESTS
    assumed_mean_duration_ms = ASSUMED_MEAN_DURATION_MS


def _price(key: str, region: str) -> float:
    return PRICES[key] * REGION_PRICE_FACTOR[region]


def _hourly(item: str, count: int, key: str, region: str, what: str) -> CostLine:
    monthly = count * _price(key, region) * HOURS_PER_MONTH
    quantity = f"{count} x {what} x {HOURS_PER_MONTH} h x ${_price(key, region):.4f}/h"
    return CostLine(item, quantity, round(monthly, 2))


def _cluster_lines(env: EnvironmentPlan, region: str) -> list[CostLine]:
    cluster = env.cluster
    instance_type = cluster.node_instance_types[0]
    disk_gb = cluster.node_desired * cluster.node_disk_gb
    return [
        _hourly("EKS control plane", 1, "eks-cluster-hour", region, "cluster"),
        _hourly("EKS nodes", cluster.node_desired, f"ec2-hour:{instance_type}", region, instance_type),
        CostLine(
            "Node root volumes (gp3)",
            f"{disk_gb} GB x ${_price('ebs-gp3-gb-month', region):.4f}/GB-month",
            round(disk_gb * _price("ebs-gp3-gb-month", region), 2),
        ),
        *load_balancer_lines(region),
    ]


def load_balancer_lines(region: str) -> list[CostLine]:
    """The service's own ALB, which its Ingress creates on a dedicated or a shared cluster alike."""
    return [
        _hourly("Application Load Balancer", 1, "alb-hour", region, "ALB"),
        _hourly("ALB capacity units", 1, "alb-lcu-hour", region, "LCU"),
    ]


def _function_lines(env: EnvironmentPlan, region: str) -> list[CostLine]:
    function = env.function
    requests = ASSUMED_MONTHLY_REQUESTS[env.name]
    millions = requests / 1_000_000
    memory_gb = function.memory_mb / 1024
    gb_seconds = requests * ASSUMED_MEAN_DURATION_MS / 1000 * memory_gb
    lines = [
        CostLine(
            "HTTP API requests",
            f"{millions:g} M requests x ${_price('http-api-million-requests', region):.4f}/M",
            round(millions * _price("http-api-million-requests", region), 2),
        ),
        CostLine(
            "Lambda requests",
            f"{millions:g} M requests x ${_price('lambda-million-requests', region):.4f}/M",
            round(millions * _price("lambda-million-requests", region), 2),
        ),
        CostLine(
            "Lambda duration",
            f"{gb_seconds:,.0f} GB-s ({ASSUMED_MEAN_DURATION_MS} ms x {function.memory_mb} MB) "
            f"x ${_price('lambda-gb-second', region):.10f}",
            round(gb_seconds * _price("lambda-gb-second", region), 2),
        ),
    ]
    if function.provisioned_concurrency:
        provisioned = function.provisioned_concurrency * memory_gb * SECONDS_PER_MONTH
        lines.append(
            CostLine(
                "Lambda provisioned concurrency",
                f"{function.provisioned_concurrency} x {function.memory_mb} MB always warm = {provisioned:,.0f} GB-s "
                f"x ${_price('lambda-provisioned-gb-second', region):.10f}",
                round(provisioned * _price("lambda-provisioned-gb-second", region), 2),
            )
        )
    return lines


def _database_lines(env: EnvironmentPlan, region: str) -> list[CostLine]:
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
        ),
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
            )
        )
    return lines


def environment_cost(plan: ServicePlan, env: EnvironmentPlan) -> EnvironmentCost:
    region = plan.answers.aws_region
    lines: list[CostLine] = []
    if env.cluster is not None:
        lines += _cluster_lines(env, region)
    if env.function is not None:
        lines += _function_lines(env, region)
    if plan.has_network:
        nats = env.network.az_count if env.network.nat_gateways == "per-az" else 1
        lines.append(_hourly("NAT gateways", nats, "nat-gateway-hour", region, "NAT gateway"))
    if env.database is not None:
        lines += _database_lines(env, region)
    return EnvironmentCost(env.name, region, tuple(lines))


def estimate_cost(plan: ServicePlan) -> CostEstimate:
    """The monthly cost of every environment the plan creates."""
    region = plan.answers.aws_region
    return CostEstimate(
        environments=tuple(environment_cost(plan, env) for env in plan.environments.values()),
        region=region,
        region_factor=REGION_PRICE_FACTOR[region],
    )
