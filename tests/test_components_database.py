"""PostgresDatabase under Pulumi mocks: what it creates for every SLA tier and environment."""

from __future__ import annotations

import dataclasses

import pytest

from pulumi_components import ComponentArgsError, Network, NetworkArgs, PostgresDatabase, PostgresDatabaseArgs
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


def build(plan, admit_later=False, **database_overrides):
    made = {}
    database_plan = dataclasses.replace(plan.database, **database_overrides)

    def program():
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
    assert {p["name"]: p["value"] for p in params.inputs["parameters"]}["rds.force_ssl"] == "1"
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
