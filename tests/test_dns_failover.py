"""The regional failover's pieces: the standby's config key, the failover records' arguments, the
adopted database's readiness, and the standby stack `prod-dr` built from production's config."""

from __future__ import annotations

import asyncio

import pulumi
import pytest
from conftest import render
from service_fixtures import service_plan

from pulumi_components._base import ComponentArgsError
from pulumi_components.deployability import check_stack, stack_view
from pulumi_components.dns_failover import DnsFailoverArgs, StandbyConfig
from pulumi_components.guardrails import Context, check_resources
from pulumi_components.postgres_database import (
    AdoptedDatabase,
    AdoptedDatabaseArgs,
    ReplicaLagAlarm,
    adopted_instance_error,
)
from pulumi_components.reliability import from_config
from pulumi_components.reliability.plan import DR_CIDR, replica_network
from pulumi_components.testing import RELEASE_IMAGE, CapturingMocks, resolve, run_program, stack_config, walk

PLATINUM = service_plan("prod", sla=99.99, database="postgres")


def test_the_standby_config_names_the_promoted_instance():
    standby = StandbyConfig.from_config({"database": "example-prod-db-us-west-2"})
    standby.validate(PLATINUM, "us-west-2")
    plan = standby.standby_plan(PLATINUM)
    assert plan.database.replica_region == ""
    assert plan.network == replica_network(PLATINUM)  # the adopted database's VPC: its CIDR, its NAT
    assert StandbyConfig.from_config(None) is None


@pytest.mark.parametrize(
    ("value", "region", "plan", "restoring", "expected"),
    [
        ("db", "us-west-2", PLATINUM, False, "must be a mapping"),
        ({"instance": "x"}, "us-west-2", PLATINUM, False, "failover.instance is not a known setting"),
        ({"database": 5}, "us-west-2", PLATINUM, False, "must be a string"),
        ({}, "us-west-2", PLATINUM, False, "failover.database is missing"),
        ({"database": "Bad_Name"}, "us-west-2", PLATINUM, False, "must be a DB instance identifier"),
        ({"database": "example-prod-db-us-west-2"}, "us-east-1", PLATINUM, False, "runs in the DR region us-west-2"),
        ({"database": "example-prod-db-us-west-2"}, "us-west-2", PLATINUM, True, "database_restore are both set"),
        ({"database": "x"}, "us-west-2", service_plan("prod", sla=99.9), False, "names no second region"),
        ({"database": "x"}, "us-west-2", service_plan("prod", sla=99.99, database="none"),
         False, "has no database"),
    ],
)  # fmt: skip
def test_a_bad_standby_config_fails_naming_the_key(value, region, plan, restoring, expected):
    with pytest.raises(ComponentArgsError, match=expected):
        StandbyConfig.from_config(value).validate(plan, region, restoring=restoring)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"role": "BACKUP"}, "role must be one of PRIMARY, SECONDARY"),
        ({"dr_region": "us-east-1"}, "other than us-east-1"),
        ({"dr_region": ""}, "dr_region"),
        ({"region": "mars-1"}, "not an AWS region"),
    ],
)
def test_bad_failover_record_arguments_fail(overrides, expected):
    values = dict(name="e-prod", hostname="e.example.com", zone_id="Z", region="us-east-1", role="PRIMARY",
                  target="t", dr_region="us-west-2")  # fmt: skip
    with pytest.raises(ComponentArgsError, match=expected):
        DnsFailoverArgs(**{**values, **overrides}).validate()


def test_only_a_promoted_instance_with_its_own_secret_is_adopted():
    assert "promote it first" in adopted_instance_error("db-1", "arn:aws:rds:us-east-1:1:db:db", [{"secret_arn": "s"}])
    assert "--manage-master-user-password" in adopted_instance_error("db-1", "", [])
    assert adopted_instance_error("db-1", "", [{"secret_arn": "s"}]) == ""
    with pytest.raises(ComponentArgsError, match="failover.database"):
        AdoptedDatabaseArgs(identifier="-x", az_count=3).validate()
    with pytest.raises(ComponentArgsError, match="at least 1 s"):
        ReplicaLagAlarm(0, "p@example.com").validate()
    with pytest.raises(ComponentArgsError, match="an address"):
        ReplicaLagAlarm(60, "nobody").validate()


@pytest.mark.parametrize("platform", ["aws-eks", "aws-lambda"])
def test_the_standby_stack_adopts_the_replica_and_writes_the_secondary_record(tmp_path, platform):
    repo = render(tmp_path / "svc", platform=platform, database="postgres", sla="99.99", service_slug="svc",
                  environments=["prod"])  # fmt: skip
    config = stack_config(repo / "Pulumi.prod.yaml") | {
        "svc:image": RELEASE_IMAGE,
        "aws:region": "us-west-2",
        "svc:failover": {"database": "svc-prod-db-us-west-2"},
    }
    run = run_program(repo / "infra", project="svc", stack="prod-dr", config=config)
    plan = StandbyConfig("svc-prod-db-us-west-2").standby_plan(from_config(config["svc:plan"]))
    assert check_resources(run.resources, Context.from_plan(plan)) == []  # the policy pack its `pulumi up` runs
    assert check_stack(stack_view("svc", "prod", run, config)) == []
    assert run.of_type("aws:rds/instance:Instance") == []  # adopted, not created
    assert run.of_type("aws:ec2/vpc:Vpc") == []  # the replica's VPC, which the prod stack keeps
    (record,) = run.of_type("aws:route53/record:Record")[-1:]
    assert record.inputs["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    assert record.inputs["setIdentifier"] == "svc-prod-us-west-2"
    assert run.of_type("aws:route53/healthCheck:HealthCheck") == []
    (ingress,) = [r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                  if r.inputs.get("securityGroupId") == "sg-standby-db"]  # fmt: skip
    assert ingress.inputs["fromPort"] == 5432
    assert run.output("db_endpoint").startswith("svc-prod-db-us-west-2.")
    assert run.output("failover_record") == "SECONDARY"
    # The workload's rules name the replica network's CIDR, where the adopted database lives.
    assert any(DR_CIDR in str(value) for r in run.resources for value in walk(r.inputs))
    assert not any("10.30.0.0/16" in str(value) for r in run.resources for value in walk(r.inputs))


class ReplicaMocks(CapturingMocks):
    """The instance is still a read replica: not promoted, no master secret in its region."""

    def call(self, args):
        if args.token == "aws:rds/getInstance:getInstance":
            return {**super().call(args), "replicateSourceDb": "arn:aws:rds:us-east-1:1:db:x", "masterUserSecrets": []}
        return super().call(args)


def adopt(preview: bool) -> AdoptedDatabase:
    pulumi.runtime.set_mocks(ReplicaMocks("us-west-2"), project="svc", stack="prod-dr", preview=preview)
    return AdoptedDatabase("svc-prod", AdoptedDatabaseArgs(identifier="svc-prod-db-us-west-2", az_count=3))


def test_a_preview_against_the_unpromoted_replica_shows_its_secret_unknown():
    database = adopt(preview=True)
    assert resolve(database.ready) is False
    loop = asyncio.get_event_loop()
    assert loop.run_until_complete(database.secret_arn.is_known()) is False
    assert loop.run_until_complete(database.secret_key_arn.is_known()) is False


def test_an_up_against_the_unpromoted_replica_fails_saying_to_promote():
    database = adopt(preview=False)
    with pytest.raises(ComponentArgsError, match="promote it first"):
        resolve(database.ready)
