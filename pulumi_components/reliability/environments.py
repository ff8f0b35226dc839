"""What each environment changes from production: one row per environment.

This table is the single answer to "what does staging change?", as `TIERS` is
to "what does SLA 99.95 change?". Production takes its tier as it is; a field
left at `TIER` keeps the tier's value in that environment too, any other value
replaces it. Staging keeps production's shape at a smaller size; dev trades
resilience for cost. Every way an environment is weaker than production is
named in its `relaxations`, which the guardrails accept and nothing else.
`plan.py` reads a row for each environment the answers list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .answers import Answers
from .tiers import Tier

T = TypeVar("T")
TIER = None  # the field keeps the tier's value (tiers.py), as production does
PITR_RPO_MINUTES = 5  # RDS point-in-time restore: latest restorable time, typically within 5 minutes


@dataclass(frozen=True)
class TimesMin:
    """A maximum replica count as a multiple of the environment's minimum."""

    factor: int


@dataclass(frozen=True)
class EnvironmentProfile:
    name: str
    cidr: str  # the environment's VPC; distinct from every other so they can peer
    log_retention_days: int  # application, flow and control-plane logs
    pages: bool  # alerts page someone; elsewhere they open tickets
    # Network
    az_count: int | None
    nat_per_az: bool | None  # False: one NAT gateway for every AZ
    # Workload
    replicas_min: int | None
    replicas_max: int | TimesMin | None
    # Cluster (EKS)
    node_instance_types: tuple[str, ...]
    node_disk_gb: int
    cluster_deletion_protection: bool
    # Database (PostgreSQL)
    db_instance_class: str | None
    db_allocated_storage_gb: int
    db_max_allocated_storage_gb: int
    db_multi_az: bool | None
    db_backup_retention_days: int | None
    db_deletion_protection: bool
    db_final_snapshot: bool
    db_monitoring_interval_seconds: int
    cross_region_replica: bool | None  # the DR region's read replica, and with it multi-region recovery
    # Recovery: outside production nobody is paged, so a restore is done in working hours (staging's
    # the same day, dev's by the next one); point-in-time restore bounds the data lost everywhere.
    rto_minutes: int | None
    rpo_minutes: int | None
    # Function (Lambda)
    function_memory_mb: int
    function_reserved_concurrency: int | None
    function_provisioned_concurrency: int | None
    # Monitoring
    prometheus_replicas: int | None
    alertmanager_replicas: int | None
    prometheus_retention_days: int | None
    # Relaxations the environment takes, each where it means anything (RELAXATION_APPLIES), in this order.
    relaxations: tuple[str, ...] = ()


ENVIRONMENT_PROFILES: dict[str, EnvironmentProfile] = {
    "prod": EnvironmentProfile(
        name="prod",
        cidr="10.30.0.0/16",
        log_retention_days=365,
        pages=True,
        az_count=TIER,
        nat_per_az=TIER,
        replicas_min=TIER,
        replicas_max=TIER,
        node_instance_types=("m7i.large",),
        node_disk_gb=50,
        cluster_deletion_protection=True,
        db_instance_class=TIER,
        db_allocated_storage_gb=100,
        db_max_allocated_storage_gb=1000,
        db_multi_az=TIER,
        db_backup_retention_days=TIER,
        db_deletion_protection=True,
        db_final_snapshot=True,
        db_monitoring_interval_seconds=15,
        cross_region_replica=TIER,
        rto_minutes=TIER,
        rpo_minutes=TIER,
        function_memory_mb=1024,
        function_reserved_concurrency=TIER,
        function_provisioned_concurrency=TIER,
        prometheus_replicas=TIER,
        alertmanager_replicas=TIER,
        prometheus_retention_days=TIER,
    ),
    # Production's shape (AZs, replica floor, Multi-AZ database, protections) at a smaller size.
    "staging": EnvironmentProfile(
        name="staging",
        cidr="10.20.0.0/16",
        log_retention_days=90,
        pages=False,
        az_count=TIER,
        nat_per_az=False,
        replicas_min=TIER,
        replicas_max=TimesMin(2),
        node_instance_types=("m7i.large",),
        node_disk_gb=50,
        cluster_deletion_protection=False,
        db_instance_class="db.t4g.medium",
        db_allocated_storage_gb=50,
        db_max_allocated_storage_gb=200,
        db_multi_az=TIER,
        db_backup_retention_days=7,
        db_deletion_protection=True,
        db_final_snapshot=True,
        db_monitoring_interval_seconds=15,
        cross_region_replica=False,
        rto_minutes=4 * 60,
        rpo_minutes=PITR_RPO_MINUTES,
        function_memory_mb=1024,
        function_reserved_concurrency=50,
        function_provisioned_concurrency=0,
        prometheus_replicas=1,
        alertmanager_replicas=1,
        prometheus_retention_days=7,
        relaxations=("single-nat-gateway", "no-cross-region-replica"),
    ),
    # Resilience traded for cost: two AZs, one replica, a single-AZ database that can be deleted.
    "dev": EnvironmentProfile(
        name="dev",
        cidr="10.10.0.0/16",
        log_retention_days=30,
        pages=False,
        az_count=2,
        nat_per_az=False,
        replicas_min=1,
        replicas_max=3,
        node_instance_types=("t3.large",),
        node_disk_gb=20,
        cluster_deletion_protection=False,
        db_instance_class="db.t4g.micro",
        db_allocated_storage_gb=20,
        db_max_allocated_storage_gb=50,
        db_multi_az=False,
        db_backup_retention_days=1,
        db_deletion_protection=False,
        db_final_snapshot=False,
        db_monitoring_interval_seconds=60,
        cross_region_replica=False,
        rto_minutes=24 * 60,
        rpo_minutes=PITR_RPO_MINUTES,
        function_memory_mb=512,
        function_reserved_concurrency=10,
        function_provisioned_concurrency=0,
        prometheus_replicas=1,
        alertmanager_replicas=1,
        prometheus_retention_days=7,
        relaxations=(
            "single-nat-gateway",
            "fewer-availability-zones",
            "single-replica",
            "short-log-retention",
            "single-az-database",
            "short-backup-retention",
            "no-deletion-protection",
            "no-final-snapshot",
            "no-cross-region-replica",
        ),
    ),
}


def _postgres(tier: Tier, answers: Answers) -> bool:
    return answers.database == "postgres"


# Whether a relaxation means anything for these answers: nothing network-shaped to relax without a
# network (a Lambda service without a database), nothing of the database's without one, nothing
# the tier does not ask for in the first place.
RELAXATION_APPLIES: dict[str, Callable[[Tier, Answers], bool]] = {
    "single-nat-gateway": lambda tier, answers: tier.nat_per_az and answers.needs_network,
    "fewer-availability-zones": lambda tier, answers: answers.needs_network,
    "single-replica": lambda tier, answers: True,
    "short-log-retention": lambda tier, answers: True,
    "single-az-database": _postgres,
    "short-backup-retention": _postgres,
    "no-deletion-protection": _postgres,
    "no-final-snapshot": _postgres,
    "no-cross-region-replica": lambda tier, answers: tier.cross_region_replica and _postgres(tier, answers),
}


def or_tier(value: T | None, tier_value: T) -> T:
    """An environment's value: its own, or the tier's where the table says `TIER`."""
    return tier_value if value is TIER else value


def relaxations(env: str, tier: Tier, answers: Answers) -> tuple[str, ...]:
    """The relaxations the environment's row names that mean anything for these answers."""
    return tuple(name for name in ENVIRONMENT_PROFILES[env].relaxations if RELAXATION_APPLIES[name](tier, answers))
