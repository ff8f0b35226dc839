"""Answers in, a typed plan for every environment out.

Production takes its tier as it is (`tiers.py`); what staging and dev change
from it is one table, `environments.py`. Every way an environment is weaker
than production is named in its `relaxations`, which the guardrails accept
and nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .answers import AWS_REGION_AZS, Answers
from .environments import ENVIRONMENT_PROFILES, TimesMin, or_tier, relaxations
from .slo import Objective, availability_objective, latency_buckets_seconds, latency_objective
from .tiers import Tier, tier_for
from .vocabulary import Kind

KUBERNETES_VERSION = "1.34"
POSTGRES_ENGINE_VERSION = "17"
ANALYSIS_INTERVAL_SECONDS = 30
ANALYSIS_FAILURE_LIMIT = 1  # abort on the second failed measurement
PROMETHEUS_SCRAPE_INTERVAL_SECONDS = 30
# Daily ingest of one service's cluster: ~400k active series at 30s scrapes (~1.5 bytes a
# sample after compression), and its logs.
PROMETHEUS_GB_PER_DAY = 2.0
LOKI_GB_PER_DAY = 1.0
# Blue-green: measurements taken against the preview before promotion, and again after.
ANALYSIS_COUNT = 4
# The analysis queries' rate() window: four scrapes, so one missed scrape never empties it.
ANALYSIS_WINDOW_SECONDS = 4 * PROMETHEUS_SCRAPE_INTERVAL_SECONDS
# Lambda deployments: CloudWatch alarm period and how many breaching periods roll back.
LAMBDA_ALARM_PERIOD_SECONDS = 60
LAMBDA_ALARM_DATAPOINTS = 1

# The edge. What one pod at the plan's CPU request is sized to serve (the HPA adds pods above
# hpa_cpu_percent of it); no single client IP may take more than WAF_CLIENT_SHARE of what the
# workload serves at full scale, counted over WAF's trailing window (60, 120, 300 or 600 s).
POD_REQUESTS_PER_SECOND = 50
WAF_CLIENT_SHARE = 0.1
WAF_RATE_WINDOW_SECONDS = 300
WAF_RATE_LIMIT_RANGE = (10, 2_000_000_000)  # what a WAF rate-based rule accepts

MONITORING_COMPONENTS: dict[str, tuple[str, ...]] = {
    "basic": ("prometheus", "alertmanager"),
    "standard": ("prometheus", "alertmanager", "grafana", "loki", "alloy", "blackbox-exporter"),
    "comprehensive": (
        "prometheus",
        "alertmanager",
        "grafana",
        "loki",
        "alloy",
        "tempo",
        "opentelemetry-collector",
        "blackbox-exporter",
    ),
}

DR_CIDR = "10.130.0.0/16"  # the DR region's VPC; distinct from every environment so they can peer


@dataclass(frozen=True)
class NetworkPlan:
    cidr: str
    az_count: int
    nat_gateways: str  # "single" or "per-az"
    flow_log_retention_days: int


@dataclass(frozen=True)
class ClusterPlan:
    kubernetes_version: str
    node_instance_types: tuple[str, ...]
    node_min: int
    node_desired: int
    node_max: int
    public_access_cidrs: tuple[str, ...] = ()  # empty: the API endpoint is private only
    node_disk_gb: int = 50  # root volume of each node: image layers and container logs
    deletion_protection: bool = False  # EKS refuses to delete the cluster while on


@dataclass(frozen=True)
class WorkloadPlan:
    replicas_min: int
    replicas_max: int
    pdb_min_available: int
    max_surge_percent: int
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    hpa_cpu_percent: int
    hpa_memory_percent: int


@dataclass(frozen=True)
class DatabasePlan:
    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    point_in_time_recovery: bool
    deletion_protection: bool
    final_snapshot: bool
    performance_insights_retention_days: int
    monitoring_interval_seconds: int
    replica_region: str  # "" when there is no cross-region replica
    replica_multi_az: bool = False  # the replica (and so the promoted DR database) spans two AZs
    backup_window: str = "03:00-04:00"
    maintenance_window: str = "sun:04:30-sun:05:30"


@dataclass(frozen=True)
class FunctionPlan:
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int
    provisioned_concurrency: int
    api_throttle_rate: int  # steady-state requests per second on the HTTP API
    api_throttle_burst: int


@dataclass(frozen=True)
class EdgePlan:
    """Where the internet reaches the service: its name in the team's hosted zone, served
    over HTTPS only, and (on EKS) the web ACL in front of the load balancer."""

    zone: str  # the Route 53 public hosted zone (the `domain` answer) holding the records
    hostname: str  # the service's name in this environment; the certificate is issued for it
    waf_rate_limit: int = 0  # requests per client IP per window before WAF blocks; 0: no web ACL (Lambda)
    waf_rate_window_seconds: int = WAF_RATE_WINDOW_SECONDS
    # Managed rules (e.g. SizeRestrictions_BODY for larger request bodies) that only count here.
    waf_count_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class RolloutPlan:
    strategy: str
    canary_steps: tuple[int, ...]
    pause_seconds: int
    analysis_interval_seconds: int
    analysis_failure_limit: int
    max_error_ratio: float  # the canary may not burn budget faster than the page rate
    max_latency_p99_seconds: float
    scale_down_delay_seconds: int
    max_surge_percent: int
    analysis_count: int = ANALYSIS_COUNT  # blue-green pre- and post-promotion measurements
    analysis_window_seconds: int = ANALYSIS_WINDOW_SECONDS

    @property
    def full_rollout_seconds(self) -> int:
        """End-to-end time of a healthy rollout: every pause between steps for canary;
        the pre-promotion analysis of the preview plus the post-promotion analysis of the
        new active colour for blue-green; rolling waits on readiness only."""
        if self.strategy == "canary":
            return self.pause_seconds * (len(self.canary_steps) - 1)
        if self.strategy == "blue-green":
            return 2 * self.analysis_count * self.analysis_interval_seconds
        return 0

    def rollback_decision_seconds_at(self, error_ratio: float) -> float | None:
        """Worst case from a step regression to `error_ratio` on the new pods to the abort:
        a scrape to see it, the time the rate window needs to cross the threshold, then
        failure_limit + 1 failed measurements. None when analysis would never fail."""
        if self.strategy == "rolling" or error_ratio <= self.max_error_ratio:
            return None
        crossing = self.max_error_ratio * self.analysis_window_seconds / error_ratio
        return round(
            PROMETHEUS_SCRAPE_INTERVAL_SECONDS
            + crossing
            + self.analysis_interval_seconds * (self.analysis_failure_limit + 1),
            1,
        )

    @property
    def lambda_shift_interval_minutes(self) -> int:
        """CodeDeploy counts canary and linear intervals in whole minutes: the pause, rounded up."""
        return max(1, -(-self.pause_seconds // 60))

    @property
    def lambda_linear_percent(self) -> int:
        """Rolling on Lambda shifts the same share of traffic per step as pods surge on Kubernetes."""
        return self.max_surge_percent

    @property
    def lambda_full_rollout_seconds(self) -> int:
        """Canary: one interval at the first weight, then all traffic; linear: one interval
        per step until 100%; all-at-once: shifts as soon as the pre-traffic check passes."""
        interval = self.lambda_shift_interval_minutes * 60
        if self.strategy == "canary":
            return interval
        if self.strategy == "rolling":
            return interval * (-(-100 // self.lambda_linear_percent) - 1)
        return 0

    @property
    def lambda_traffic_steps(self) -> tuple[tuple[int, int], ...]:
        """CodeDeploy's shifts of the alias: (seconds after the start, percent on the new version)."""
        interval = self.lambda_shift_interval_minutes * 60
        if self.strategy == "canary":
            return ((0, self.canary_steps[0]), (interval, 100))
        if self.strategy == "rolling":
            count = -(-100 // self.lambda_linear_percent)
            return tuple((i * interval, min(100, (i + 1) * self.lambda_linear_percent)) for i in range(count))
        return ((0, 100),)

    @property
    def lambda_alarm_period_seconds(self) -> int:
        return LAMBDA_ALARM_PERIOD_SECONDS

    @property
    def lambda_quiet_canary_requests(self) -> int:
        """Requests a period on the new version below which one failed request alone is above
        `max_error_ratio`: the resolution of a per-version gate on a canary that gets little traffic."""
        return math.ceil(1 / self.max_error_ratio)

    @property
    def lambda_rollback_decision_seconds(self) -> int:
        """A regression can start just after a period began: that period may not breach,
        the next LAMBDA_ALARM_DATAPOINTS must."""
        return LAMBDA_ALARM_PERIOD_SECONDS * (LAMBDA_ALARM_DATAPOINTS + 1)

    @property
    def rollback_decision_seconds(self) -> int:
        """From a regression starting to the abort: a scrape for the errors to be seen,
        then failure_limit + 1 failed measurements."""
        if self.strategy == "rolling":
            return 0  # no analysis: rolling relies on readiness probes and alerts
        return PROMETHEUS_SCRAPE_INTERVAL_SECONDS + self.analysis_interval_seconds * (self.analysis_failure_limit + 1)


@dataclass(frozen=True)
class RecoveryPlan:
    rto_minutes: int
    rpo_minutes: int
    multi_region: bool
    dr_region: str
    failover: str = "none"  # availability.FAILOVER_ORDER: how a regional failover happens

    @property
    def fails_over(self) -> bool:
        """A regional failover exists: a standby, its DNS records and the failover workflow."""
        return self.failover != "none"


@dataclass(frozen=True)
class MonitoringPlan:
    level: str
    components: tuple[str, ...]
    prometheus_replicas: int
    alertmanager_replicas: int
    prometheus_retention_days: int
    log_retention_days: int
    pages: bool  # only production pages; other environments open tickets
    # Persistent volume sizes for the in-cluster stores, from retention x daily ingest.
    prometheus_storage_gb: int = 50
    loki_storage_gb: int = 50


@dataclass(frozen=True)
class EnvironmentPlan:
    name: str
    tier: str
    network: NetworkPlan
    workload: WorkloadPlan
    recovery: RecoveryPlan
    rollout: RolloutPlan
    monitoring: MonitoringPlan
    log_retention_days: int
    tags: dict[str, str]
    relaxations: tuple[str, ...]
    cluster: ClusterPlan | None = None
    database: DatabasePlan | None = None
    function: FunctionPlan | None = None
    edge: EdgePlan | None = None


@dataclass(frozen=True)
class ServicePlan:
    answers: Answers
    tier: Tier
    availability: Objective
    latency: Objective
    latency_buckets_seconds: tuple[float, ...]
    environments: dict[str, EnvironmentPlan] = field(default_factory=dict)

    @property
    def prod(self) -> EnvironmentPlan:
        return self.environments["prod"]

    @property
    def has_network(self) -> bool:
        return self.answers.needs_network


def _network(env: str, tier: Tier) -> NetworkPlan:
    profile = ENVIRONMENT_PROFILES[env]
    return NetworkPlan(
        cidr=profile.cidr,
        az_count=or_tier(profile.az_count, tier.az_count),
        nat_gateways="per-az" if or_tier(profile.nat_per_az, tier.nat_per_az) else "single",
        flow_log_retention_days=profile.log_retention_days,
    )


def _workload(env: str, tier: Tier) -> WorkloadPlan:
    profile = ENVIRONMENT_PROFILES[env]
    replicas_min = or_tier(profile.replicas_min, tier.replicas_min)
    replicas_max = or_tier(profile.replicas_max, tier.replicas_max)
    if isinstance(replicas_max, TimesMin):
        replicas_max = replicas_min * replicas_max.factor
    return WorkloadPlan(
        replicas_min=replicas_min,
        replicas_max=replicas_max,
        pdb_min_available=replicas_min - 1,
        max_surge_percent=25,
        cpu_request="250m",
        cpu_limit="1",
        memory_request="256Mi",
        memory_limit="512Mi",
        hpa_cpu_percent=70,
        hpa_memory_percent=80,
    )


def _cluster(env: str, network: NetworkPlan, workload: WorkloadPlan) -> ClusterPlan:
    # At least one node per AZ so topology spread can place a replica in each.
    node_min = network.az_count
    profile = ENVIRONMENT_PROFILES[env]
    return ClusterPlan(
        kubernetes_version=KUBERNETES_VERSION,
        node_instance_types=profile.node_instance_types,
        node_min=node_min,
        node_desired=max(node_min, workload.replicas_min),
        node_max=max(node_min * 2, workload.replicas_max),
        node_disk_gb=profile.node_disk_gb,
        deletion_protection=profile.cluster_deletion_protection,
    )


def _database(env: str, tier: Tier, answers: Answers) -> DatabasePlan:
    profile = ENVIRONMENT_PROFILES[env]
    replica = or_tier(profile.cross_region_replica, tier.cross_region_replica)
    return DatabasePlan(
        engine_version=POSTGRES_ENGINE_VERSION,
        instance_class=or_tier(profile.db_instance_class, tier.db_instance_class),
        allocated_storage_gb=profile.db_allocated_storage_gb,
        max_allocated_storage_gb=profile.db_max_allocated_storage_gb,
        multi_az=or_tier(profile.db_multi_az, tier.db_multi_az),
        backup_retention_days=or_tier(profile.db_backup_retention_days, tier.backup_retention_days),
        point_in_time_recovery=True,
        deletion_protection=profile.db_deletion_protection,
        final_snapshot=profile.db_final_snapshot,
        performance_insights_retention_days=7,
        monitoring_interval_seconds=profile.db_monitoring_interval_seconds,
        replica_region=answers.failover_region if replica else "",
        replica_multi_az=replica and tier.replica_multi_az,
    )


def replica_network(env: EnvironmentPlan) -> NetworkPlan | None:
    """The VPC in the database's replica region, derived from the environment's own
    network: its isolated subnets hold the replica, the rest is the landing zone a
    failover deploys the workload into, with one NAT gateway until then."""
    if env.database is None or not env.database.replica_region:
        return None
    return NetworkPlan(
        cidr=DR_CIDR,
        az_count=min(env.network.az_count, AWS_REGION_AZS.get(env.database.replica_region, 2)),
        nat_gateways="single",
        flow_log_retention_days=env.network.flow_log_retention_days,
    )


def _function(env: str, tier: Tier) -> FunctionPlan:
    profile = ENVIRONMENT_PROFILES[env]
    reserved = or_tier(profile.function_reserved_concurrency, tier.lambda_reserved_concurrency)
    return FunctionPlan(
        memory_mb=profile.function_memory_mb,
        timeout_seconds=15,
        reserved_concurrency=reserved,
        provisioned_concurrency=or_tier(profile.function_provisioned_concurrency, tier.lambda_provisioned_concurrency),
        api_throttle_rate=reserved * 10,
        api_throttle_burst=reserved * 20,
    )


def waf_rate_limit(workload: WorkloadPlan, window_seconds: int = WAF_RATE_WINDOW_SECONDS) -> int:
    """Requests one client IP may send per window: its share of the workload at full scale."""
    low, high = WAF_RATE_LIMIT_RANGE
    limit = math.ceil(workload.replicas_max * POD_REQUESTS_PER_SECOND * WAF_CLIENT_SHARE * window_seconds)
    return min(high, max(low, limit))


def _edge(env: str, answers: Answers, workload: WorkloadPlan) -> EdgePlan:
    eks = answers.platform == "aws-eks"
    return EdgePlan(
        zone=answers.domain,
        hostname=answers.hostname(env),
        # An API Gateway HTTP API cannot carry a web ACL; its stage throttles instead (FunctionPlan).
        waf_rate_limit=waf_rate_limit(workload) if eks else 0,
    )


def _rollout(tier: Tier, answers: Answers, availability: Objective) -> RolloutPlan:
    return RolloutPlan(
        strategy=answers.deployment_strategy,
        canary_steps=tier.canary_steps,
        pause_seconds=tier.canary_pause_seconds,
        analysis_interval_seconds=ANALYSIS_INTERVAL_SECONDS,
        analysis_failure_limit=ANALYSIS_FAILURE_LIMIT,
        max_error_ratio=round(availability.alerts[0].threshold, 10),
        max_latency_p99_seconds=answers.latency_slo_ms / 1000,
        scale_down_delay_seconds=tier.blue_green_scale_down_delay_seconds,
        max_surge_percent=25,
        analysis_count=ANALYSIS_COUNT,
        analysis_window_seconds=ANALYSIS_WINDOW_SECONDS,
    )


def _monitoring(env: str, tier: Tier, answers: Answers) -> MonitoringPlan:
    profile = ENVIRONMENT_PROFILES[env]
    prometheus_retention_days = or_tier(profile.prometheus_retention_days, tier.prometheus_retention_days)
    return MonitoringPlan(
        level=answers.monitoring_level,
        components=MONITORING_COMPONENTS[answers.monitoring_level],
        prometheus_replicas=or_tier(profile.prometheus_replicas, tier.prometheus_replicas),
        alertmanager_replicas=or_tier(profile.alertmanager_replicas, tier.alertmanager_replicas),
        prometheus_retention_days=prometheus_retention_days,
        log_retention_days=profile.log_retention_days,
        pages=profile.pages,
        prometheus_storage_gb=_volume_gb(prometheus_retention_days, PROMETHEUS_GB_PER_DAY),
        loki_storage_gb=_volume_gb(profile.log_retention_days, LOKI_GB_PER_DAY),
    )


def _volume_gb(days: int, gb_per_day: float) -> int:
    """Retention x daily ingest, with 30% headroom for compaction and WAL, in whole GB."""
    return max(10, math.ceil(days * gb_per_day * 1.3))


def _recovery(env: str, tier: Tier, answers: Answers) -> RecoveryPlan:
    profile = ENVIRONMENT_PROFILES[env]
    # A platform keeps nothing in a second region (its services' databases are theirs). A shared
    # service keeps its database's replica there, but has no cluster there to fail over to.
    multi_region = or_tier(profile.cross_region_replica, tier.cross_region_replica) and answers.kind == Kind.SERVICE
    return RecoveryPlan(
        rto_minutes=or_tier(profile.rto_minutes, tier.rto_minutes),
        rpo_minutes=or_tier(profile.rpo_minutes, tier.rpo_minutes),
        multi_region=multi_region,
        dr_region=answers.failover_region,
        failover=tier.failover if multi_region and answers.builds_standby else "none",
    )


def _tags(env: str, answers: Answers) -> dict[str, str]:
    tags = {
        "service": answers.service_slug,
        "environment": env,
        "team": answers.team,
        "managed-by": "pulumi",
    }
    if answers.compliance:
        tags["compliance"] = "+".join(answers.compliance)
    return tags


def _environment(env: str, tier: Tier, answers: Answers, availability: Objective) -> EnvironmentPlan:
    network = _network(env, tier)
    workload = _workload(env, tier)
    eks = answers.platform == "aws-eks"
    return EnvironmentPlan(
        name=env,
        tier=tier.name,
        network=network,
        workload=workload,
        recovery=_recovery(env, tier, answers),
        rollout=_rollout(tier, answers, availability),
        monitoring=_monitoring(env, tier, answers),
        log_retention_days=ENVIRONMENT_PROFILES[env].log_retention_days,
        tags=_tags(env, answers),
        relaxations=relaxations(env, tier, answers),
        cluster=_cluster(env, network, workload) if eks and answers.cluster == "dedicated" else None,
        database=_database(env, tier, answers) if answers.database == "postgres" else None,
        function=None if eks else _function(env, tier),
        edge=_edge(env, answers, workload),
    )


def plan_service(answers: Answers) -> ServicePlan:
    """The whole plan for a service: objectives, and one EnvironmentPlan per environment."""
    tier = tier_for(answers.sla)
    availability = availability_objective(answers.sla)
    return ServicePlan(
        answers=answers,
        tier=tier,
        availability=availability,
        latency=latency_objective(),
        latency_buckets_seconds=latency_buckets_seconds(answers.latency_slo_ms),
        environments={env: _environment(env, tier, answers, availability) for env in answers.environments},
    )
