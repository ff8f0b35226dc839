"""What the SLA changes: one row per availability tier, read for production.

This table is the single answer to "what does SLA 99.95 change?". Staging and
dev are derived from it in `plan.py`. A higher tier never weakens a setting;
`tests/test_reliability_model.py` checks that as a property over every SLA.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    name: str
    min_sla: float  # the lowest SLA (percent) this tier serves
    # Network
    az_count: int
    nat_per_az: bool  # one NAT gateway per AZ, so losing an AZ keeps egress
    # Workload
    replicas_min: int
    replicas_max: int
    # Database
    db_multi_az: bool
    db_instance_class: str
    backup_retention_days: int
    cross_region_replica: bool  # a read replica in the DR region to promote
    # The replica runs Multi-AZ itself, so the database a regional failover promotes is highly
    # available from its first minute instead of one instance until someone converts it.
    replica_multi_az: bool
    # How users reach the DR region on a regional incident (availability.FAILOVER_ORDER): what the
    # stacks build, and so the only failover the availability estimate may count.
    failover: str
    # Recovery objectives (minutes), per failure mode in `recovery.py`. rto_minutes: a restore of the
    # database (the weekly restore test times it). rpo_minutes: the most writes a recovery may lose
    # without waiting for AWS: point-in-time restore's latest restorable time (typically within 5
    # minutes, USER_PIT) or, with a cross-region replica, the replica lag its alarm holds.
    rto_minutes: int
    rpo_minutes: int
    # Progressive delivery: canary weights (percent) with a pause after each but the last
    canary_steps: tuple[int, ...]
    canary_pause_seconds: int
    blue_green_scale_down_delay_seconds: int  # how long the old colour stays for instant rollback
    # Monitoring high availability
    prometheus_replicas: int
    alertmanager_replicas: int
    prometheus_retention_days: int  # at least the 30-day SLO period, so the 30d SLI is whole
    # Serverless
    lambda_reserved_concurrency: int
    lambda_provisioned_concurrency: int  # warm instances on the live alias; 0 = none


TIERS: tuple[Tier, ...] = (
    Tier(
        name="bronze",
        min_sla=90.0,
        az_count=2,
        nat_per_az=False,
        replicas_min=2,
        replicas_max=6,
        db_multi_az=False,
        db_instance_class="db.t4g.large",
        backup_retention_days=7,
        cross_region_replica=False,
        replica_multi_az=False,
        failover="none",
        rto_minutes=240,
        rpo_minutes=5,
        canary_steps=(20, 50, 100),
        canary_pause_seconds=60,
        blue_green_scale_down_delay_seconds=300,
        prometheus_replicas=1,
        alertmanager_replicas=1,
        prometheus_retention_days=31,
        lambda_reserved_concurrency=100,
        lambda_provisioned_concurrency=0,
    ),
    Tier(
        name="silver",
        min_sla=99.9,
        az_count=3,
        nat_per_az=True,
        replicas_min=3,
        replicas_max=10,
        db_multi_az=True,
        db_instance_class="db.m7g.large",
        backup_retention_days=14,
        cross_region_replica=False,
        replica_multi_az=False,
        failover="none",
        rto_minutes=60,
        rpo_minutes=5,
        canary_steps=(5, 25, 50, 100),
        canary_pause_seconds=120,
        blue_green_scale_down_delay_seconds=600,
        prometheus_replicas=2,
        alertmanager_replicas=3,
        prometheus_retention_days=31,
        lambda_reserved_concurrency=200,
        lambda_provisioned_concurrency=0,
    ),
    Tier(
        name="gold",
        min_sla=99.95,
        az_count=3,
        nat_per_az=True,
        replicas_min=3,
        replicas_max=15,
        db_multi_az=True,
        db_instance_class="db.r7g.large",
        backup_retention_days=21,
        cross_region_replica=False,
        replica_multi_az=False,
        failover="none",
        rto_minutes=30,
        rpo_minutes=5,
        canary_steps=(5, 25, 50, 100),
        canary_pause_seconds=120,
        blue_green_scale_down_delay_seconds=900,
        prometheus_replicas=2,
        alertmanager_replicas=3,
        prometheus_retention_days=45,
        lambda_reserved_concurrency=400,
        lambda_provisioned_concurrency=2,
    ),
    Tier(
        name="platinum",
        min_sla=99.99,
        az_count=3,
        nat_per_az=True,
        replicas_min=4,
        replicas_max=20,
        db_multi_az=True,
        db_instance_class="db.r7g.xlarge",
        backup_retention_days=35,
        cross_region_replica=True,
        replica_multi_az=True,
        failover="cold-standby",
        rto_minutes=15,
        rpo_minutes=1,
        canary_steps=(1, 5, 25, 50, 100),
        canary_pause_seconds=90,
        blue_green_scale_down_delay_seconds=1800,
        prometheus_replicas=2,
        alertmanager_replicas=3,
        prometheus_retention_days=60,
        lambda_reserved_concurrency=800,
        lambda_provisioned_concurrency=5,
    ),
)


def tier_for(sla_percent: float) -> Tier:
    """The highest tier whose minimum the SLA meets."""
    eligible = [tier for tier in TIERS if sla_percent >= tier.min_sla]
    if not eligible:
        raise ValueError(f"sla {sla_percent} is below every tier (lowest {TIERS[0].min_sla})")
    return eligible[-1]
