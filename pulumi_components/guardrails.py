"""Guardrails: the security and reliability rules, written once as plain functions.

Each rule looks at one resource (its Pulumi type token and its input
properties, camelCase as the engine sees them) or at the whole stack, and
returns what is wrong. A rule is registered where its check is defined, with
`@guardrail(name, kind, description, applies_to=..., relaxation=...)` or
`@stack_guardrail(...)`; `RULES` and `STACK_RULES` list them in that order.

Two runners use the same rules: the tests, over the
resources captured under Pulumi mocks (`check_resources`), and the CrossGuard
policy pack in the generated repo's `policy/`, during `pulumi preview
--policy-pack policy`.

A rule that an environment may weaken names its relaxation; it is waived only
when the environment's plan lists that name in `relaxations` (dev, mostly).
Reliability rules that depend on the SLA read the plan's tier. Nothing else
switches a rule off.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .reliability.tiers import TIERS, Tier

# A value known only after `pulumi up` (an ARN, an id); the policy pack passes
# this for props that are unknown during preview. It counts as "set", never as
# a specific value.
UNKNOWN = "<unknown during preview>"

REQUIRED_TAGS = ("service", "environment", "team", "managed-by")
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
MIN_LOG_RETENTION_DAYS = 90
MIN_BACKUP_RETENTION_DAYS = 7
WORLD = ("0.0.0.0/0", "::/0")
STANDBY_TAG = "network-role"  # value "standby": a DR landing zone, sized for failover, not for serving

_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.IGNORECASE)
_SECRET_VALUE = (
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # an AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bpostgres(ql)?://[^:/\s]+:[^@/\s]+@"),  # a connection string with a password in it
)


@dataclass(frozen=True)
class Context:
    """What a stack's plan tells the rules: its tier and its named relaxations."""

    relaxations: frozenset[str] = frozenset()
    tier: Tier = TIERS[-1]  # unknown plan: hold the stack to the strictest tier

    @classmethod
    def from_plan(cls, plan: Any) -> Context:
        tier = next((t for t in TIERS if t.name == plan.tier), TIERS[-1])
        return cls(frozenset(plan.relaxations), tier)

    def relaxed(self, name: str) -> bool:
        return name in self.relaxations


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]


@dataclass(frozen=True)
class Violation:
    rule: str
    resource: str  # "type name", or "stack" for a stack rule
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.resource}: {self.message}"


Check = Callable[[Mapping[str, Any], Context], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Context], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # "security" or "reliability"
    description: str
    resource_types: tuple[str, ...]  # empty: every resource
    check: Check
    relaxation: str = ""  # the plan relaxation that weakens this rule, if any

    def applies_to(self, resource_type: str) -> bool:
        return not self.resource_types or resource_type in self.resource_types


@dataclass(frozen=True)
class StackRule:
    name: str
    kind: str
    description: str
    check: StackCheck
    relaxation: str = ""


# The registries, in the order the rules are defined below: the tests, the policy pack
# (one policy per rule) and `catalogue()` read them. Each rule registers itself next to its check.
RULES: list[Rule] = []
STACK_RULES: list[StackRule] = []
EVERY_RESOURCE: tuple[str, ...] = ()  # `applies_to` of a rule that looks at every resource


def _register(registry: list, rule: Rule | StackRule) -> None:
    if any(r.name == rule.name for r in (*RULES, *STACK_RULES)):
        raise ValueError(f"guardrail {rule.name!r} is registered twice; rule names are policy names and must be unique")
    if rule.kind not in ("security", "reliability"):
        raise ValueError(f"guardrail {rule.name!r}: kind must be 'security' or 'reliability', not {rule.kind!r}")
    registry.append(rule)


def guardrail(
    name: str, kind: str, description: str, *, applies_to: tuple[str, ...], relaxation: str = ""
) -> Callable[[Check], Check]:
    """Register `check(props, ctx)` as the resource rule `name` for the types in `applies_to`
    (`EVERY_RESOURCE` for all); `relaxation` names the plan relaxation that weakens it, if any."""

    def register(check: Check) -> Check:
        _register(RULES, Rule(name, kind, description, tuple(applies_to), check, relaxation))
        return check

    return register


def stack_guardrail(
    name: str, kind: str, description: str, *, relaxation: str = ""
) -> Callable[[StackCheck], StackCheck]:
    """Register `check(resources, ctx)` as the stack rule `name`, which sees every resource at once."""

    def register(check: StackCheck) -> StackCheck:
        _register(STACK_RULES, StackRule(name, kind, description, check, relaxation))
        return check

    return register


# --- helpers -----------------------------------------------------------------------------------


def _set(value: Any) -> bool:
    return value not in (None, "", [], {}, ())


def _true(value: Any) -> bool:
    return value is True or value == "true" or value == UNKNOWN


def _number(value: Any) -> float | None:
    # The engine carries every number as a float; a bool is not a number here.
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _get(props: Mapping[str, Any], *path: str | int) -> Any:
    value: Any = props
    for key in path:
        if isinstance(key, int):
            if not isinstance(value, Sequence) or isinstance(value, str) or len(value) <= key:
                return None
        elif not isinstance(value, Mapping):
            return None
        value = value[key] if isinstance(key, int) else value.get(key)
    return value


def _items(value: Any) -> list[Any]:
    if value in (None, UNKNOWN):
        return []
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, Sequence):
        for item in value:
            yield from _strings(item)


def _policy_statements(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, str):
        if document == UNKNOWN:
            return []
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, Mapping):
        return []
    return [s for s in _items(document.get("Statement")) if isinstance(s, Mapping)]


def _is_replica(props: Mapping[str, Any]) -> bool:
    return _set(props.get("replicateSourceDb"))


# --- resource rules ----------------------------------------------------------------------------

KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RDS = "aws:rds/instance:Instance"
RDS_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_INSTANCE = "aws:ec2/instance:Instance"
QUEUE = "aws:sqs/queue:Queue"
EKS = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAMBDA = "aws:lambda/function:Function"
SUBNET = "aws:ec2/subnet:Subnet"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
STAGE = "aws:apigatewayv2/stage:Stage"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
NAT = "aws:ec2/natGateway:NatGateway"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
CERTIFICATE = "aws:acm/certificate:Certificate"
API_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
S3_ENCRYPTION = ("AES256", "aws:kms", "aws:kms:dsse")


# Encryption at rest


@guardrail("kms-key-rotation", "security", "Customer-managed KMS keys rotate yearly.", applies_to=(KMS_KEY,))
def kms_rotation(p, ctx):
    if not _true(p.get("enableKeyRotation")):
        yield "customer-managed keys must rotate (enableKeyRotation: true)"


@guardrail(
    "log-group-encrypted", "security", "Log groups are encrypted with a customer-managed key.", applies_to=(LOG_GROUP,)
)
def log_group_encrypted(p, ctx):
    if not _set(p.get("kmsKeyId")):
        yield "log group must be encrypted with a customer-managed KMS key (kmsKeyId)"


@guardrail(
    "rds-storage-encrypted", "security", "Database storage is encrypted with a customer-managed key.", applies_to=(RDS,)
)
def rds_encrypted(p, ctx):
    if not _true(p.get("storageEncrypted")) or not _set(p.get("kmsKeyId")):
        yield "database storage must be encrypted with a customer-managed KMS key"


@guardrail("ebs-encrypted", "security", "Node volumes are encrypted.", applies_to=(LAUNCH_TEMPLATE,))
def ebs_encrypted(p, ctx):
    for mapping in _items(p.get("blockDeviceMappings")):
        if not _true(_get(mapping, "ebs", "encrypted")):
            yield f"volume {mapping.get('deviceName')!r} must be encrypted"


@guardrail("sqs-encrypted", "security", "Queues (dead letters included) are encrypted.", applies_to=(QUEUE,))
def sqs_encrypted(p, ctx):
    if not _set(p.get("kmsMasterKeyId")) and not _true(p.get("sqsManagedSseEnabled")):
        yield "queue must be encrypted at rest"


@guardrail(
    "eks-secrets-encrypted", "security", "Kubernetes secrets are envelope-encrypted with KMS.", applies_to=(EKS,)
)
def eks_secrets_encrypted(p, ctx):
    config = p.get("encryptionConfig") or {}
    if "secrets" not in _items(_get(config, "resources")) or not _set(_get(config, "provider", "keyArn")):
        yield "Kubernetes secrets must be envelope-encrypted with a KMS key"


@guardrail(
    "s3-encrypted",
    "security",
    "S3 buckets declare default encryption (SSE-S3 where the writer supports nothing else, else KMS).",
    applies_to=(BUCKET_ENCRYPTION,),
)
def s3_encrypted(p, ctx):
    rules = [r for r in _items(p.get("rules")) if isinstance(r, Mapping)]
    algorithms = [_get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm") for r in rules]
    if not algorithms or any(a not in (*S3_ENCRYPTION, UNKNOWN) for a in algorithms):
        yield f"default encryption must be one of {', '.join(S3_ENCRYPTION)}; got {algorithms or 'none'}"


@guardrail(
    "lambda-environment-encrypted",
    "security",
    "Function environment variables are encrypted with KMS.",
    applies_to=(LAMBDA,),
)
def lambda_environment_encrypted(p, ctx):
    if _get(p, "environment", "variables") and not _set(p.get("kmsKeyArn")):
        yield "function environment must be encrypted with a customer-managed KMS key (kmsKeyArn)"


# Nothing public that should be private


@guardrail(
    "eks-endpoint-private",
    "security",
    "The Kubernetes API is private; a public endpoint only for named CIDRs.",
    applies_to=(EKS,),
)
def eks_endpoint_private(p, ctx):
    vpc = p.get("vpcConfig") or {}
    if not _true(vpc.get("endpointPrivateAccess")):
        yield "the API endpoint must be reachable privately (endpointPrivateAccess: true)"
    if vpc.get("endpointPublicAccess") is not False:  # the provider's default is public
        cidrs = _items(vpc.get("publicAccessCidrs"))
        if not cidrs or any(c in WORLD for c in cidrs):
            yield "a public API endpoint must be limited to named CIDRs, never the whole internet"


@guardrail(
    "rds-not-public",
    "security",
    "Databases are not publicly accessible and sit in isolated subnets.",
    applies_to=(RDS,),
)
def rds_private(p, ctx):
    if _true(p.get("publiclyAccessible")) and p.get("publiclyAccessible") != UNKNOWN:
        yield "database must not be publicly accessible"
    if not _set(p.get("dbSubnetGroupName")):
        yield "database must sit in a subnet group of isolated subnets (dbSubnetGroupName)"


@guardrail(
    "s3-public-access-blocked",
    "security",
    "S3 public access blocks turn on all four settings.",
    applies_to=(BUCKET_PUBLIC_ACCESS,),
)
def s3_public_access_blocked(p, ctx):
    off = [flag for flag in PUBLIC_ACCESS_FLAGS if not _true(p.get(flag))]
    if off:
        yield f"public access block must turn on every setting; off: {', '.join(off)}"


@guardrail("subnet-no-public-ip", "security", "No subnet hands out public IPs.", applies_to=(SUBNET,))
def subnet_no_public_ip(p, ctx):
    if p.get("mapPublicIpOnLaunch") is True:
        yield "subnets must not give instances public IPs"


def _world(rule: Mapping[str, Any]) -> bool:
    cidrs = _items(rule.get("cidrBlocks")) + _items(rule.get("ipv6CidrBlocks"))
    cidrs += [rule.get("cidrIpv4"), rule.get("cidrIpv6")]
    return any(c in WORLD for c in cidrs)


@guardrail(
    "no-world-ingress",
    "security",
    "No security group admits the whole internet.",
    applies_to=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
)
def no_world_ingress(p, ctx):
    rules = _items(p.get("ingress"))  # inline rules of a SecurityGroup
    if p.get("type") == "ingress" or "cidrIpv4" in p or "cidrIpv6" in p:  # a standalone rule
        rules.append(p)
    if any(_world(r) for r in rules if isinstance(r, Mapping)):
        yield "ingress must never be open to the whole internet"


@guardrail(
    "ingress-from-security-groups",
    "security",
    "Ingress rules name a source security group, not an address range (least privilege).",
    applies_to=(INGRESS_RULE,),
)
def ingress_from_security_groups(p, ctx):
    if not (_set(p.get("referencedSecurityGroupId")) or _set(p.get("prefixListId"))):
        yield "ingress must name a source security group (or prefix list), not a CIDR range"


@guardrail(
    "default-security-group-closed",
    "security",
    "The VPC's default security group has no rules.",
    applies_to=(DEFAULT_SG,),
)
def default_sg_closed(p, ctx):
    if _items(p.get("ingress")) or _items(p.get("egress")):
        yield "the default security group must have no rules"


# Encryption in transit


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    condition = _get(statement, "Condition", "Bool") or {}
    return statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false"


@guardrail(
    "s3-tls-only", "security", "S3 bucket policies deny every request made without TLS.", applies_to=(BUCKET_POLICY,)
)
def s3_tls_only(p, ctx):
    if p.get("policy") == UNKNOWN:
        return
    if not any(_denies_insecure_transport(s) for s in _policy_statements(p.get("policy"))):
        yield "bucket policy must deny every request without TLS (aws:SecureTransport false)"


@guardrail(
    "acm-dns-validation",
    "security",
    "Public certificates are DNS-validated, so ACM renews them unattended.",
    applies_to=(CERTIFICATE,),
)
def acm_dns_validation(p, ctx):
    if p.get("validationMethod") not in ("DNS", UNKNOWN) and not _set(p.get("certificateAuthorityArn")):
        yield "public certificates must be validated through DNS, renewed without anyone answering an e-mail"


@guardrail("api-domain-tls", "security", "API custom domains require TLS 1.2 or later.", applies_to=(API_DOMAIN,))
def api_domain_tls(p, ctx):
    policy = _get(p, "domainNameConfiguration", "securityPolicy")
    if policy not in ("TLS_1_2", UNKNOWN) and not str(policy).startswith("SecurityPolicy_TLS13"):
        yield f"custom domains must require TLS 1.2 or later (securityPolicy TLS_1_2); got {policy!r}"


# Identity


@guardrail(
    "iam-no-wildcard-actions",
    "security",
    "IAM policies grant listed actions, never `*` or `service:*`.",
    applies_to=(ROLE_POLICY, POLICY, ROLE),
)
def iam_no_wildcards(p, ctx):
    documents = [p.get("policy")] + [i.get("policy") for i in _items(p.get("inlinePolicies")) if isinstance(i, Mapping)]
    for statement in (s for d in documents for s in _policy_statements(d)):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            yield "Allow with NotAction grants everything else; list the actions"
        for action in _items(statement.get("Action")):
            if action == "*" or (isinstance(action, str) and action.endswith(":*")):
                yield f"wildcard action {action!r}; grant the actions the workload uses"


@guardrail("iam-no-open-trust", "security", "No role trusts every AWS principal.", applies_to=(ROLE,))
def iam_no_open_trust(p, ctx):
    for statement in _policy_statements(p.get("assumeRolePolicy")):
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, Mapping) else principal
        if statement.get("Effect") == "Allow" and "*" in _items(aws) and not statement.get("Condition"):
            yield "role trusts any AWS principal without a condition"


@guardrail(
    "imdsv2-required",
    "security",
    "Instances require IMDSv2 with a hop limit of 1.",
    applies_to=(LAUNCH_TEMPLATE, EC2_INSTANCE),
)
def imdsv2(p, ctx):
    options = p.get("metadataOptions") or {}
    if options.get("httpTokens") != "required":
        yield "instance metadata must require IMDSv2 tokens (httpTokens: required)"
    if options.get("httpPutResponseHopLimit") not in (1, UNKNOWN):
        yield "IMDS hop limit must be 1 so pods cannot reach the node's credentials"


@guardrail(
    "node-group-launch-template", "security", "Managed node groups use a launch template.", applies_to=(NODE_GROUP,)
)
def node_group_launch_template(p, ctx):
    if not _set(p.get("launchTemplate")):
        yield "managed node groups must use a launch template (it carries IMDSv2 and disk encryption)"


@guardrail(
    "eks-access-entries",
    "security",
    "EKS authenticates with access entries, not the aws-auth ConfigMap.",
    applies_to=(EKS,),
)
def eks_access_entries(p, ctx):
    if _get(p, "accessConfig", "authenticationMode") != "API":
        yield "cluster authentication must use access entries only (authenticationMode: API)"


@guardrail("rds-iam-authentication", "security", "IAM database authentication is on.", applies_to=(RDS,))
def rds_iam_auth(p, ctx):
    if not _true(p.get("iamDatabaseAuthenticationEnabled")):
        yield "IAM database authentication must be on"


@guardrail("rds-tls-required", "security", "PostgreSQL parameter groups force TLS.", applies_to=(RDS_PARAMETERS,))
def rds_parameters_force_tls(p, ctx):
    if not str(p.get("family", "")).startswith("postgres"):
        return
    params = {str(x.get("name")): str(x.get("value")) for x in _items(p.get("parameters")) if isinstance(x, Mapping)}
    if params.get("rds.force_ssl") != "1":
        yield "PostgreSQL parameter group must set rds.force_ssl = 1"


@guardrail(
    "rds-own-parameter-group", "security", "Databases use their own (TLS-forcing) parameter group.", applies_to=(RDS,)
)
def rds_custom_parameters(p, ctx):
    group = p.get("parameterGroupName")
    if not _set(group) or str(group).startswith("default."):
        yield "database must use its own parameter group (the default one does not force TLS)"


# No plaintext secrets


@guardrail(
    "rds-managed-master-password",
    "security",
    "The master password lives in Secrets Manager, never in code or config.",
    applies_to=(RDS,),
)
def rds_managed_password(p, ctx):
    if _set(p.get("password")) or _set(p.get("passwordWo")):
        yield "master password must not be set in code or config"
    if not _is_replica(p) and not _true(p.get("manageMasterUserPassword")):
        yield "master password must be managed by Secrets Manager (manageMasterUserPassword: true)"


@guardrail(
    "no-plaintext-secrets",
    "security",
    "No access key, private key or password appears in any property.",
    applies_to=EVERY_RESOURCE,
)
def no_plaintext_secrets(p, ctx):
    for value in _strings(p):
        if any(pattern.search(value) for pattern in _SECRET_VALUE):
            yield "a credential appears in plain text"
            break
    variables = _get(p, "environment", "variables")
    if isinstance(variables, Mapping):
        for key, value in variables.items():
            if _SECRET_NAME.search(key) and not (str(value).startswith("arn:") or value == UNKNOWN):
                yield f"environment variable {key} looks like a secret; pass a Secrets Manager ARN instead"


# Logging on


@guardrail("eks-control-plane-logs", "security", "Every EKS control-plane log type is on.", applies_to=(EKS,))
def eks_control_plane_logs(p, ctx):
    missing = [t for t in EKS_LOG_TYPES if t not in _items(p.get("enabledClusterLogTypes"))]
    if missing:
        yield f"control-plane log types off: {', '.join(missing)}"


@guardrail(
    "log-group-retention",
    "security",
    f"Log groups keep logs at least {MIN_LOG_RETENTION_DAYS} days (any finite period when relaxed).",
    applies_to=(LOG_GROUP,),
    relaxation="short-log-retention",
)
def log_group_retention(p, ctx):
    days = p.get("retentionInDays")
    if days == UNKNOWN:
        return
    floor = 1 if ctx.relaxed("short-log-retention") else MIN_LOG_RETENTION_DAYS
    if (_number(days) or 0) < floor:
        yield f"log retention must be set and at least {floor} days; got {days!r}"


@guardrail(
    "rds-monitoring",
    "security",
    "Databases export logs, with Performance Insights and enhanced monitoring.",
    applies_to=(RDS,),
)
def rds_monitoring(p, ctx):
    if not _true(p.get("performanceInsightsEnabled")):
        yield "Performance Insights must be on"
    if not p.get("monitoringInterval") or not _set(p.get("monitoringRoleArn")):
        yield "enhanced monitoring must be on (monitoringInterval and monitoringRoleArn)"
    if "postgresql" not in _items(p.get("enabledCloudwatchLogsExports")):
        yield "the postgresql log must be exported to CloudWatch Logs"


@guardrail("lambda-tracing", "security", "Functions trace with X-Ray.", applies_to=(LAMBDA,))
def lambda_tracing(p, ctx):
    if _get(p, "tracingConfig", "mode") != "Active":
        yield "X-Ray tracing must be active"


@guardrail("api-access-logging", "security", "HTTP API stages log access and throttle.", applies_to=(STAGE,))
def api_logging_and_throttling(p, ctx):
    if not _set(_get(p, "accessLogSettings", "destinationArn")):
        yield "HTTP API stage must write access logs"
    route = p.get("defaultRouteSettings") or {}
    if not route.get("throttlingRateLimit") or not route.get("throttlingBurstLimit"):
        yield "HTTP API stage must throttle (throttlingRateLimit and throttlingBurstLimit)"


@guardrail(
    "required-tags",
    "security",
    "Every taggable resource carries service, environment, team and managed-by.",
    applies_to=EVERY_RESOURCE,
)
def required_tags(p, ctx):
    if "tags" not in p or p.get("tags") == UNKNOWN:
        return
    tags = p.get("tags") or {}
    missing = [t for t in REQUIRED_TAGS if t not in tags]
    if missing:
        yield f"missing tags: {', '.join(missing)}"


# Backups and deletion protection per plan


@guardrail(
    "rds-backup-retention",
    "reliability",
    f"Automated backups (point-in-time recovery) are kept at least {MIN_BACKUP_RETENTION_DAYS} days "
    "(one day when relaxed).",
    applies_to=(RDS,),
    relaxation="short-backup-retention",
)
def rds_backups(p, ctx):
    if _is_replica(p):
        return
    days = p.get("backupRetentionPeriod")
    floor = 1 if ctx.relaxed("short-backup-retention") else MIN_BACKUP_RETENTION_DAYS
    if days != UNKNOWN and (_number(days) or 0) < floor:
        yield f"automated backups (and point-in-time recovery) must be kept at least {floor} days; got {days!r}"


@guardrail(
    "rds-deletion-protection",
    "reliability",
    "Databases have deletion protection.",
    applies_to=(RDS,),
    relaxation="no-deletion-protection",
)
def rds_deletion_protection(p, ctx):
    if not ctx.relaxed("no-deletion-protection") and not _true(p.get("deletionProtection")):
        yield "deletion protection must be on"


@guardrail(
    "rds-final-snapshot",
    "reliability",
    "Deleting a database takes a final snapshot.",
    applies_to=(RDS,),
    relaxation="no-final-snapshot",
)
def rds_final_snapshot(p, ctx):
    if _is_replica(p) or ctx.relaxed("no-final-snapshot"):
        return
    if _true(p.get("skipFinalSnapshot")) or not _set(p.get("finalSnapshotIdentifier")):
        yield "deleting the database must take a final snapshot"


@guardrail(
    "rds-multi-az",
    "reliability",
    "Databases are Multi-AZ when the tier says so.",
    applies_to=(RDS,),
    relaxation="single-az-database",
)
def rds_multi_az(p, ctx):
    if _is_replica(p) or not ctx.tier.db_multi_az or ctx.relaxed("single-az-database"):
        return
    if not _true(p.get("multiAz")):
        yield f"tier {ctx.tier.name} requires a Multi-AZ database"


@guardrail(
    "lambda-dead-letter",
    "reliability",
    "Functions send failed async events to a dead-letter queue.",
    applies_to=(LAMBDA,),
)
def lambda_dead_letter(p, ctx):
    if not _set(_get(p, "deadLetterConfig", "targetArn")):
        yield "failed asynchronous invocations must land in a dead-letter queue"


@guardrail("lambda-reserved-concurrency", "reliability", "Functions have reserved concurrency.", applies_to=(LAMBDA,))
def lambda_reserved_concurrency(p, ctx):
    value = p.get("reservedConcurrentExecutions")
    if value != UNKNOWN and (_number(value) or 0) < 1:
        yield "reserved concurrency must be set so one function cannot starve the account (or be starved)"


# --- stack rules -------------------------------------------------------------------------------


def _networks(resources: Sequence[Resource]) -> dict[str, Counter]:
    """Per network (the Name prefix the Network component gives its parts): counts of
    public/private subnets and NAT gateways; standby (DR) networks are left out."""
    counts: dict[str, Counter] = {}
    for r in resources:
        tags = r.props.get("tags") if isinstance(r.props.get("tags"), Mapping) else {}
        if tags.get(STANDBY_TAG) == "standby" or not isinstance(tags.get("Name"), str):
            continue
        prefix = tags["Name"].rsplit("-", 2)[0]
        if r.type == SUBNET and tags.get("tier") in ("public", "private"):
            counts.setdefault(prefix, Counter())[tags["tier"]] += 1
        elif r.type == NAT:
            counts.setdefault(prefix, Counter())["nat"] += 1
    return {prefix: c for prefix, c in counts.items() if c["public"] or c["private"]}


@stack_guardrail("vpc-flow-logs", "security", "Every VPC logs all traffic.")
def flow_logs(resources, ctx):
    vpcs = sum(r.type == VPC for r in resources)
    logged = sum(r.type == FLOW_LOG and r.props.get("trafficType") == "ALL" for r in resources)
    if logged < vpcs:
        yield f"{vpcs} VPCs but {logged} flow logs of ALL traffic"


@stack_guardrail(
    "s3-bucket-baseline",
    "security",
    "Every S3 bucket has a public access block, default encryption and a (TLS-only) bucket policy.",
)
def bucket_baseline(resources, ctx):
    """Counted, not matched by name: a new bucket's name is unknown during preview."""
    buckets = sum(r.type == BUCKET for r in resources)
    present = {
        "public access blocks": sum(r.type == BUCKET_PUBLIC_ACCESS for r in resources),
        "default encryption configurations": sum(r.type == BUCKET_ENCRYPTION for r in resources),
        "bucket policies": sum(r.type == BUCKET_POLICY for r in resources),
    }
    for kind, count in present.items():
        if count < buckets:
            yield f"{buckets} S3 buckets but {count} {kind}: each bucket needs one"


@stack_guardrail(
    "nat-gateway-per-az", "reliability", "A NAT gateway per AZ when the tier says so.", relaxation="single-nat-gateway"
)
def nat_per_az(resources, ctx):
    if not ctx.tier.nat_per_az or ctx.relaxed("single-nat-gateway"):
        return
    for prefix, c in _networks(resources).items():
        if c["nat"] < c["public"]:
            yield f"network {prefix}: tier {ctx.tier.name} needs a NAT gateway per AZ; {c['nat']} for {c['public']} AZs"


@stack_guardrail(
    "availability-zones", "reliability", "Networks span the tier's AZ count.", relaxation="fewer-availability-zones"
)
def availability_zones(resources, ctx):
    if ctx.relaxed("fewer-availability-zones"):
        return
    for prefix, c in _networks(resources).items():
        if c["private"] < ctx.tier.az_count:
            yield f"network {prefix}: tier {ctx.tier.name} needs {ctx.tier.az_count} AZs; got {c['private']}"


@stack_guardrail(
    "cross-region-replica",
    "reliability",
    "A cross-region database replica when the tier says so.",
    relaxation="no-cross-region-replica",
)
def cross_region_replica(resources, ctx):
    if not ctx.tier.cross_region_replica or ctx.relaxed("no-cross-region-replica"):
        return
    databases = [r for r in resources if r.type == RDS]
    if databases and not any(_is_replica(r.props) for r in databases):
        yield f"tier {ctx.tier.name} needs a cross-region read replica of the database"


# --- runners -----------------------------------------------------------------------------------


def check_resource(resource_type: str, name: str, props: Mapping[str, Any], ctx: Context) -> list[Violation]:
    """Every per-resource rule that applies to this resource."""
    return [
        Violation(rule.name, f"{resource_type} {name}", message)
        for rule in RULES
        if rule.applies_to(resource_type)
        for message in rule.check(props, ctx)
    ]


def check_stack(resources: Sequence[Resource], ctx: Context) -> list[Violation]:
    return [Violation(rule.name, "stack", message) for rule in STACK_RULES for message in rule.check(resources, ctx)]


def check_resources(resources: Iterable[Any], ctx: Context) -> list[Violation]:
    """All rules over captured resources (anything with `type`, `name` and `inputs` or `props`)."""
    items = [r if isinstance(r, Resource) else Resource(r.type, r.name, _props_of(r)) for r in resources]
    found = [v for r in items for v in check_resource(r.type, r.name, r.props, ctx)]
    return found + check_stack(items, ctx)


def _props_of(resource: Any) -> Mapping[str, Any]:
    return getattr(resource, "inputs", None) or getattr(resource, "props", None) or {}


@dataclass(frozen=True)
class RuleDoc:
    name: str
    kind: str
    description: str
    applies_to: tuple[str, ...] = field(default_factory=tuple)
    relaxation: str = ""


def catalogue() -> list[RuleDoc]:
    """Every rule, for the generated guardrails page and the policy pack."""
    docs = [RuleDoc(r.name, r.kind, r.description, r.resource_types, r.relaxation) for r in RULES]
    docs += [RuleDoc(r.name, r.kind, r.description, ("stack",), r.relaxation) for r in STACK_RULES]
    return docs


# --- cost: a budget per environment --------------------------------------------------------------

BUDGET = "aws:budgets/budget:Budget"
# A service environment is the stack that serves the public endpoint; a component tested alone is not one.
ENVIRONMENT_MARKER = "groundwork:index:PublicEndpoint"
BUDGET_NOTIFICATIONS = ("FORECASTED", "ACTUAL")


def environment_budget(resources, ctx):
    if not any(r.type == ENVIRONMENT_MARKER for r in resources):
        return
    budgets = [r for r in resources if r.type == BUDGET]
    if not budgets:
        yield "no AWS Budget: every environment has a monthly cost budget (CostBudget)"
    for budget in budgets:
        yield from _budget_defects(budget.name, budget.props)


def _budget_defects(name: str, p: Mapping[str, Any]):
    if p.get("budgetType") != "COST" or p.get("timeUnit") != "MONTHLY" or not _positive_amount(p.get("limitAmount")):
        yield f"budget {name} must be a monthly COST budget with a positive limit"
    for kind in BUDGET_NOTIFICATIONS:
        alerted = [
            n
            for n in p.get("notifications") or []
            if n.get("notificationType") == kind
            and (_set(n.get("subscriberEmailAddresses")) or _set(n.get("subscriberSnsTopicArns")))
        ]
        if not alerted:
            yield f"budget {name} alerts no one on {kind.lower()} spend"


def _positive_amount(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    try:
        return float(value) > 0  # the API carries amounts as decimal strings
    except (TypeError, ValueError):
        return False


STACK_RULES += (
    StackRule(
        "environment-budget",
        "reliability",  # spend that runs away ends in a shut-down account; the kinds are security and reliability
        "Every environment has a monthly cost budget alerting on forecast and actual spend.",
        environment_budget,
    ),
)
