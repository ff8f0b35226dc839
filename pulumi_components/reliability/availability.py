"""Feasibility: can the generated architecture meet the SLA it was sized for?

The composite availability of the production request path is the product of
the providers' published SLAs of each component on it (in series: every one
must be up), for the deployment mode the plan chose (Multi-AZ or not). When
the plan adds a second region, the regional path is counted twice in parallel
behind failover DNS: 1 - (1 - A)^2. This bounds what the infrastructure
allows; the service's own failures spend the rest of the budget.

Every published figure lives in PUBLISHED_SLAS, with its source, and nowhere
else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .plan import EnvironmentPlan, ServicePlan
from .slo import SLO_PERIOD_MINUTES
from .tiers import TIERS
from .vocabulary import Platform


@dataclass(frozen=True)
class PublishedSla:
    service: str
    covers: str  # the deployment the commitment applies to
    percent: float  # monthly uptime percentage
    source: str


# The date these commitments were read from the providers' SLA pages.
SLA_TABLE_DATE = "2025-06-01"

PUBLISHED_SLAS: dict[str, PublishedSla] = {
    "elb": PublishedSla(
        "Elastic Load Balancing (ALB)", "each region", 99.99, "https://aws.amazon.com/elasticloadbalancing/sla/"
    ),
    "ec2-multi-az": PublishedSla(
        "Amazon EC2 (EKS nodes)",
        "instances in two or more AZs (Region-Level SLA)",
        99.99,
        "https://aws.amazon.com/compute/sla/",
    ),
    "ec2-single": PublishedSla(
        "Amazon EC2 (EKS nodes)", "a single instance (Instance-Level SLA)", 99.5, "https://aws.amazon.com/compute/sla/"
    ),
    "api-gateway": PublishedSla("Amazon API Gateway", "each region", 99.95, "https://aws.amazon.com/api-gateway/sla/"),
    "lambda": PublishedSla("AWS Lambda", "each region", 99.95, "https://aws.amazon.com/lambda/sla/"),
    "rds-multi-az": PublishedSla(
        "Amazon RDS for PostgreSQL", "a Multi-AZ DB instance", 99.95, "https://aws.amazon.com/rds/sla/"
    ),
    "rds-single-az": PublishedSla(
        "Amazon RDS for PostgreSQL", "a Single-AZ DB instance", 99.5, "https://aws.amazon.com/rds/sla/"
    ),
    "eks": PublishedSla(
        "Amazon EKS control plane", "each cluster's Kubernetes API", 99.95, "https://aws.amazon.com/eks/sla/"
    ),
    "route53": PublishedSla(
        "Amazon Route 53 (failover records)", "DNS query answering", 100.0, "https://aws.amazon.com/route53/sla/"
    ),
}


@dataclass(frozen=True)
class PathComponent:
    """One component on the request path and why its SLA row applies."""

    role: str  # "load balancer", "compute", "database", ...
    sla_key: str
    redundancy: str  # what the plan chose, in words

    @property
    def sla(self) -> PublishedSla:
        return PUBLISHED_SLAS[self.sla_key]


@dataclass(frozen=True)
class Feasibility:
    target_percent: float
    components: tuple[PathComponent, ...]  # one region's request path, in request order
    regions: int
    dr_region: str
    region_percent: float  # one region's path, exact
    composite_percent: float  # with the regions in parallel, exact
    remedies: tuple[str, ...]  # what would reach the target, each with the figure it gives
    off_path: tuple[PathComponent, ...] = ()  # generated, committed to an SLA, but not serving requests

    sla_table_date = SLA_TABLE_DATE
    failover_dns = PUBLISHED_SLAS["route53"]

    @property
    def reachable(self) -> bool:
        return self.composite_percent >= self.target_percent - 1e-9

    @property
    def composite_display(self) -> str:
        return percent_display(self.composite_percent)

    @property
    def region_display(self) -> str:
        return percent_display(self.region_percent)

    @property
    def allowed_downtime_minutes(self) -> float:
        """Minutes per 30 days the infrastructure's commitments allow it to be down."""
        return round((1 - self.composite_percent / 100) * SLO_PERIOD_MINUTES, 2)

    @property
    def budget_share_percent(self) -> float:
        """How much of the service's error budget the infrastructure alone may spend."""
        return round(100 * (1 - self.composite_percent / 100) / (1 - self.target_percent / 100), 1)

    @property
    def weakest(self) -> PathComponent:
        return min(self.components, key=lambda c: c.sla.percent)

    @property
    def shortfall(self) -> str:
        """Why the target is out of reach; '' when it is reachable."""
        if self.reachable:
            return ""
        return (
            f"sla {_fmt(self.target_percent)} is not reachable with these answers: the request path "
            f"({' x '.join(_fmt(c.sla.percent) for c in self.components)}"
            f"{' in ' + str(self.regions) + ' regions' if self.regions > 1 else ''}) composes to "
            f"{self.composite_display}%, limited by {self.weakest.sla.service} at {_fmt(self.weakest.sla.percent)}%."
        )

    @property
    def reason(self) -> str:
        """The shortfall and what would reach the target; '' when it is reachable."""
        if self.reachable:
            return ""
        return " ".join([self.shortfall, "; or ".join(self.remedies) + "."])


def _fmt(percent: float) -> str:
    return f"{percent:g}"


def percent_display(percent: float) -> str:
    """Four decimals, rounded down: an availability is never shown better than it is."""
    return f"{math.floor(percent * 10_000 + 1e-6) / 10_000:.4f}"


def _series(components: tuple[PathComponent, ...]) -> float:
    fraction = 1.0
    for component in components:
        fraction *= component.sla.percent / 100
    return fraction


FAILOVER_DNS = PathComponent("failover DNS", "route53", "health-checked failover records")


def _compose(components: tuple[PathComponent, ...], regions: int) -> tuple[float, float]:
    """(one region's path, the whole service): regions in parallel behind failover DNS."""
    region = _series(components)
    if regions == 1:
        return 100 * region, 100 * region
    composite = _series((FAILOVER_DNS,)) * (1 - (1 - region) ** regions)
    return 100 * region, 100 * composite


def request_path(plan: ServicePlan, env: EnvironmentPlan | None = None) -> tuple[PathComponent, ...]:
    """The components a user request crosses in one region, with the SLA row the plan's
    redundancy earns each."""
    env = env or plan.prod
    path: list[PathComponent] = []
    if plan.answers.platform == Platform.AWS_EKS:
        spread = env.network.az_count >= 2 and env.workload.replicas_min >= 2
        path.append(PathComponent("load balancer", "elb", f"spans {env.network.az_count} AZs"))
        path.append(
            PathComponent(
                "compute",
                "ec2-multi-az" if spread else "ec2-single",
                f"{env.workload.replicas_min}+ pods over {env.network.az_count} AZs"
                if spread
                else "one replica in one AZ",
            )
        )
    else:
        path.append(PathComponent("HTTP API", "api-gateway", "regional endpoint"))
        path.append(PathComponent("compute", "lambda", "runs across the region's AZs"))
    if env.database is not None:
        multi_az = env.database.multi_az
        path.append(
            PathComponent(
                "database",
                "rds-multi-az" if multi_az else "rds-single-az",
                "synchronous standby in a second AZ" if multi_az else "one instance, one AZ",
            )
        )
    return tuple(path)


def _remedies(plan: ServicePlan, path: tuple[PathComponent, ...], regions: int) -> tuple[str, ...]:
    """Each change the plan could make that reaches the target, with the figure it gives."""
    target = plan.answers.sla
    options: list[str] = []
    if any(c.sla_key == "rds-single-az" for c in path):
        multi = tuple(replace(c, sla_key="rds-multi-az") if c.sla_key == "rds-single-az" else c for c in path)
        _, percent = _compose(multi, regions)
        if percent >= target:
            from_sla = next(t.min_sla for t in TIERS if t.db_multi_az)
            options.append(
                f"a Multi-AZ database (planned from sla {_fmt(from_sla)}) would give {percent_display(percent)}%"
            )
    if regions == 1:
        _, percent = _compose(path, 2)
        if percent >= target:
            from_sla = next(t.min_sla for t in TIERS if t.cross_region_replica)
            options.append(
                f"{_fmt(target)} needs a second region: failover to {plan.answers.failover_region} "
                f"(planned from sla {_fmt(from_sla)}) would give {percent_display(percent)}%"
            )
    if any(c.role == "database" for c in path):
        without = tuple(c for c in path if c.role != "database")
        _, percent = _compose(without, regions)
        if percent >= target:
            options.append(
                f"keeping the database off the synchronous request path (cache or queue in front) "
                f"would give {percent_display(percent)}%"
            )
    if not options:
        options.append(
            f"no single change to this architecture reaches {_fmt(target)}; a lower sla or an "
            "active-active design across regions is needed"
        )
    return tuple(options)


def feasibility(plan: ServicePlan) -> Feasibility:
    """The production request path's composite availability against the SLA."""
    prod = plan.prod
    path = request_path(plan, prod)
    regions = 2 if prod.recovery.multi_region else 1
    region_percent, composite_percent = _compose(path, regions)
    off_path = (
        (PathComponent("cluster API", "eks", "deploys and scaling stop while it is down; running pods keep serving"),)
        if plan.answers.platform == Platform.AWS_EKS
        else ()
    )
    result = Feasibility(
        off_path=off_path,
        target_percent=plan.answers.sla,
        components=path,
        regions=regions,
        dr_region=prod.recovery.dr_region if regions > 1 else "",
        region_percent=region_percent,
        composite_percent=composite_percent,
        remedies=(),
    )
    if result.reachable:
        return result
    return replace(result, remedies=_remedies(plan, path, regions))
