"""The environment table (reliability/environments.py): what staging and dev change from production,
each weakening named by a relaxation, and no environment stronger than the one after it."""

from __future__ import annotations

import dataclasses

import pytest
from test_reliability_model import _leaves, _weaker, answers

from pulumi_components import guardrails
from pulumi_components.reliability import plan_service
from pulumi_components.reliability.answers import ENVIRONMENTS, SLA_CHOICES
from pulumi_components.reliability.environments import (
    ENVIRONMENT_PROFILES,
    RELAXATION_APPLIES,
    TIER,
    EnvironmentProfile,
    relaxations,
)
from pulumi_components.reliability.tiers import tier_for

# The fields a row may leave to the tier; every other one is the environment's own.
TIER_FIELDS = {
    f.name for f in dataclasses.fields(EnvironmentProfile) if "None" in str(f.type) and f.name != "relaxations"
}


def weakened(profile: EnvironmentProfile) -> set[str]:
    """The relaxations a row's own values call for, judged against the guardrails' floors."""
    found = {
        "single-nat-gateway": profile.nat_per_az is False,
        "fewer-availability-zones": profile.az_count is not TIER,
        "single-replica": profile.replicas_min == 1,
        "short-log-retention": profile.log_retention_days < guardrails.MIN_LOG_RETENTION_DAYS,
        "single-az-database": profile.db_multi_az is False,
        "short-backup-retention": profile.db_backup_retention_days is not TIER
        and profile.db_backup_retention_days < guardrails.MIN_BACKUP_RETENTION_DAYS,
        "no-deletion-protection": not profile.db_deletion_protection,
        "no-final-snapshot": not profile.db_final_snapshot,
        "no-cross-region-replica": profile.cross_region_replica is False,
    }
    return {name for name, weak in found.items() if weak}


def test_one_row_per_environment_the_questionnaire_offers():
    assert set(ENVIRONMENT_PROFILES) == set(ENVIRONMENTS)
    assert all(name == profile.name for name, profile in ENVIRONMENT_PROFILES.items())


def test_production_takes_its_tier_as_it_is_and_relaxes_nothing():
    prod = ENVIRONMENT_PROFILES["prod"]
    assert {name for name in TIER_FIELDS if getattr(prod, name) is not TIER} == set()
    assert prod.relaxations == () and prod.pages and prod.cluster_deletion_protection


def test_staging_keeps_production_s_shape():
    staging = ENVIRONMENT_PROFILES["staging"]
    assert staging.az_count is TIER and staging.replicas_min is TIER and staging.db_multi_az is TIER
    assert staging.db_deletion_protection and staging.db_final_snapshot


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_row_names_exactly_the_relaxations_its_values_call_for(env):
    profile = ENVIRONMENT_PROFILES[env]
    assert set(profile.relaxations) == weakened(profile)
    assert len(profile.relaxations) == len(set(profile.relaxations))


def test_the_consistency_check_catches_an_unnamed_weakening():
    staging = ENVIRONMENT_PROFILES["staging"]
    assert "short-backup-retention" in weakened(dataclasses.replace(staging, db_backup_retention_days=3))
    assert "single-replica" in weakened(dataclasses.replace(staging, replicas_min=1))


def test_every_relaxation_is_one_a_rule_accepts():
    known = {r.relaxation for r in (*guardrails.RULES, *guardrails.STACK_RULES) if r.relaxation}
    # single-replica is the workload's own (checked by the Kubernetes manifests, not an AWS rule).
    assert set(RELAXATION_APPLIES) == known | {"single-replica"}


def test_a_relaxation_is_named_only_where_it_means_something():
    bronze, platinum = tier_for(99.5), tier_for(99.99)
    serverless = answers(platform="aws-lambda", database="none")
    assert relaxations("dev", bronze, serverless) == ("single-replica", "short-log-retention")
    assert relaxations("staging", bronze, serverless) == ()
    assert relaxations("staging", platinum, answers(database="postgres")) == (
        "single-nat-gateway",
        "no-cross-region-replica",
    )
    assert relaxations("prod", platinum, answers(database="postgres")) == ()


@pytest.mark.parametrize("sla", SLA_CHOICES)
@pytest.mark.parametrize("platform", ["aws-eks", "aws-lambda"])
def test_no_environment_is_stronger_than_the_one_after_it(sla, platform):
    plan = plan_service(answers(sla=sla, platform=platform, database="postgres"))
    environments = [plan.environments[env] for env in ENVIRONMENTS]
    # Names, addresses and labels differ by environment, and are not strengths.
    own = {"tags", "hostname"}
    for before, after in zip(environments, environments[1:], strict=False):
        later = dict(_leaves(after))
        for path, value in _leaves(before):
            if path.rsplit(".", 1)[-1] not in own:
                assert not _weaker(path, value, later[path]), f"{before.name} -> {after.name}: {path}"
