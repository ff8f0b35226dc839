"""Feasibility: can the generated architecture meet the SLA it was sized for?

One region's request path is estimated as the product of the providers'
published SLAs of each component on it (in series: every one must be up), for
the deployment mode the plan chose (Multi-AZ or not). Those SLAs are credit
thresholds, not measurements, and some count time while others count requests:
the product is an estimate of the downtime the commitments tolerate, not a
ceiling on what the service achieves.

A second region helps only as much as the failover the repository actually
builds. Each kind of failover (`FAILOVER_KINDS`: none, cold standby, warm
standby, active-active) is charged the minutes it really takes per regional
incident (detection, decision, promotion, provisioning, DNS, warm-up), from the
stated assumptions about how often a region fails and for how long
(`REGIONAL_INCIDENTS`). A plan claims a figure only for the kind it builds
(`RecoveryPlan.failover`); the deployability rule `failover-claim-backed` checks
the stacks contain what that kind needs.

Every published figure lives in PUBLISHED_SLAS, with its source, and nowhere
else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .plan import EnvironmentPlan, ServicePlan
from .slo import SLO_PERIOD_DAYS, SLO_PERIOD_MINUTES
from .tiers import TIERS
from .vocabulary import Kind, Platform


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


# ---- Regional incidents and failover ------------------------------------------------------------

# AWS publishes a post-event summary for each event with broad regional impact. us-east-1 alone
# has several multi-hour ones (2020-11-25 Kinesis, 2021-12-07 internal network, 2023-06-13 Lambda,
# 2025-10-20 DynamoDB DNS), so one a year, lasting six hours, is the assumption: cautious for most
# regions. A team replaces it with its own region's history.
PES_SOURCE = "https://aws.amazon.com/premiumsupport/technology/pes/"
ROUTE53_HEALTH_SOURCE = (
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html"
)
REPLICA_PROMOTION_SOURCE = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Promote.html"
EKS_CREATE_SOURCE = "https://docs.aws.amazon.com/eks/latest/userguide/create-cluster.html"
ALIAS_TTL_SOURCE = (
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html"
)
ASSUMED = "assumption, until the DR rehearsal measures it"


@dataclass(frozen=True)
class RegionalIncidents:
    """How often the primary region fails as a whole, and for how long: the events a second
    region exists for. Everything else in the SLA estimate is a component failure that ends
    before a failover could."""

    per_year: float
    duration_minutes: float
    basis: str
    source: str

    @property
    def per_period(self) -> float:
        """Expected incidents in one 30-day SLO period."""
        return self.per_year * SLO_PERIOD_DAYS / 365

    @property
    def minutes_per_period(self) -> float:
        return self.per_period * self.duration_minutes


REGIONAL_INCIDENTS = RegionalIncidents(
    per_year=1.0,
    duration_minutes=360.0,
    basis="AWS's post-event summaries list several multi-hour regional events in us-east-1 alone "
    "(2020-11-25, 2021-12-07, 2023-06-13, 2025-10-20); replace with your region's history",
    source=PES_SOURCE,
)


@dataclass(frozen=True)
class FailoverStep:
    """One step between a region failing and users being served from the other one."""

    name: str
    minutes: float
    automated: bool
    basis: str  # where the figure comes from
    automated_minutes: float = 0.0  # what the step takes when a machine does it; never more than `minutes`

    def __post_init__(self) -> None:
        if self.automated_minutes > self.minutes:
            raise ValueError(f"{self.name}: automating a step cannot make it slower")

    def automate(self) -> FailoverStep:
        return replace(self, minutes=self.automated_minutes, automated=True)


@dataclass(frozen=True)
class FailoverKind:
    key: str  # one of FAILOVER_ORDER
    title: str
    how: str  # what happens, in one sentence
    steps: tuple[FailoverStep, ...] = ()
    serves_in_parallel: bool = False  # both regions take traffic all the time

    @property
    def minutes(self) -> float:
        """Time from a regional incident to users being served again."""
        return round(sum(step.minutes for step in self.steps), 2)

    @property
    def manual_steps(self) -> tuple[FailoverStep, ...]:
        return tuple(step for step in self.steps if not step.automated)

    def automate(self, name: str) -> FailoverKind:
        """The same failover with the named step done by a machine."""
        return replace(self, steps=tuple(s.automate() if s.name == name else s for s in self.steps))


# Weakest to strongest: a plan may claim any kind up to the one its stacks contain.
FAILOVER_ORDER = ("none", "cold-standby", "warm-standby", "active-active")


def _page_minutes(plan: ServicePlan) -> float:
    """When the fast-burn page fires on a total outage: the windows' crossing, whole minutes,
    plus one evaluation (as the promtool test of the page expects)."""
    seconds = plan.availability.alerts[0].detection_seconds(1.0) or 0.0
    return math.ceil(seconds / 60) + 1


def failover_kind(plan: ServicePlan, key: str) -> FailoverKind:
    """The steps one kind of failover takes for this plan's platform and database, with minutes."""
    from .incident import ESCALATION

    eks = plan.answers.platform == "aws-eks"
    database = plan.prod.database is not None
    health_check = FailoverStep(
        "detection (Route 53 health check)", 1.5, True, f"3 failed checks 30 s apart ({ROUTE53_HEALTH_SOURCE})", 1.5
    )
    dns = FailoverStep(
        "DNS (clients follow the record)",
        1.0,
        True,
        f"alias records to AWS targets answer with a 60 s TTL ({ALIAS_TTL_SOURCE})",
        1.0,
    )
    promotion = (
        (
            FailoverStep(
                "replica promotion",
                10.0,
                True,
                f"'several minutes' per AWS ({REPLICA_PROMOTION_SOURCE}); {ASSUMED}",
                10.0,
            ),
        )
        if database
        else ()
    )
    warm_up = FailoverStep(
        "warm-up",
        3.0 if eks else 1.0,
        True,
        ("pods start and the load balancer registers them" if eks else "cold starts of the first requests")
        + f"; {ASSUMED}",
        3.0 if eks else 1.0,
    )
    if key == "none":
        return FailoverKind("none", "none", "users wait for the region to recover")
    if key == "active-active":
        return FailoverKind(
            key,
            "active-active",
            "both regions serve all the time; health checks take a failing region out of DNS",
            (health_check, dns),
            serves_in_parallel=True,
        )
    if key == "warm-standby":
        return FailoverKind(
            key,
            "warm standby, automatic failover",
            "the standby region runs the service at minimum size; a failed health check "
            + ("promotes the replica and " if database else "")
            + "moves DNS without a person",
            (health_check, *promotion, dns, warm_up),
        )
    if key != "cold-standby":
        raise ValueError(f"unknown failover kind {key!r}; accepted: {', '.join(FAILOVER_ORDER)}")
    page = _page_minutes(plan)
    acknowledge = ESCALATION[1].after_minutes  # the primary on-call's time before the secondary is paged
    return FailoverKind(
        key,
        "cold standby, failover by a person",
        ("the DR region holds the network" if plan.has_network else "nothing runs in the DR region")
        + (" and a replica of the database" if database else "")
        + "; on a regional incident a person decides to fail over and dispatches the workflow that "
        + ("promotes the replica and " if database else "")
        + "creates the service there; the primary's health check moves DNS once the secondary record exists",
        (
            FailoverStep(
                "detection (burn-rate page)", float(page), True, "the fast-burn page on a total outage", float(page)
            ),
            FailoverStep(
                "acknowledgement", float(acknowledge), False, "the primary's time before the secondary is paged"
            ),
            FailoverStep(
                "decision",
                15.0,
                False,
                "the incident commander confirms a regional event (AWS Health, other services) and decides; " + ASSUMED,
            ),
            *promotion,
            FailoverStep(
                "provisioning (pulumi up of the DR stack)",
                35.0 if eks else 5.0,
                True,
                (
                    f"cluster, node group, add-ons, load balancer ({EKS_CREATE_SOURCE})"
                    if eks
                    else "function, API, domain"
                )
                + f"; {ASSUMED}",
                35.0 if eks else 5.0,
            ),
            dns,
            warm_up,
        ),
    )


def downtime_minutes(region_fraction: float, kind: FailoverKind, incidents: RegionalIncidents) -> float:
    """Expected minutes down per 30 days for one region's availability `region_fraction` behind
    failover of `kind`. Regional incidents are part of the region's estimate (never more than all
    of it); failover shortens each to its own duration. Component failures are short and end
    before a failover could, except in active-active, where both regions must fail at once."""
    single = (1 - region_fraction) * SLO_PERIOD_MINUTES
    if kind.key == "none":
        return single
    regional = min(single, incidents.minutes_per_period)
    component = single - regional
    # Failover ends each incident after its own minutes: the regional share shrinks by that ratio.
    shortened = regional * min(incidents.duration_minutes, kind.minutes) / incidents.duration_minutes
    if kind.serves_in_parallel:
        # Each region's component failures overlap with the other's at random; a regional incident
        # fails the half of the traffic the failing region answered until DNS drops it.
        return component * component / SLO_PERIOD_MINUTES + shortened / 2
    return component + shortened


# ---- The request path ---------------------------------------------------------------------------


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
class Alternative:
    kind: FailoverKind
    percent: float
    built: bool  # the failover this repository builds

    @property
    def display(self) -> str:
        return percent_display(self.percent)


@dataclass(frozen=True)
class Feasibility:
    target_percent: float
    components: tuple[PathComponent, ...]  # one region's request path, in request order
    regions: int
    dr_region: str
    region_percent: float  # one region's path, exact
    composite_percent: float  # with the failover the plan builds, exact
    remedies: tuple[str, ...]  # what would reach the target, each with the figure it gives
    off_path: tuple[PathComponent, ...] = ()  # generated, committed to an SLA, but not serving requests
    failover: FailoverKind = FailoverKind("none", "none", "users wait for the region to recover")
    incidents: RegionalIncidents = REGIONAL_INCIDENTS
    alternatives: tuple[Alternative, ...] = ()  # every kind of failover, with the estimate it would give
    one_region_because: str = ""  # why this repository can build no failover at any tier

    sla_table_date = SLA_TABLE_DATE
    failover_dns = PUBLISHED_SLAS["route53"]
    period_minutes = SLO_PERIOD_MINUTES

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
        """Minutes per 30 days the estimate expects the infrastructure to be down."""
        return round((1 - self.composite_percent / 100) * SLO_PERIOD_MINUTES, 2)

    @property
    def region_downtime_minutes(self) -> float:
        return round((1 - self.region_percent / 100) * SLO_PERIOD_MINUTES, 2)

    @property
    def regional_minutes(self) -> float:
        """The part of one region's estimate the assumed regional incidents account for."""
        return round(min(self.region_downtime_minutes, self.incidents.minutes_per_period), 2)

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
        path = " x ".join(_fmt(c.sla.percent) for c in self.components)
        if self.regions == 1:
            return (
                f"sla {_fmt(self.target_percent)} is not reachable with these answers: the request path "
                f"({path}) composes to {self.composite_display}%, limited by {self.weakest.sla.service} "
                f"at {_fmt(self.weakest.sla.percent)}%"
                + (f"; {self.one_region_because}." if self.one_region_because else ".")
            )
        return (
            f"sla {_fmt(self.target_percent)} is not reachable with what this repository builds: the request path "
            f"({path}) composes to {self.region_display}% per region, and the {self.failover.title} to "
            f"{self.dr_region} takes {self.failover.minutes:g} min per regional incident "
            f"({_fmt(self.incidents.per_year)} a year of {self.incidents.duration_minutes / 60:g} h assumed), "
            f"which estimates {self.composite_display}%."
        )

    @property
    def reason(self) -> str:
        """The shortfall and what would reach the target; '' when it is reachable."""
        if self.reachable:
            return ""
        remedies = "; or ".join(self.remedies)
        return f"{self.shortfall} {remedies[0].upper()}{remedies[1:]}."


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


def _compose(
    components: tuple[PathComponent, ...], kind: FailoverKind, incidents: RegionalIncidents = REGIONAL_INCIDENTS
) -> tuple[float, float]:
    """(one region's path, the whole service behind the failover of `kind`), in percent."""
    region = _series(components)
    if kind.key == "none":
        return 100 * region, 100 * region
    down = downtime_minutes(region, kind, incidents)
    return 100 * region, 100 * PUBLISHED_SLAS["route53"].percent / 100 * (1 - down / SLO_PERIOD_MINUTES)


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


def _stronger_failovers(plan: ServicePlan, path: tuple[PathComponent, ...], built: str) -> list[str]:
    """Each kind of failover stronger than the one built that reaches the target, with its figure."""
    target = plan.answers.sla
    dr = plan.answers.failover_region
    options = []
    for key in FAILOVER_ORDER[FAILOVER_ORDER.index(built) + 1 :]:
        kind = failover_kind(plan, key)
        _, percent = _compose(path, kind)
        if percent < target:
            continue
        if key == "cold-standby" and plan.answers.builds_standby:
            from_sla = next(t.min_sla for t in TIERS if t.failover == "cold-standby")
            what = f"a cold standby in {dr} (planned from sla {_fmt(from_sla)}; {kind.minutes:g} min per incident)"
        elif key == "cold-standby":
            what = f"a cold standby in {dr} ({kind.minutes:g} min per incident)"
        elif key == "warm-standby":
            what = (
                f"a warm standby in {dr} with health-checked automatic failover ({kind.minutes:g} min per incident; "
                "running compute and automated promotion, which this template does not build)"
            )
        else:
            what = (
                f"active-active serving in {plan.answers.aws_region} and {dr} (needs "
                + (
                    "a database that accepts writes in both regions, which RDS PostgreSQL does not, and "
                    if plan.prod.database
                    else ""
                )
                + "latency or weighted records, which this template does not build)"
            )
        options.append(f"{what} would give {percent_display(percent)}%")
    return options


def _one_region_because(plan: ServicePlan) -> str:
    """Why no failover can be built here (Answers.builds_standby), whatever the tier; '' when one can."""
    if plan.answers.builds_standby:
        return ""
    if plan.answers.kind == Kind.PLATFORM:
        return "a platform runs in one region; a failover needs a second platform, which this template does not build"
    return (
        "the service runs on the platform team's shared cluster, in one region; any failover needs a platform "
        f"in {plan.answers.failover_region} first"
    )


def _remedies(plan: ServicePlan, path: tuple[PathComponent, ...], kind: FailoverKind) -> tuple[str, ...]:
    """Each change the plan could make that reaches the target, with the figure it gives."""
    target = plan.answers.sla
    options: list[str] = []
    if any(c.sla_key == "rds-single-az" for c in path):
        multi = tuple(replace(c, sla_key="rds-multi-az") if c.sla_key == "rds-single-az" else c for c in path)
        _, percent = _compose(multi, kind)
        if percent >= target:
            from_sla = next(t.min_sla for t in TIERS if t.db_multi_az)
            options.append(
                f"a Multi-AZ database (planned from sla {_fmt(from_sla)}) would give {percent_display(percent)}%"
            )
    options += _stronger_failovers(plan, path, kind.key)
    if any(c.role == "database" for c in path):
        without = tuple(c for c in path if c.role != "database")
        _, percent = _compose(without, kind)
        if percent >= target:
            options.append(
                f"keeping the database off the synchronous request path (cache or queue in front) "
                f"would give {percent_display(percent)}%"
            )
    if not options:
        options.append(
            f"no single change to this architecture reaches {_fmt(target)}; a lower sla, or active-active "
            "serving with fewer synchronous dependencies, is needed"
        )
    return tuple(options)


def feasibility(plan: ServicePlan) -> Feasibility:
    """The production request path's estimated availability against the SLA, counting only the
    failover the plan builds."""
    prod = plan.prod
    path = request_path(plan, prod)
    kind = failover_kind(plan, prod.recovery.failover)
    region_percent, composite_percent = _compose(path, kind)
    off_path = (
        (PathComponent("cluster API", "eks", "deploys and scaling stop while it is down; running pods keep serving"),)
        if plan.answers.platform == Platform.AWS_EKS
        else ()
    )
    result = Feasibility(
        off_path=off_path,
        target_percent=plan.answers.sla,
        components=path,
        regions=1 if kind.key == "none" else 2,
        dr_region="" if kind.key == "none" else prod.recovery.dr_region,
        region_percent=region_percent,
        composite_percent=composite_percent,
        remedies=(),
        failover=kind,
        one_region_because=_one_region_because(plan),
        alternatives=tuple(
            Alternative(kind, _compose(path, kind)[1], kind.key == prod.recovery.failover)
            for kind in (failover_kind(plan, key) for key in FAILOVER_ORDER)
        ),
    )
    if result.reachable:
        return result
    return replace(result, remedies=_remedies(plan, path, kind))
