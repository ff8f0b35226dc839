"""PostgresDatabase under Pulumi mocks: what it creates for every SLA tier and environment."""

from __future__ import annotations

import dataclasses

import pulumi
import pytest

from pulumi_components import (
    ComponentArgsError,
    DatabaseRestore,
    Network,
    NetworkArgs,
    PostgresDatabase,
    PostgresDatabaseArgs,
)
from pulumi_components.guardrails import Context, check_resources
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.answers import SLA_CHOICES
from pulumi_components.reliability.plan import replica_network
from pulumi_components.testing import resolve, run_with_mocks

RDS = "aws:rds/instance:Instance"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def env_plan(sla: float, env: str, **answers):
    base = {"project_name": "Pay", "service_slug": "pay", "team": "core", "owner_email": "core@example.com"}
    return plan_service(Answers(**base, sla=sla, **answers)).environments[env]


def build(plan, admit_later=False, restore=None, options=None, **database_overrides):
    """`options`, when given, collects each resource's retain_on_delete option by name."""
    made = {}
    database_plan = dataclasses.replace(plan.database, **database_overrides)

    def record(args):
        options[args.name] = bool(args.opts and args.opts.retain_on_delete)

    def program():
        if options is not None:
            pulumi.runtime.register_stack_transformation(record)
        network = Network("pay", NetworkArgs(name="pay-env", region="us-east-1", plan=plan.network, tags=plan.tags))
        made["db"] = PostgresDatabase(
            "pay",
            PostgresDatabaseArgs(
                name="pay-env",
                region="us-east-1",
                plan=database_plan,
                vpc_id=network.vpc.id,
                isolated_subnet_ids=network.subnet_ids["isolated"],
                client_security_group_ids=[] if admit_later else ["sg-workload"],
                log_retention_days=plan.log_retention_days,
                replica_network=replica_network(dataclasses.replace(plan, database=database_plan)),
                restore=restore,
                tags=plan.tags,
            ),
        )
        if admit_later:
            made["db"].admit("function", "sg-function")

    return run_with_mocks(program), made["db"]


def primary(run):
    (instance,) = [r for r in run.of_type(RDS) if not r.inputs.get("replicateSourceDb")]
    return instance


@pytest.mark.parametrize("sla", SLA_CHOICES)
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_database_follows_the_plan(sla, env):
    plan = env_plan(sla, env)
    run, db = build(plan)
    instance, expected = primary(run).inputs, plan.database
    assert instance["instanceClass"] == expected.instance_class
    assert instance["engineVersion"] == expected.engine_version
    assert instance["multiAz"] is expected.multi_az
    assert instance["backupRetentionPeriod"] == expected.backup_retention_days
    assert instance["deletionProtection"] is expected.deletion_protection
    assert instance["skipFinalSnapshot"] is (not expected.final_snapshot)
    assert ("finalSnapshotIdentifier" in instance) is expected.final_snapshot
    assert instance["performanceInsightsRetentionPeriod"] == expected.performance_insights_retention_days
    assert instance["monitoringInterval"] == expected.monitoring_interval_seconds
    assert instance["allocatedStorage"] == expected.allocated_storage_gb
    replicas = [r for r in run.of_type(RDS) if r.inputs.get("replicateSourceDb")]
    assert len(replicas) == (1 if expected.replica_region else 0)
    assert bool(expected.replica_region) is (sla >= 99.99 and env == "prod")
    violations = check_resources(run.resources, Context.from_plan(plan))
    assert not violations, "\n".join(map(str, violations))


def test_secure_defaults():
    run, db = build(env_plan(99.9, "prod"))
    instance = primary(run).inputs
    assert instance["publiclyAccessible"] is False
    assert instance["storageEncrypted"] is True and instance["kmsKeyId"].endswith("/pay-env-db")
    assert instance["manageMasterUserPassword"] is True and "password" not in instance
    assert instance["iamDatabaseAuthenticationEnabled"] is True
    assert instance["copyTagsToSnapshot"] is True and instance["autoMinorVersionUpgrade"] is True
    assert instance["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert instance["dbSubnetGroupName"] == "pay-env-db"
    (subnets,) = run.of_type("aws:rds/subnetGroup:SubnetGroup")
    assert subnets.inputs["subnetIds"] == [f"pay-isolated-{az}-id" for az in range(3)]
    (params,) = run.of_type("aws:rds/parameterGroup:ParameterGroup")
    assert params.inputs["family"] == "postgres17"
    parameters = {p["name"]: p["value"] for p in params.inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    # Slow statements and every schema change (who dropped that column, and when) reach the log.
    assert parameters["log_min_duration_statement"] == "1000"
    assert parameters["log_statement"] == "ddl"
    (monitoring,) = [r for r in run.of_type("aws:iam/role:Role") if "monitoring" in r.name]
    assert "monitoring.rds.amazonaws.com" in monitoring.inputs["assumeRolePolicy"]
    assert resolve(db.secret_arn).startswith("arn:aws:secretsmanager:us-east-1:")


def test_only_the_workload_security_group_reaches_5432():
    run, _ = build(env_plan(99.9, "prod"))
    (ingress,) = run.of_type(INGRESS)
    assert ingress.inputs["referencedSecurityGroupId"] == "sg-workload"
    assert (ingress.inputs["fromPort"], ingress.inputs["toPort"], ingress.inputs["ipProtocol"]) == (5432, 5432, "tcp")
    (group,) = [g for g in run.of_type("aws:ec2/securityGroup:SecurityGroup")]
    assert "ingress" not in group.inputs and "egress" not in group.inputs


def test_a_client_built_later_is_admitted_the_same_way():
    run, _ = build(env_plan(99.9, "prod"), admit_later=True)
    (ingress,) = run.of_type(INGRESS)
    assert ingress.inputs["referencedSecurityGroupId"] == "sg-function"


def test_cross_region_replica_lives_in_the_dr_region_in_its_own_network():
    plan = env_plan(99.99, "prod", aws_region="eu-west-1")
    assert plan.database.replica_region == "eu-central-1"
    run, db = build(plan)
    (provider,) = run.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == "eu-central-1"
    (replica,) = [r for r in run.of_type(RDS) if r.inputs.get("replicateSourceDb")]
    assert replica.inputs["replicateSourceDb"].endswith(":instance/pay-instance")  # the primary's ARN
    assert provider.name in replica.provider
    # KMS keys are regional: the replica is encrypted with a key made in its own region.
    assert replica.inputs["storageEncrypted"] is True
    assert replica.inputs["kmsKeyId"] == "arn:aws:mock:eu-central-1:123456789012:key/pay-env-db-eu-central-1"
    assert replica.inputs["publiclyAccessible"] is False
    # Multi-AZ, as the plan decides at 99.99: the database a failover promotes keeps a standby.
    assert plan.database.replica_multi_az and replica.inputs["multiAz"] is True
    dr_params = [g for g in run.of_type("aws:rds/parameterGroup:ParameterGroup") if provider.name in g.provider]
    assert {p["name"]: p["value"] for p in dr_params[0].inputs["parameters"]}["log_statement"] == "ddl"
    dr_subnets = [s for s in run.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("pay-dr-isolated")]
    assert [s.inputs["availabilityZone"] for s in dr_subnets] == ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
    assert all(provider.name in s.provider for s in dr_subnets)
    (dr_vpc,) = [v for v in run.of_type("aws:ec2/vpc:Vpc") if v.name == "pay-dr-vpc"]
    assert dr_vpc.inputs["cidrBlock"] == replica_network(plan).cidr
    dr_keys = [k for k in run.of_type("aws:kms/key:Key") if k.name.endswith("eu-central-1")]
    assert dr_keys and all(provider.name in k.provider for k in dr_keys)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"instance_class": "db.x9.mega"}, r"database\.instance_class: unknown RDS instance class 'db\.x9\.mega'"),
        ({"instance_class": "m7g.large"}, r"database\.instance_class: unknown RDS instance class"),
        ({"engine_version": "9.6"}, r"database\.engine_version"),
        (
            {"backup_retention_days": 0},
            r"database\.backup_retention_days must be at least 1 for point_in_time_recovery",
        ),
        ({"monitoring_interval_seconds": 7}, r"database\.monitoring_interval_seconds"),
        ({"backup_window": "3am"}, r"database\.backup_window"),
        ({"replica_region": "us-east-1"}, r"database\.replica_region: 'us-east-1' must be an AWS region other than"),
        ({"allocated_storage_gb": 5}, r"database\.allocated_storage_gb"),
    ],
)
def test_bad_database_config_names_the_key(override, message):
    with pytest.raises(ComponentArgsError, match=message):
        build(env_plan(99.9, "prod"), **override)


# --- restores are stack config -------------------------------------------------------------------

SNAPSHOT = DatabaseRestore(id="r1", snapshot="pay-env-db-pre-migration-202501310900")
POINT_IN_TIME = DatabaseRestore(id="r2", source="pay-env-db", time="2025-01-31T09:41:00Z")


def test_a_snapshot_restore_is_a_new_instance_from_that_snapshot_in_the_same_place():
    plan = env_plan(99.99, "prod", aws_region="eu-west-1")
    run, db = build(plan, restore=SNAPSHOT)
    instance = primary(run).inputs
    assert instance["identifier"] == "pay-env-db-r1"  # next to the old one, not in its place
    assert instance["snapshotIdentifier"] == SNAPSHOT.snapshot
    assert "restoreToPointInTime" not in instance
    # The snapshot brings the database and its master user; RDS manages a new secret under our key.
    assert "dbName" not in instance and "username" not in instance
    assert "engineVersion" not in instance and "allocatedStorage" not in instance  # the snapshot's own
    assert instance["manageMasterUserPassword"] is True
    assert instance["masterUserSecretKmsKeyId"] == instance["kmsKeyId"]
    # Same network, security group, parameter group as before.
    assert instance["dbSubnetGroupName"] == "pay-env-db" and instance["parameterGroupName"] == "pay-env-db"
    (group,) = [g for g in run.of_type("aws:ec2/securityGroup:SecurityGroup") if g.name == "pay-sg"]
    assert instance["vpcSecurityGroupIds"] == [f"{group.name}-id"]
    logs = sorted(
        g.inputs["name"] for g in run.of_type("aws:cloudwatch/logGroup:LogGroup") if "/rds/" in g.inputs["name"]
    )
    assert "/aws/rds/instance/pay-env-db-r1/postgresql" in logs
    (replica,) = [r for r in run.of_type(RDS) if r.inputs.get("replicateSourceDb")]
    assert replica.inputs["identifier"] == "pay-env-db-r1-eu-central-1"
    assert resolve(db.secret_arn).endswith("rds!db-pay-env-db-r1-AbCdEf")
    violations = check_resources(run.resources, Context.from_plan(plan))
    assert not violations, "\n".join(map(str, violations))


@pytest.mark.parametrize(
    ("restore", "expected"),
    [
        (POINT_IN_TIME, {"sourceDbInstanceIdentifier": "pay-env-db", "restoreTime": "2025-01-31T09:41:00Z"}),
        (
            DatabaseRestore(id="r3", source="pay-env-db-r2", latest=True),
            {"sourceDbInstanceIdentifier": "pay-env-db-r2", "useLatestRestorableTime": True},
        ),
    ],
)
def test_a_point_in_time_restore_replays_the_source_backups(restore, expected):
    run, _ = build(env_plan(99.9, "prod"), restore=restore)
    instance = primary(run).inputs
    assert instance["identifier"] == f"pay-env-db-{restore.id}"
    assert instance["restoreToPointInTime"] == expected
    assert "snapshotIdentifier" not in instance


@pytest.mark.parametrize(("env", "kept"), [("prod", True), ("dev", False)])
def test_a_protected_database_and_its_logs_outlive_their_resource(env, kept):
    # A restore replaces the instance; the old one (and its logs) must stay for the team to retire.
    options = {}
    build(env_plan(99.99, env), restore=SNAPSHOT, options=options)
    assert options["pay-instance"] is kept
    assert options["pay-log-postgresql"] is kept
    if env == "prod":
        assert options["pay-replica"] is True
    assert options["pay-subnets"] is False  # shared by the old and the new instance; never replaced


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("rds:snap", r"database_restore must be a mapping"),
        ({"snapshot": "s1"}, r"database_restore\.id is missing"),
        ({"id": "r1", "snapshot": "s1", "when": "now"}, r"database_restore\.when is not a known setting"),
        ({"id": "R_1", "snapshot": "s1"}, r"database_restore\.id must be 1 to 20 lowercase"),
        ({"id": "r1"}, r"give exactly one source"),
        ({"id": "r1", "snapshot": "s1", "source": "pay-env-db"}, r"give exactly one source"),
        ({"id": "r1", "snapshot": "s 1"}, r"database_restore\.snapshot must be a DB snapshot identifier"),
        ({"id": "r1", "snapshot": "s1", "latest": True}, r"time and latest go with source"),
        ({"id": "r1", "source": "pay-env-db"}, r"exactly one of time .* or latest"),
        ({"id": "r1", "source": "pay-env-db", "time": "yesterday"}, r"database_restore\.time must be a UTC time"),
        ({"id": "r1", "source": "pay-env-db", "time": "2025-02-30T09:41:00Z"}, r"must be a UTC time"),
        ({"id": "r1", "source": "Pay_DB", "latest": True}, r"database_restore\.source must be a DB instance"),
        ({"id": "r1", "source": "pay-env-db", "latest": "yes"}, r"database_restore\.latest must be true or false"),
    ],
)
def test_bad_restore_config_names_the_key(value, message):
    with pytest.raises(ComponentArgsError, match=message):
        DatabaseRestore.from_config(value)


def test_restore_config_reads_back():
    assert DatabaseRestore.from_config(None) is None
    assert DatabaseRestore.from_config({"id": "r1", "snapshot": SNAPSHOT.snapshot}) == SNAPSHOT
    value = {"id": "r2", "source": "pay-env-db", "time": "2025-01-31T09:41:00Z"}
    assert DatabaseRestore.from_config(value) == POINT_IN_TIME


def test_a_restore_id_that_makes_the_identifier_too_long_is_named():
    long_id = DatabaseRestore(id="a" * 20, snapshot="s1")
    plan = env_plan(99.99, "prod")
    with pytest.raises(ComponentArgsError, match=r"database_restore\.id: the instance identifier .* longer than RDS"):
        PostgresDatabaseArgs(
            name="a-very-long-service-name-production",
            region="us-east-1",
            plan=plan.database,
            vpc_id="vpc",
            isolated_subnet_ids=["a", "b"],
            log_retention_days=plan.log_retention_days,
            replica_network=replica_network(plan),
            restore=long_id,
        ).validate()
