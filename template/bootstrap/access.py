"""The IAM documents of the bootstrap: who may assume the pipeline roles, and what each may do.

Pure functions over names (no Pulumi), so the tests read them directly.

- Trust: only GitHub's OIDC provider, audience `sts.amazonaws.com`, and only this repository's
  tokens whose `sub` is exactly what the workflow's trigger produces (GitHub's OIDC reference):
  `repo:<owner>/<repo>:environment:<env>` for jobs bound to a GitHub environment (deploy,
  rollback), `repo:<owner>/<repo>:pull_request` for pull-request previews and
  `repo:<owner>/<repo>:ref:refs/heads/main` for scheduled jobs on main (drift, restore test).
- Preview (read-only): AWS's ReadOnlyAccess plus the Pulumi state it must read and lock; a deny
  keeps object and secret reads out of it.
- Deploy: the lifecycle actions of the AWS services the stack is made of (a service's, or a
  platform's: KIND_SERVICES), in its regions; IAM writes only on roles and policies named after the
  environment; passing roles only to the services that use them; pushes only to the environment's
  registry (a service on EKS). A permissions boundary caps
  it and denies what would let it widen its own rights or touch what the bootstrap owns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

GITHUB_ISSUER = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
MAIN = "ref:refs/heads/main"
PULL_REQUEST = "pull_request"

# AWS-managed policies the service stack attaches to the roles it creates (the cluster, its nodes
# and add-ons, the database's enhanced monitoring); any other AWS-managed policy is refused.
ATTACHABLE_AWS_POLICIES = (
    "AmazonEKSClusterPolicy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "service-role/AmazonEBSCSIDriverPolicy",
    "service-role/AmazonRDSEnhancedMonitoringRole",
)

# Verbs that create, change, read the configuration of, tag and delete resources. No invoking, and
# no reading of objects, messages or secret values (those services list their verbs instead).
LIFECYCLE = ("Create*", "Delete*", "Describe*", "Get*", "List*", "Update*", "Put*", "Tag*", "Untag*")

# The IAM service prefixes behind each pulumi-aws module the service program uses, with the verbs
# each needs beyond LIFECYCLE. `iam`, `ecr` and `secretsmanager` have statements of their own.
SERVICE_ACTIONS: dict[str, tuple[str, ...]] = {
    "ec2": LIFECYCLE
    + (
        "Modify*",
        "Associate*",
        "Disassociate*",
        "Attach*",
        "Detach*",
        "Allocate*",
        "Release*",
        "Authorize*",
        "Revoke*",
        "Replace*",
        # Managed node groups launch from the stack's launch template; granted so a check of the
        # caller's right to launch it cannot fail the first deploy.
        "RunInstances",
    ),
    "eks": LIFECYCLE + ("Associate*", "Disassociate*"),
    "kms": (
        "CreateKey",
        "CreateAlias",
        "DeleteAlias",
        "UpdateAlias",
        "Describe*",
        "Get*",
        "List*",
        "TagResource",
        "UntagResource",
    ),
    # Not Get*: GetLogEvents reads the logs. The HTTP API's access logs need the log-delivery verbs.
    "logs": tuple(v for v in LIFECYCLE if v != "Get*") + ("GetLogDelivery", "AssociateKmsKey", "DisassociateKmsKey"),
    "rds": LIFECYCLE + ("Modify*", "Add*", "Remove*", "Promote*"),
    # InvokeFunction: the release runs its schema migrations with the new version before the shift
    # (scripts/release_database.py migrate-lambda).
    "lambda": LIFECYCLE + ("Publish*", "AddPermission", "RemovePermission", "InvokeFunction"),
    "apigateway": ("GET", "POST", "PUT", "PATCH", "DELETE", "TagResource", "UntagResource"),
    "codedeploy": LIFECYCLE + ("Register*", "StopDeployment", "BatchGet*"),
    "sqs": (
        "CreateQueue",
        "DeleteQueue",
        "GetQueueAttributes",
        "SetQueueAttributes",
        "GetQueueUrl",
        "List*",
        "Tag*",
        "Untag*",
    ),
    "sns": LIFECYCLE + ("Subscribe", "Unsubscribe", "SetTopicAttributes", "SetSubscriptionAttributes"),
    "cloudwatch": LIFECYCLE,
    "chatbot": LIFECYCLE,
    # Feature flags (AppConfig): the flag profile, its versions, and the deployment of a new version.
    "appconfig": LIFECYCLE + ("StartDeployment", "StopDeployment"),
    # The environment's cost budget: Budgets authorizes creating and changing one as ModifyBudget;
    # *Tag* is its three tag verbs (TagResource, UntagResource, ListTagsForResource) in the boundary's
    # 6,144 characters.
    "budgets": ("ModifyBudget", "ViewBudget", "*Tag*"),
    # The domain answer: DNS-validated certificates and the per-environment records.
    "acm": (
        "RequestCertificate",
        "DeleteCertificate",
        "DescribeCertificate",
        "List*",
        "Get*",
        "AddTagsToCertificate",
        "RemoveTagsFromCertificate",
    ),
    "route53": (
        "ChangeResourceRecordSets",
        "GetChange",
        "GetHostedZone",
        "ListHostedZones*",
        "ListResourceRecordSets",
        "ListTagsForResource*",
        # A second region's failover: the primary record's health check.
        "CreateHealthCheck",
        "DeleteHealthCheck",
        "GetHealthCheck*",
        "UpdateHealthCheck",
        "ListHealthChecks",
        "ChangeTagsForResource",
    ),
    # The production edge: the ALB's web ACL and its access-log bucket.
    "wafv2": LIFECYCLE + ("Associate*", "Disassociate*"),
    "s3": (
        "CreateBucket",
        "DeleteBucket",
        "ListBucket",
        "GetBucket*",
        "PutBucket*",
        "DeleteBucketPolicy",
        "GetEncryptionConfiguration",
        "PutEncryptionConfiguration",
        "GetLifecycleConfiguration",
        "PutLifecycleConfiguration",
        "GetAccelerateConfiguration",
        "GetReplicationConfiguration",
        "GetAnalyticsConfiguration",
    ),
}

# Using and changing an existing key: only keys tagged with the service (the stack's own, the
# registries', the secrets key), so a deploy role cannot read or retire another workload's data.
KEY_USE = ("CreateGrant", "Decrypt", "Encrypt", "GenerateDataKey*", "ReEncrypt*")
KEY_CHANGE = ("PutKeyPolicy", "EnableKeyRotation", "ScheduleKeyDeletion", "UpdateKeyDescription")

PLATFORM_SERVICES = {
    "aws-eks": (
        "ec2",
        "eks",
        "kms",
        "logs",
        "acm",
        "route53",
        "wafv2",
        "s3",
        "cloudwatch",
        "sns",
        "appconfig",
        "budgets",
    ),
    "aws-lambda": (
        "lambda",
        "apigateway",
        "codedeploy",
        "sqs",
        "sns",
        "cloudwatch",
        "chatbot",
        "kms",
        "logs",
        "acm",
        "route53",
        "appconfig",
        "budgets",
    ),
}
# A platform repository's stacks (platform_cluster.py): the network, the cluster, its nodes and
# add-on roles, their keys and logs. Helm releases and Kubernetes objects go through the cluster's
# API (the deploy role's access entry), not IAM. No registry, database, edge or alarms of its own.
KIND_SERVICES = {"platform": ("ec2", "eks", "kms", "logs")}
DATABASE_SERVICES = ("rds", "ec2")
GLOBAL_SERVICES = ("route53",)  # IAM, also global, has statements of its own

# The AWS services that assume the roles the stack creates (iam:PassRole is limited to them).
PASSED_TO = (
    "eks.amazonaws.com",
    "ec2.amazonaws.com",
    "lambda.amazonaws.com",
    "codedeploy.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "apigateway.amazonaws.com",
    "chatbot.amazonaws.com",
    "appconfig.amazonaws.com",  # the role AppConfig reads a flag deployment's rollback alarms with
)


@dataclass(frozen=True)
class Scope:
    """What one environment's roles are about."""

    service: str
    env: str
    repository: str  # owner/name on GitHub
    account_id: str
    partition: str
    regions: tuple[str, ...]  # where the stack creates regional resources (the DR region included)
    platform: str
    database: bool
    registry_arn: str | None  # the environment's ECR repository (EKS)
    state_bucket: str | None = None  # s3 backend only
    secrets_key_arn: str | None = None  # s3 backend only
    kind: str = "service"  # or platform (KIND_SERVICES)

    @property
    def prefix(self) -> str:
        return f"{self.service}-{self.env}"


def subject(repository: str, claim: str) -> str:
    """A GitHub OIDC `sub`: claim is `environment:<env>`, `pull_request` or `ref:refs/heads/<branch>`."""
    return f"repo:{repository}:{claim}"


def github_trust(provider_arn: str, repository: str, claims: Sequence[str]) -> str:
    """Trust of a role that only this repository's workflow tokens with these subjects may assume."""
    return _document(
        [
            {
                "Sid": "GitHubActions",
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_ISSUER}:aud": GITHUB_AUDIENCE,
                        f"{GITHUB_ISSUER}:sub": [subject(repository, c) for c in claims],
                    }
                },
            }
        ]
    )


def deploy_claims(env: str) -> tuple[str, ...]:
    return (f"environment:{env}",)


def preview_claims() -> tuple[str, ...]:
    return (PULL_REQUEST, MAIN)


def services(platform: str, database: bool, kind: str = "service") -> tuple[str, ...]:
    if platform not in PLATFORM_SERVICES:
        raise ValueError(f"platform must be one of {', '.join(PLATFORM_SERVICES)}; got {platform!r}")
    chosen = list(KIND_SERVICES.get(kind, PLATFORM_SERVICES[platform]))
    if database:
        chosen += DATABASE_SERVICES
    return tuple(dict.fromkeys(chosen))


def state_statements(scope: Scope, *, write: bool) -> list[dict]:
    """Read every stack's state (stack references), lock this environment's stack, and with `write`
    write its state, history and backups (the DIY backend's layout under `.pulumi/`, project
    `<service>`); decrypt the stacks' secrets. Another environment's state stays out of reach."""
    if not scope.state_bucket or not scope.secrets_key_arn:
        return []
    bucket = f"arn:{scope.partition}:s3:::{scope.state_bucket}"
    stack = f"{scope.service}/{scope.env}"
    # Locks live under .pulumi/locks/<fully qualified stack name>/, "organization/<project>/<stack>".
    objects = [f"{bucket}/.pulumi/locks/*{stack}/*"]
    if write:
        objects += [
            f"{bucket}/.pulumi/stacks/{stack}.json*",
            f"{bucket}/.pulumi/history/{stack}/*",
            f"{bucket}/.pulumi/backups/{stack}/*",
        ]
    return [
        {
            "Sid": "StateList",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": bucket,
        },
        {
            "Sid": "StateRead",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"{bucket}/*",
        },
        {
            "Sid": "StateWrite" if write else "StateLock",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": objects,
        },
        {
            "Sid": "StateSecrets",
            "Effect": "Allow",
            # Objects are written under the bucket's SSE-KMS default (the lock, too): GenerateDataKey.
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
            if write
            else ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": scope.secrets_key_arn,
        },
    ]


def preview_policy(scope: Scope) -> str:
    """Inline policy of the read-only role (beside AWS's ReadOnlyAccess)."""
    # ReadOnlyAccess reads S3 objects, queue messages and secret values; a preview reads configuration
    # (and, on the s3 backend, the state).
    no_data = {
        "Sid": "NoDataReads",
        "Effect": "Deny",
        "Action": ["s3:GetObject", "s3:GetObjectVersion", "sqs:ReceiveMessage", "secretsmanager:GetSecretValue"],
    }
    if scope.state_bucket:
        no_data["NotResource"] = f"arn:{scope.partition}:s3:::{scope.state_bucket}/*"
    else:
        no_data["Resource"] = "*"
    return _document([*state_statements(scope, write=False), no_data])


def deploy_policy(scope: Scope) -> str:
    """What `pulumi up` of the environment's stack (and the deploy workflow around it) may do."""
    return _document(_deploy_statements(scope))


def _actions(scope: Scope, *, regional: bool) -> list[str]:
    chosen = [
        svc for svc in services(scope.platform, scope.database, scope.kind) if (svc not in GLOBAL_SERVICES) is regional
    ]
    return sorted({f"{svc}:{verb}" for svc in chosen for verb in SERVICE_ACTIONS[svc]})


def _registry_statements(scope: Scope) -> list[dict]:
    """Log in to ECR and push to (and read) the environment's registry only (EKS; Lambda has none)."""
    if not scope.registry_arn:
        return []
    return [
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "EnvironmentRegistry",
            "Effect": "Allow",
            "Action": [
                "ecr:DescribeRepositories",
                "ecr:DescribeImages",
                "ecr:ListTagsForResource",
                "ecr:GetLifecyclePolicy",
                "ecr:GetRepositoryPolicy",
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
            ],
            "Resource": scope.registry_arn,
        },
    ]


def _deploy_statements(scope: Scope) -> list[dict]:
    iam_prefix = f"arn:{scope.partition}:iam::{scope.account_id}"
    statements = [
        {
            "Sid": "ServiceResources",
            "Effect": "Allow",
            "Action": _actions(scope, regional=True),
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": list(scope.regions)}},
        },
        {
            # Route 53 is global: its calls are not made in the stack's region.
            "Sid": "GlobalServiceResources",
            "Effect": "Allow",
            "Action": _actions(scope, regional=False),
            "Resource": "*",
        },
        {
            "Sid": "ServiceKeys",
            "Effect": "Allow",
            "Action": [f"kms:{verb}" for verb in KEY_USE + KEY_CHANGE],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:ResourceTag/service": scope.service, "aws:RequestedRegion": list(scope.regions)}
            },
        },
        {
            "Sid": "EnvironmentRoles",
            "Effect": "Allow",
            "Action": [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListRoleTags",
                "iam:PutRolePolicy",
                "iam:GetRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:ListRolePolicies",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:CreatePolicy",
                "iam:DeletePolicy",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
                "iam:ListPolicyVersions",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            "Resource": [f"{iam_prefix}:role/{scope.prefix}-*", f"{iam_prefix}:policy/{scope.prefix}-*"],
        },
        {
            # The cluster's IRSA provider (EKS issuers only).
            "Sid": "ClusterOidcProvider",
            "Effect": "Allow",
            "Action": [
                "iam:CreateOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:GetOpenIDConnectProvider",
                "iam:TagOpenIDConnectProvider",
                "iam:UntagOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
                "iam:AddClientIDToOpenIDConnectProvider",
            ],
            "Resource": f"{iam_prefix}:oidc-provider/oidc.eks.*.amazonaws.com/id/*",
        },
        {
            "Sid": "PassEnvironmentRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"{iam_prefix}:role/{scope.prefix}-*",
            "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO)}},
        },
        {
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"{iam_prefix}:role/aws-service-role/*",
        },
        {
            # Secrets the stack's resources create (RDS's managed master secret) or name; never their values.
            "Sid": "SecretsMetadata",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetResourcePolicy",
                "secretsmanager:ListSecrets",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:RotateSecret",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": list(scope.regions)}},
        },
        {"Sid": "WhoAmI", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"},
    ]
    statements += _registry_statements(scope)
    return [s for s in statements if s["Action"]] + state_statements(scope, write=True)


def deploy_boundary(
    scope: Scope, protected_roles: Iterable[str], protected_policies: Iterable[str], oidc_provider_arn: str
) -> str:
    """The permissions boundary of the deploy role: a ceiling over its own policy (the same services
    and resources, coarser), and never what would let it raise that ceiling, act as someone else or
    change what the bootstrap owns. A managed policy, so it stays under IAM's 6,144 characters."""
    iam = f"arn:{scope.partition}:iam::{scope.account_id}"
    allow = [
        {
            "Effect": "Allow",
            "Action": _actions(scope, regional=True)
            + _actions(scope, regional=False)
            + [f"kms:{verb}" for verb in KEY_USE + KEY_CHANGE]
            + ["sts:GetCallerIdentity"]
            + (["ecr:GetAuthorizationToken"] if scope.registry_arn else []),
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["iam:*Role*", "iam:*Policy*", "iam:*OpenIDConnectProvider*"],
            "Resource": [
                f"{iam}:role/{scope.prefix}-*",
                f"{iam}:policy/{scope.prefix}-*",
                f"{iam}:oidc-provider/oidc.eks.*",
            ],
        },
        {"Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": f"{iam}:role/aws-service-role/*"},
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:*Secret", "secretsmanager:*Resource*", "secretsmanager:ListSecrets"],
            "Resource": "*",
        },
    ]
    if scope.registry_arn:
        allow.append(
            {
                "Effect": "Allow",
                "Action": ["ecr:*Image*", "ecr:*Layer*", "ecr:Describe*", "ecr:Get*", "ecr:List*"],
                "Resource": scope.registry_arn,
            }
        )
    if scope.state_bucket and scope.secrets_key_arn:
        bucket = f"arn:{scope.partition}:s3:::{scope.state_bucket}"
        allow += [
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject*", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [bucket, f"{bucket}/*"],
            },
            {
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": scope.secrets_key_arn,
            },
        ]
    deny = [
        {
            "Sid": "NoChangesToPipelineIdentity",
            "Effect": "Deny",
            "Action": "iam:*",
            "Resource": [f"{iam}:role/{r}" for r in protected_roles]
            + [f"{iam}:policy/{p}" for p in protected_policies]
            + [oidc_provider_arn],
        },
        {
            "Sid": "OnlyTheStacksManagedPolicies",
            "Effect": "Deny",
            "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            "Resource": "*",
            "Condition": {
                "ArnNotLike": {
                    "iam:PolicyARN": [f"arn:{scope.partition}:iam::aws:policy/{p}" for p in ATTACHABLE_AWS_POLICIES]
                    + [f"{iam}:policy/{scope.prefix}-*"]
                }
            },
        },
        {
            "Sid": "NoPeopleKeysOrHops",
            "Effect": "Deny",
            "Action": [
                "iam:CreateUser",
                "iam:CreateAccessKey",
                "iam:CreateLoginProfile",
                "iam:PutRolePermissionsBoundary",
                "iam:DeleteRolePermissionsBoundary",
                "sts:AssumeRole",
                "organizations:*",
                "account:*",
            ],
            "Resource": "*",
        },
    ]
    if scope.state_bucket:
        deny.append(
            {
                "Sid": "StateBucketStays",
                "Effect": "Deny",
                "Action": [
                    "s3:DeleteBucket",
                    "s3:PutBucket*",
                    "s3:DeleteBucketPolicy",
                    "s3:PutLifecycleConfiguration",
                    "s3:PutEncryptionConfiguration",
                ],
                "Resource": f"arn:{scope.partition}:s3:::{scope.state_bucket}",
            }
        )
    if scope.secrets_key_arn:
        deny.append(
            {
                "Sid": "SecretsKeyStays",
                "Effect": "Deny",
                "Action": ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateGrant"],
                "Resource": scope.secrets_key_arn,
            }
        )
    return _document(allow + deny)


def restore_test_policy(scope: Scope) -> str:
    """The weekly restore test: restore production's latest snapshot into a throwaway instance
    tagged purpose=restore-test, read its log, set a fresh master password on it (the copy keeps the
    snapshot's, which the managed secret may have rotated away since), have the release's migrations
    applied to it, delete it; nothing else in RDS. The migrations run inside the VPC with the
    release's own code: on EKS a one-off Job in the service's namespace (the cluster's access entry
    for this role, components/restore_test_access.py: find the cluster here), on Lambda the
    function's migration event (invoke the production function, nothing else)."""
    tagged = {"StringEquals": {"aws:ResourceTag/purpose": "restore-test"}}
    statements = [
        {
            "Sid": "FindSnapshots",
            "Effect": "Allow",
            "Action": ["rds:DescribeDBSnapshots", "rds:DescribeDBInstances"],
            "Resource": "*",
        },
        {
            "Sid": "RestoreTagged",
            "Effect": "Allow",
            "Action": ["rds:RestoreDBInstanceFromDBSnapshot", "rds:AddTagsToResource"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/purpose": "restore-test"}},
        },
        {
            "Sid": "InspectAndDeleteTagged",
            "Effect": "Allow",
            "Action": [
                "rds:DescribeDBLogFiles",
                "rds:DownloadDBLogFilePortion",
                "rds:ModifyDBInstance",  # the copy's fresh master password
                "rds:DeleteDBInstance",
            ],
            "Resource": "*",
            "Condition": tagged,
        },
        {
            # The restored storage is encrypted with the database's key (tagged with the service).
            "Sid": "DatabaseKey",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/service": scope.service}},
        },
        {
            "Sid": "Network",
            "Effect": "Allow",
            "Action": ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
            "Resource": "*",
        },
    ]
    return _document(statements + _restore_test_migration(scope) + state_statements(scope, write=False))


def _restore_test_migration(scope: Scope) -> list[dict]:
    """What applying the release's migrations to the copy takes, per platform."""
    if scope.platform == "aws-eks":
        # `aws eks update-kubeconfig`; the cluster's access entry says what it may do inside.
        clusters = [f"arn:{scope.partition}:eks:{region}:{scope.account_id}:cluster/*" for region in scope.regions]
        return [{"Sid": "FindCluster", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": clusters}]
    function = f"{scope.service}-{scope.env}"  # ServerlessFunction's name, `<service>-<env>`
    functions = [
        f"arn:{scope.partition}:lambda:{region}:{scope.account_id}:function:{name}"
        for region in scope.regions
        for name in (function, f"{function}:*")  # unqualified and qualified (the `live` alias)
    ]
    return [
        {
            "Sid": "MigrateThroughTheFunction",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": functions,
        }
    ]


def _document(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
