"""Recovery objectives per failure mode: each bound from the mechanism that holds it."""

from __future__ import annotations

import pytest

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.answers import SLA_CHOICES
from pulumi_components.reliability.availability import failover_kind
from pulumi_components.reliability.environments import PITR_RPO_MINUTES
from pulumi_components.reliability.recovery import (
    MULTI_AZ_SOURCE,
    PITR_SOURCE,
    REPLICA_LAG_SOURCE,
    recovery_objectives,
)


def plan(**answers):
    base = dict(project_name="Example", service_slug="example", team="platform", owner_email="p@example.com")
    return plan_service(Answers(**{**base, **answers}))


def by_failure(service, env="prod"):
    return {o.failure: o for o in recovery_objectives(service, env)}


def test_platinum_states_each_failure_mode_with_its_mechanism():
    service = plan(sla=99.99)
    objectives = by_failure(service)
    assert list(objectives) == ["AZ loss", "region loss", "bad write"]
    az, region, bad = objectives.values()
    assert (az.rpo_minutes, az.rto_minutes, az.source) == (0.0, 2.0, MULTI_AZ_SOURCE)
    # The 1-minute RPO is the replica's lag target for a region loss, not a point-in-time restore.
    assert (region.rpo_minutes, region.source) == (1.0, REPLICA_LAG_SOURCE)
    assert region.rto_minutes == failover_kind(service, "cold-standby").minutes == 71
    assert "failover.yml" in region.measured_by  # the DR rehearsal times it once recorded
    assert bad.source == PITR_SOURCE and bad.rpo_minutes is None
    assert "last 35 day(s)" in bad.how
    assert "restore-test.yml" in bad.measured_by


@pytest.mark.parametrize("sla", SLA_CHOICES)
def test_no_objective_resting_on_point_in_time_restore_claims_less_than_its_five_minutes(sla):
    for env in ("dev", "staging", "prod"):
        for objective in recovery_objectives(plan(sla=sla), env):
            if objective.source == PITR_SOURCE and objective.rpo_minutes is not None:
                assert objective.rpo_minutes >= PITR_RPO_MINUTES, (sla, env, objective.failure)
            if objective.rpo_minutes is not None and objective.rpo_minutes < PITR_RPO_MINUTES:
                assert objective.source in (MULTI_AZ_SOURCE, REPLICA_LAG_SOURCE, ""), (sla, env, objective)


def test_without_a_failover_a_region_loss_waits_for_the_region():
    region = by_failure(plan(sla=99.9))["region loss"]
    assert region.rto == "until the region recovers" and region.rto_minutes is None
    assert "backups stay in it" in region.rpo


def test_a_single_az_database_recovers_an_az_loss_by_restore():
    az = by_failure(plan(sla=99.5))["AZ loss"]
    assert az.rpo_minutes == PITR_RPO_MINUTES and az.source == PITR_SOURCE
    assert "restore-test.yml" in az.measured_by


def test_dev_and_staging_state_their_own_objectives():
    service = plan(sla=99.99)
    assert [service.environments[e].recovery.rto_minutes for e in ("dev", "staging", "prod")] == [1440, 240, 15]
    for env in ("dev", "staging"):
        objectives = by_failure(service, env)
        assert objectives["region loss"].rto_minutes is None  # no DR region outside production
        assert all(o.measured_by == "" for o in objectives.values())  # the restore test restores prod
    assert by_failure(service, "dev")["AZ loss"].source == PITR_SOURCE  # dev's database is Single-AZ
    assert by_failure(service, "staging")["AZ loss"].source == MULTI_AZ_SOURCE


def test_a_service_without_a_database_has_no_bad_write_to_restore():
    objectives = by_failure(plan(platform="aws-lambda", database="none", sla=99.99))
    assert list(objectives) == ["AZ loss", "region loss"]
    assert objectives["region loss"].rpo_minutes == 0.0
