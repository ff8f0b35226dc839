"""The guardrail rules, one by one: a compliant resource passes, a weakened one is caught,
and a relaxation waives exactly the rule that names it."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
from conftest import render
from pulumi_policy import PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from pulumi_components import guardrails as g
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.tiers import TIERS
from pulumi_components.testing import run_program, stack_config

STRICT = g.Context()  # platinum, nothing relaxed
BRONZE = g.Context(frozenset(), TIERS[0])
TAGS = {"service": "pay", "environment": "prod", "team": "core", "managed-by": "pulumi"}


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


GOOD_DB = {
    "storageEncrypted": True,
    "kmsKeyId": "arn:key",
    "publiclyAccessible": False,
    "dbSubnetGroupName": "pay-prod-db",
    "iamDatabaseAuthenticationEnabled": True,
    "manageMasterUserPassword": True,
    "parameterGroupName": "pay-prod-db",
    "performanceInsightsEnabled": True,
    "monitoringInterval": 15,
    "monitoringRoleArn": "arn:role",
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "backupRetentionPeriod": 14,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "pay-prod-db-final",
    "multiAz": True,
    "tags": TAGS,
}
GOOD_EKS = {
    "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False},
    "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:key"}},
    "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    "accessConfig": {"authenticationMode": "API"},
}
GOOD_LT = {
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}],
}
GOOD_LAMBDA = {
    "kmsKeyArn": "arn:key",
    "environment": {"variables": {"SERVICE": "pay", "DB_SECRET_ARN": "arn:aws:secretsmanager:x"}},
    "tracingConfig": {"mode": "Active"},
    "deadLetterConfig": {"targetArn": "arn:queue"},
    "reservedConcurrentExecutions": 100,
}

# rule -> (resource type, compliant props, weakened props)
CASES: dict[str, tuple[str, dict, dict]] = {
    "kms-key-rotation": (g.KMS_KEY, {"enableKeyRotation": True}, {"enableKeyRotation": False}),
    "log-group-encrypted": (g.LOG_GROUP, {"kmsKeyId": "arn", "retentionInDays": 365}, {"retentionInDays": 365}),
    "rds-storage-encrypted": (g.RDS, GOOD_DB, {**GOOD_DB, "storageEncrypted": False}),
    "ebs-encrypted": (
        g.LAUNCH_TEMPLATE,
        GOOD_LT,
        {**GOOD_LT, "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
    ),
    "sqs-encrypted": (g.QUEUE, {"kmsMasterKeyId": "arn"}, {"name": "dlq"}),
    "eks-secrets-encrypted": (g.EKS, GOOD_EKS, {**GOOD_EKS, "encryptionConfig": None}),
    "lambda-environment-encrypted": (g.LAMBDA, GOOD_LAMBDA, {**GOOD_LAMBDA, "kmsKeyArn": None}),
    "eks-endpoint-private": (
        g.EKS,
        {**GOOD_EKS, "vpcConfig": {"endpointPrivateAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}},
        {**GOOD_EKS, "vpcConfig": {"endpointPrivateAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}},
    ),
    "rds-not-public": (g.RDS, GOOD_DB, {**GOOD_DB, "publiclyAccessible": True}),
    "subnet-no-public-ip": (g.SUBNET, {"mapPublicIpOnLaunch": False}, {"mapPublicIpOnLaunch": True}),
    "no-world-ingress": (
        g.INGRESS_RULE,
        {"referencedSecurityGroupId": "sg-1", "fromPort": 5432},
        {"cidrIpv4": "0.0.0.0/0", "fromPort": 5432},
    ),
    "ingress-from-security-groups": (
        g.INGRESS_RULE,
        {"referencedSecurityGroupId": "sg-1"},
        {"cidrIpv4": "10.0.0.0/8"},
    ),
    "default-security-group-closed": (
        g.DEFAULT_SG,
        {"ingress": [], "egress": []},
        {"egress": [{"cidrBlocks": ["0.0.0.0/0"]}]},
    ),
    "iam-no-wildcard-actions": (
        g.ROLE_POLICY,
        {"policy": policy({"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "arn:q"})},
        {"policy": policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})},
    ),
    "iam-no-open-trust": (
        g.ROLE,
        {"assumeRolePolicy": policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}})},
        {"assumeRolePolicy": policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})},
    ),
    "imdsv2-required": (
        g.LAUNCH_TEMPLATE,
        GOOD_LT,
        {**GOOD_LT, "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 2}},
    ),
    "node-group-launch-template": (g.NODE_GROUP, {"launchTemplate": {"id": "lt-1", "version": "1"}}, {}),
    "eks-access-entries": (g.EKS, GOOD_EKS, {**GOOD_EKS, "accessConfig": {"authenticationMode": "CONFIG_MAP"}}),
    "rds-iam-authentication": (g.RDS, GOOD_DB, {**GOOD_DB, "iamDatabaseAuthenticationEnabled": False}),
    "rds-tls-required": (
        g.RDS_PARAMETERS,
        {"family": "postgres17", "parameters": [{"name": "rds.force_ssl", "value": "1"}]},
        {"family": "postgres17", "parameters": [{"name": "rds.force_ssl", "value": "0"}]},
    ),
    "rds-own-parameter-group": (g.RDS, GOOD_DB, {**GOOD_DB, "parameterGroupName": "default.postgres17"}),
    "rds-managed-master-password": (
        g.RDS,
        GOOD_DB,
        {**GOOD_DB, "manageMasterUserPassword": False, "password": "hunter2hunter2"},
    ),
    "no-plaintext-secrets": (
        g.LAMBDA,
        GOOD_LAMBDA,
        {**GOOD_LAMBDA, "environment": {"variables": {"DB_PASSWORD": "hunter2hunter2"}}},
    ),
    "eks-control-plane-logs": (g.EKS, GOOD_EKS, {**GOOD_EKS, "enabledClusterLogTypes": ["api"]}),
    "log-group-retention": (
        g.LOG_GROUP,
        {"kmsKeyId": "arn", "retentionInDays": 365},
        {"kmsKeyId": "arn", "retentionInDays": 30},
    ),
    "rds-monitoring": (g.RDS, GOOD_DB, {**GOOD_DB, "performanceInsightsEnabled": False, "monitoringInterval": 0}),
    "lambda-tracing": (g.LAMBDA, GOOD_LAMBDA, {**GOOD_LAMBDA, "tracingConfig": {"mode": "PassThrough"}}),
    "api-access-logging": (
        g.STAGE,
        {
            "accessLogSettings": {"destinationArn": "arn:logs"},
            "defaultRouteSettings": {"throttlingRateLimit": 100, "throttlingBurstLimit": 200},
        },
        {"defaultRouteSettings": {}},
    ),
    "required-tags": (
        g.QUEUE,
        {"kmsMasterKeyId": "arn", "tags": TAGS},
        {"kmsMasterKeyId": "arn", "tags": {"team": "x"}},
    ),
    "rds-backup-retention": (g.RDS, GOOD_DB, {**GOOD_DB, "backupRetentionPeriod": 3}),
    "rds-deletion-protection": (g.RDS, GOOD_DB, {**GOOD_DB, "deletionProtection": False}),
    "rds-final-snapshot": (g.RDS, GOOD_DB, {**GOOD_DB, "skipFinalSnapshot": True}),
    "rds-multi-az": (g.RDS, GOOD_DB, {**GOOD_DB, "multiAz": False}),
    "lambda-dead-letter": (g.LAMBDA, GOOD_LAMBDA, {**GOOD_LAMBDA, "deadLetterConfig": None}),
    "lambda-reserved-concurrency": (g.LAMBDA, GOOD_LAMBDA, {**GOOD_LAMBDA, "reservedConcurrentExecutions": -1}),
    "s3-public-access-blocked": (
        g.BUCKET_PUBLIC_ACCESS,
        dict.fromkeys(g.PUBLIC_ACCESS_FLAGS, True),
        {**dict.fromkeys(g.PUBLIC_ACCESS_FLAGS, True), "restrictPublicBuckets": False},
    ),
    "s3-encrypted": (
        g.BUCKET_ENCRYPTION,
        {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
        {"rules": []},
    ),
    "s3-tls-only": (
        g.BUCKET_POLICY,
        {
            "policy": policy(
                {"Effect": "Allow", "Principal": {"Service": "x"}, "Action": "s3:PutObject", "Resource": "arn:b/*"},
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": ["arn:b", "arn:b/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            )
        },
        {"policy": policy({"Effect": "Allow", "Principal": {"Service": "x"}, "Action": "s3:PutObject"})},
    ),
    "acm-dns-validation": (
        g.CERTIFICATE,
        {"domainName": "pay.example.com", "validationMethod": "DNS"},
        {"domainName": "pay.example.com", "validationMethod": "EMAIL"},
    ),
    "api-domain-tls": (
        g.API_DOMAIN,
        {"domainNameConfiguration": {"securityPolicy": "TLS_1_2"}},
        {"domainNameConfiguration": {"securityPolicy": "TLS_1_0"}},
    ),
}


def rules_hit(resource_type, props, ctx=STRICT):
    return {v.rule for v in g.check_resource(resource_type, "r", props, ctx)}


def test_every_rule_has_a_case():
    assert set(CASES) == {rule.name for rule in g.RULES}


def test_each_rule_is_registered_once_next_to_its_check():
    names = [rule.name for rule in (*g.RULES, *g.STACK_RULES)]
    assert len(names) == len(set(names))
    # A second rule of an existing name (a policy name) is refused, and the registry is left as it was.
    before = list(g.RULES)
    with pytest.raises(ValueError, match="registered twice"):
        g.guardrail("kms-key-rotation", "security", "Again.", applies_to=(g.KMS_KEY,))(lambda p, ctx: ())
    with pytest.raises(ValueError, match="registered twice"):
        g.stack_guardrail("vpc-flow-logs", "security", "Again.")(lambda resources, ctx: ())
    with pytest.raises(ValueError, match="kind must be 'security' or 'reliability'"):
        g.guardrail("cost-cap", "cost", "A new kind.", applies_to=g.EVERY_RESOURCE)(lambda p, ctx: ())
    assert g.RULES == before


@pytest.mark.parametrize("rule", sorted(CASES))
def test_compliant_resource_passes(rule):
    resource_type, good, _ = CASES[rule]
    assert rule not in rules_hit(resource_type, good)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_weakened_resource_is_caught(rule):
    resource_type, _, bad = CASES[rule]
    assert rule in rules_hit(resource_type, bad)


@pytest.mark.parametrize("rule", [r for r in g.RULES if r.relaxation])
def test_a_relaxation_waives_its_rule(rule):
    resource_type, _, bad = CASES[rule.name]
    relaxed = g.Context(frozenset({rule.relaxation}), TIERS[-1])
    other = g.Context(frozenset({"some-other-relaxation"}), TIERS[-1])
    assert rule.name not in rules_hit(resource_type, bad, relaxed)
    assert rule.name in rules_hit(resource_type, bad, other)


def test_relaxed_floors_still_hold():
    dev = g.Context(frozenset({"short-log-retention", "short-backup-retention"}))
    assert "log-group-retention" in rules_hit(g.LOG_GROUP, {"kmsKeyId": "a"}, dev)  # never-expiring is not "short"
    assert "rds-backup-retention" in rules_hit(g.RDS, {**GOOD_DB, "backupRetentionPeriod": 0}, dev)
    assert "rds-backup-retention" not in rules_hit(g.RDS, {**GOOD_DB, "backupRetentionPeriod": 1}, dev)


def test_multi_az_follows_the_tier():
    single = {**GOOD_DB, "multiAz": False}
    assert "rds-multi-az" in rules_hit(g.RDS, single, STRICT)
    assert "rds-multi-az" not in rules_hit(g.RDS, single, BRONZE)


def test_replicas_are_exempt_from_primary_only_rules():
    replica = {**GOOD_DB, "replicateSourceDb": "arn:db", "skipFinalSnapshot": True, "multiAz": False}
    replica.pop("manageMasterUserPassword")
    assert not rules_hit(g.RDS, replica)


def test_unknown_values_count_as_set_but_never_as_wrong():
    assert not rules_hit(g.LOG_GROUP, {"kmsKeyId": g.UNKNOWN, "retentionInDays": g.UNKNOWN})
    assert not rules_hit(g.ROLE_POLICY, {"policy": g.UNKNOWN})
    assert "eks-access-entries" in rules_hit(g.EKS, {**GOOD_EKS, "accessConfig": {"authenticationMode": g.UNKNOWN}})


def test_secret_values_are_found_anywhere():
    key = "AKIA" + "ABCDEFGHIJKLMNOP"
    assert "no-plaintext-secrets" in rules_hit(g.ROLE_POLICY, {"tags": {"note": f"key {key}"}})
    dsn = "postgres://app:" + "s3cret@db:5432/app"
    assert "no-plaintext-secrets" in rules_hit(g.LAMBDA, {**GOOD_LAMBDA, "description": dsn})


# --- stack rules --------------------------------------------------------------------------------


def network(prefix, azs, nats, standby=False):
    extra = {g.STANDBY_TAG: "standby"} if standby else {}
    resources = [g.Resource(g.VPC, f"{prefix}-vpc", {"tags": {"Name": f"{prefix}-vpc", **extra}})]
    resources.append(g.Resource(g.FLOW_LOG, f"{prefix}-fl", {"trafficType": "ALL"}))
    for az in range(azs):
        for tier in ("public", "private", "isolated"):
            tags = {"Name": f"{prefix}-{tier}-{az}", "tier": tier, **extra}
            resources.append(g.Resource(g.SUBNET, f"{prefix}-{tier}-{az}", {"tags": tags}))
    for az in range(nats):
        resources.append(g.Resource(g.NAT, f"{prefix}-nat-{az}", {"tags": {"Name": f"{prefix}-nat-{az}", **extra}}))
    return resources


def stack_rules(resources, ctx=STRICT):
    return {v.rule for v in g.check_stack(resources, ctx)}


def test_a_network_as_the_tier_asks_passes():
    assert not stack_rules(network("pay-prod", 3, 3))


def test_nat_and_az_rules_follow_tier_and_relaxations():
    lean = network("pay-prod", 2, 1)
    assert stack_rules(lean) == {"nat-gateway-per-az", "availability-zones"}
    assert not stack_rules(lean, BRONZE)
    assert not stack_rules(lean, g.Context(frozenset({"single-nat-gateway", "fewer-availability-zones"})))


def test_the_standby_network_is_left_out():
    assert not stack_rules(network("pay-prod", 3, 3) + network("pay-prod-dr", 3, 1, standby=True))


def test_every_vpc_needs_a_flow_log():
    resources = [r for r in network("pay-prod", 3, 3) if r.type != g.FLOW_LOG]
    assert "vpc-flow-logs" in stack_rules(resources)


def test_every_bucket_needs_its_public_access_block_encryption_and_policy():
    bucket = g.Resource(g.BUCKET, "logs", {"bucketPrefix": "pay-prod-alb-logs-"})
    baseline = [
        g.Resource(g.BUCKET_PUBLIC_ACCESS, "logs-private", {}),
        g.Resource(g.BUCKET_ENCRYPTION, "logs-encryption", {}),
        g.Resource(g.BUCKET_POLICY, "logs-policy", {}),
    ]
    assert "s3-bucket-baseline" not in stack_rules([bucket, *baseline])
    for missing in baseline:
        found = g.check_stack([bucket, *(r for r in baseline if r is not missing)], STRICT)
        assert [v.rule for v in found] == ["s3-bucket-baseline"], missing.type


def test_cross_region_replica_rule():
    primary = g.Resource(g.RDS, "db", GOOD_DB)
    replica = g.Resource(g.RDS, "replica", {**GOOD_DB, "replicateSourceDb": "arn:db"})
    assert "cross-region-replica" in stack_rules([primary])
    assert "cross-region-replica" not in stack_rules([primary, replica])
    assert "cross-region-replica" not in stack_rules([primary], g.Context(frozenset({"no-cross-region-replica"})))
    assert "cross-region-replica" not in stack_rules([primary], BRONZE)


def test_context_from_a_plan_reads_tier_and_relaxations():
    plan = plan_service(
        Answers(project_name="Pay", service_slug="pay", team="core", owner_email="c@example.com", sla=99.95)
    )
    dev = g.Context.from_plan(plan.environments["dev"])
    assert dev.tier.name == "gold" and dev.relaxed("no-deletion-protection")
    assert not g.Context.from_plan(plan.prod).relaxations


# --- the generated repo: its guardrails page and its CrossGuard pack ---------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return render(tmp_path_factory.mktemp("guardrails"), service_slug="pay", sla=99.99, database="postgres")


def test_the_page_documents_every_rule_and_relaxation(generated):
    page = (generated / "docs" / "guardrails.md").read_text()
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", page, flags=re.M))
    assert {doc.name for doc in g.catalogue()} <= documented
    plan = plan_service(
        Answers(project_name="Pay", service_slug="pay", team="core", owner_email="c@example.com", sla=99.99)
    )
    relaxations = {name for env in plan.environments.values() for name in env.relaxations}
    assert relaxations <= documented
    for doc in g.catalogue():
        if doc.relaxation:
            assert re.search(rf"^\| `{doc.relaxation}` \|.*`{doc.name}` \|$", page, flags=re.M)


def _load_pack(repo):
    # A name of its own, so packs of different rendered repos never share a cached module.
    spec = importlib.util.spec_from_file_location(f"pack_{abs(hash(repo))}", repo / "policy" / "guardrail_policies.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pack_violations(pack, stack, resources):
    found = []
    for policy in pack.POLICIES:

        def report(message, urn=None, name=policy.name):
            found.append((name, message))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                urn = f"urn:pulumi:{stack}::pay::{r.type}::{r.name}"
                policy.validate(
                    ResourceValidationArgs(r.type, unknown_checking_proxy(r.inputs), urn, r.name, None, None), report
                )
        else:
            items = [
                PolicyResource(
                    r.type,
                    unknown_checking_proxy(r.inputs),
                    f"urn:pulumi:{stack}::pay::{r.type}::{r.name}",
                    r.name,
                    None,
                    None,
                    None,
                    [],
                    {},
                )
                for r in resources
            ]
            policy.validate(StackValidationArgs(items), report)
    return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_policy_pack_runs_the_same_rules_with_the_stack_relaxations(generated, stack):
    pack = _load_pack(generated)
    assert [p.name for p in pack.POLICIES] == [r.name for r in (*g.RULES, *g.STACK_RULES)]
    image = {"pay:image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/pay@sha256:" + "0" * 64}  # a release
    run = run_program(
        generated / "infra", project="pay", stack=stack, config=stack_config(generated / f"Pulumi.{stack}.yaml") | image
    )
    assert _pack_violations(pack, stack, run.resources) == []
    (db,) = [r for r in run.of_type(g.RDS) if not r.inputs.get("replicateSourceDb")]
    weak = type(db)(db.type, db.name, {**db.inputs, "deletionProtection": False, "publiclyAccessible": True})
    rules = {name for name, _ in _pack_violations(pack, stack, [weak if r is db else r for r in run.resources])}
    # dev's plan relaxes deletion protection; nothing relaxes a public database.
    assert rules == ({"rds-not-public"} if stack == "dev" else {"rds-not-public", "rds-deletion-protection"})
