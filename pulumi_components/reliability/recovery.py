"""Recovery objectives per failure mode, for each environment, with what backs and measures them.

One RTO and one RPO cannot describe a service: losing an AZ, losing the
region and a bad write are recovered by different mechanisms with different
bounds. Each objective names the mechanism, the source of its bound, and what
in the repository measures it ("" when nothing does). The readiness checklist
ticks an objective only once a drill that times it recorded a time within it
(measurements.py, docs/recovery-measurements.yml in the generated repo).
"""

from __future__ import annotations

from dataclasses import dataclass

from .availability import FAILOVER_ORDER, failover_kind
from .plan import EnvironmentPlan, ServicePlan

MULTI_AZ_SOURCE = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html"
PITR_SOURCE = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html"
REPLICA_LAG_SOURCE = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Monitoring.html"
MULTI_AZ_FAILOVER_MINUTES = 2  # "typically 60-120 seconds" (MULTI_AZ_SOURCE)
RESTORE_TEST = "the weekly restore test (.github/workflows/restore-test.yml), which fails a restore slower than the RTO"
REHEARSAL = "a failover (.github/workflows/failover.yml); its rehearsal times only the readiness checks"
RESTORE_DRILLS = ("restore-test",)
# Only a real failover times the region-loss RTO: `rehearse` checks that the switch, the health
# check and the replica are in place and times those checks, which is not a recovery.
FAILOVER_DRILLS = ("failover",)


@dataclass(frozen=True)
class RecoveryObjective:
    failure: str  # "AZ loss", "region loss", "bad write"
    rpo: str  # data that may be lost, in words
    rto: str  # time to serve again, in words
    how: str  # the mechanism
    source: str  # where the bound comes from
    measured_by: str = ""  # what in the repository times it; "" when nothing does
    rpo_minutes: float | None = None  # None when no number holds (see `rpo`)
    rto_minutes: float | None = None
    drills: tuple[str, ...] = ()  # the drills (measurements.DRILLS) whose recorded times measure the RTO


def _az_loss(env: EnvironmentPlan) -> RecoveryObjective:
    spread = env.workload.replicas_min >= 2 and env.network.az_count >= 2
    compute = "replicas in the other AZs keep serving" if spread else "the one replica is rescheduled"
    db = env.database
    if db is None:
        return RecoveryObjective("AZ loss", "none (no state)", "0 min" if spread else "minutes", compute, "", "", 0.0)
    if db.multi_az:
        return RecoveryObjective(
            "AZ loss",
            "0 (synchronous standby)",
            f"about {MULTI_AZ_FAILOVER_MINUTES} min",
            f"RDS fails over to the standby in another AZ; {compute}",
            MULTI_AZ_SOURCE,
            "",
            0.0,
            float(MULTI_AZ_FAILOVER_MINUTES),
        )
    return RecoveryObjective(
        "AZ loss",
        f"up to {env.recovery.rpo_minutes} min (latest restorable time)",
        f"{env.recovery.rto_minutes} min",
        "point-in-time restore of the Single-AZ database into another AZ",
        PITR_SOURCE,
        RESTORE_TEST if env.name == "prod" else "",
        float(env.recovery.rpo_minutes),
        float(env.recovery.rto_minutes),
        RESTORE_DRILLS if env.name == "prod" else (),
    )


def _region_loss(plan: ServicePlan, env: EnvironmentPlan) -> RecoveryObjective:
    if env.recovery.failover == "none":
        return RecoveryObjective(
            "region loss",
            "none lost, but unreachable until the region returns (backups stay in it)"
            if env.database
            else "none (no state)",
            "until the region recovers",
            "wait for AWS, or rebuild the stack from code in another region"
            + (" with an empty database" if env.database else ""),
            "",
        )
    kind = failover_kind(plan, env.recovery.failover)
    db = env.database
    return RecoveryObjective(
        "region loss",
        f"the replica's lag at the time: the target is under {env.recovery.rpo_minutes} min"
        if db
        else "none (no state)",
        f"about {kind.minutes:g} min (estimate)",
        kind.how,
        REPLICA_LAG_SOURCE if db else "",
        REHEARSAL if env.name == "prod" else "",  # the failover workflow fails over production only
        float(env.recovery.rpo_minutes) if db else 0.0,
        kind.minutes,
        FAILOVER_DRILLS if env.name == "prod" else (),
    )


def _bad_write(env: EnvironmentPlan) -> RecoveryObjective:
    db = env.database
    return RecoveryObjective(
        "bad write",
        "none before the bad write: restore to the second before it; later writes are re-applied by hand "
        "from the old instance, which the restore leaves in place",
        f"{env.recovery.rto_minutes} min",
        f"point-in-time restore to any second in the last {db.backup_retention_days} day(s), as a new instance",
        PITR_SOURCE,
        RESTORE_TEST if env.name == "prod" else "",
        None,
        float(env.recovery.rto_minutes),
        RESTORE_DRILLS if env.name == "prod" else (),
    )


def recovery_objectives(plan: ServicePlan, env: EnvironmentPlan | str | None = None) -> tuple[RecoveryObjective, ...]:
    """The environment's (production's by default) objectives, one per failure mode."""
    if isinstance(env, str):
        env = plan.environments[env]
    env = env or plan.prod
    if env.recovery.failover not in FAILOVER_ORDER:
        raise ValueError(f"recovery.failover {env.recovery.failover!r}; accepted: {', '.join(FAILOVER_ORDER)}")
    objectives = [_az_loss(env), _region_loss(plan, env)]
    if env.database is not None:
        objectives.append(_bad_write(env))
    return tuple(objectives)
