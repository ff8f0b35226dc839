"""CiRunners: this environment's GitHub Actions runners, inside its cluster and so inside its VPC.

The cluster's API endpoint is private, so GitHub's hosted runners cannot reach it;
every job that runs `pulumi` or `kubectl` against the cluster runs here instead,
on a runner scale set of the Actions Runner Controller (ARC). Each job gets a
fresh pod (ephemeral runners), started when GitHub queues a job for the label
`identity.runner_scale_set_name(service, env)` and removed when it ends.

ARC registers runners as a GitHub App. The App's id, installation id and
private key are in Secrets Manager (`identity.runner_credentials_secret_name`,
created by the bootstrap program); External Secrets copies them into the
runner namespace through a SecretStore that authenticates as this component's
own IRSA role, which may read that one secret and nothing else.

The runner pods are `restricted` (Pod Security Admission enforces it on their
namespace), hold no Kubernetes token of their own, and may only resolve names
and open HTTPS connections: the cluster API, AWS APIs and GitHub.

The very first `pulumi up` of an environment creates these runners, so it cannot
run on them: it runs from an admin's workstation through a temporary public
endpoint limited to that admin's address (`bootstrap_api_cidrs()`, documented in
docs/pipelines.md).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from . import identity
from ._base import ComponentArgsError, child, merge_tags, policy_json, require, type_token, web_identity_trust
from .charts import CHARTS
from .kubernetes_service import restricted_namespace
from .platform_addons import helm_release

CONTROLLER_CHART = "gha-runner-scale-set-controller"
SCALE_SET_CHART = "gha-runner-scale-set"
CONTROLLER_ACCOUNT = "arc-controller"  # named, so the scale set's chart need not look it up in the cluster
SECRETS_ACCOUNT = "arc-github-app"  # the SecretStore authenticates as this account's IRSA role
GITHUB_APP_SECRET = "github-app"  # the Kubernetes Secret ARC reads (keys github_app_id, ...)
HTTPS_PORT = 443
DNS_PORT = 53

# One deploy or rollback at a time per environment (their concurrency group), a nightly drift
# check and the previews of open pull requests: three runners cover the usual load, and further
# jobs queue. None idle: a job waits about a minute for its pod, and no node is held for nothing.
MIN_RUNNERS = 0
MAX_RUNNERS = 3

_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


@dataclass
class CiRunnersArgs:
    service: str
    env: str
    region: str
    github_repository: str  # "owner/name", the repository whose workflows use these runners
    values_dir: Path  # the generated repo's deploy/
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]  # with or without https://
    min_runners: int = MIN_RUNNERS
    max_runners: int = MAX_RUNNERS
    # Releases whose CRDs this component uses (External Secrets): created after them.
    after: Sequence[pulumi.Resource] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    # A platform's runners serve every repository of the owner (organization) that hosts services on it.
    organization_wide: bool = False

    def validate(self) -> None:
        github_repository(self.github_repository)
        require(
            0 <= self.min_runners <= self.max_runners and self.max_runners >= 1,
            f"runners: need 0 <= min_runners <= max_runners and max_runners >= 1; "
            f"got {self.min_runners}/{self.max_runners}",
        )
        require(self.values_dir.is_dir(), f"values_dir: {self.values_dir} is not a directory")

    @property
    def scale_set_name(self) -> str:
        return identity.runner_scale_set_name(self.service, self.env)

    @property
    def secret_name(self) -> str:
        return identity.runner_credentials_secret_name(self.service, self.env)


class CiRunners(pulumi.ComponentResource):
    """Pass the cluster's Kubernetes provider in `opts`."""

    def __init__(self, name: str, args: CiRunnersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("CiRunners"), name, None, opts)
        self._name, self._args = name, args
        self.scale_set_name = args.scale_set_name  # the `runs-on:` label of this environment's jobs
        self.namespace_name = CHARTS[SCALE_SET_CHART].namespace
        self.labels = {"app.kubernetes.io/part-of": "ci-runners", "app.kubernetes.io/managed-by": "pulumi"}

        self.namespace = restricted_namespace(f"{name}-runners-ns", self.namespace_name, self.labels, self)
        self.role = self._irsa_role()
        credentials = self._github_app_secret()
        self._network_policies()
        self.controller = helm_release(
            f"{name}-{CONTROLLER_CHART}",
            CONTROLLER_CHART,
            parent=self,
            values_dir=args.values_dir,
            overrides={"serviceAccount": {"create": True, "name": CONTROLLER_ACCOUNT}},
        )
        self.scale_set = helm_release(
            f"{name}-{SCALE_SET_CHART}",
            SCALE_SET_CHART,
            parent=self,
            values_dir=args.values_dir,
            overrides=scale_set_overrides(args),
            depends_on=[self.controller, self.namespace, credentials],
        )
        self.register_outputs({"scale_set_name": args.scale_set_name, "role_arn": self.role.arn})

    def _meta(self, name: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "namespace": self.namespace_name, "labels": dict(self.labels), **extra}

    def _irsa_role(self) -> aws.iam.Role:
        """May read the GitHub App secret, and decrypt it through Secrets Manager only."""
        args = self._args
        issuer = pulumi.Output.from_input(args.oidc_issuer).apply(lambda url: url.removeprefix("https://"))
        trust = pulumi.Output.all(args.oidc_provider_arn, issuer).apply(
            lambda a: web_identity_trust(a[0], a[1], self.namespace_name, SECRETS_ACCOUNT)
        )
        role = aws.iam.Role(
            f"{self._name}-ci-runners-secrets",
            description=f"Reads the GitHub App of {args.scale_set_name}'s runners ({args.secret_name})",
            assume_role_policy=trust,
            tags=merge_tags(args.tags, Name=f"{args.scale_set_name}-ci-runners"),
            opts=child(self),
        )
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        aws.iam.RolePolicy(
            f"{self._name}-ci-runners-secrets",
            role=role.id,
            policy=pulumi.Output.all(partition, account).apply(
                lambda a: runner_secret_policy(a[0], args.region, a[1], args.secret_name)
            ),
            opts=child(self),
        )
        return role

    def _github_app_secret(self) -> pulumi.Resource:
        args = self._args
        after = child(self, depends_on=[self.namespace, *args.after])
        account = k8s.core.v1.ServiceAccount(
            f"{self._name}-ci-runners-secrets-sa",
            metadata=self._meta(SECRETS_ACCOUNT, annotations={"eks.amazonaws.com/role-arn": self.role.arn}),
            automount_service_account_token=False,
            opts=after,
        )
        store = k8s.apiextensions.CustomResource(
            f"{self._name}-ci-runners-secret-store",
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata=self._meta(SECRETS_ACCOUNT),
            spec={
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": args.region,
                        "auth": {"jwt": {"serviceAccountRef": {"name": SECRETS_ACCOUNT}}},
                    }
                }
            },
            opts=child(self, depends_on=[self.namespace, account, *args.after]),
        )
        return k8s.apiextensions.CustomResource(
            f"{self._name}-ci-runners-github-app",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata=self._meta(GITHUB_APP_SECRET),
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"name": SECRETS_ACCOUNT, "kind": "SecretStore"},
                "target": {"name": GITHUB_APP_SECRET, "creationPolicy": "Owner"},
                # The secret's JSON keys are the ones ARC reads: github_app_id, ..._installation_id,
                # ..._private_key.
                "dataFrom": [{"extract": {"key": args.secret_name}}],
            },
            opts=child(self, depends_on=[self.namespace, store, *args.after]),
        )

    def _network_policies(self) -> None:
        """Runner pods resolve names and speak HTTPS, nothing else: the cluster API (its private
        endpoint is in the VPC), AWS APIs and GitHub are all on 443. Nothing may connect to them."""
        opts = child(self, depends_on=[self.namespace])
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-ci-runners-default-deny",
            metadata=self._meta("default-deny"),
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            opts=opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-ci-runners-egress",
            metadata=self._meta("runner-egress"),
            spec=runner_egress_policy(),
            opts=opts,
        )


def scale_set_overrides(args: CiRunnersArgs) -> dict[str, Any]:
    """What the stack decides on top of deploy/gha-runner-scale-set.yaml."""
    scope = args.github_repository.split("/")[0] if args.organization_wide else args.github_repository
    return {
        "githubConfigUrl": f"https://github.com/{scope}",
        "githubConfigSecret": GITHUB_APP_SECRET,
        "runnerScaleSetName": args.scale_set_name,
        "minRunners": args.min_runners,
        "maxRunners": args.max_runners,
        "controllerServiceAccount": {
            "namespace": CHARTS[CONTROLLER_CHART].namespace,
            "name": CONTROLLER_ACCOUNT,
        },
    }


def runner_egress_policy() -> dict[str, Any]:
    """The NetworkPolicy spec of every pod in the runner namespace."""
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    }
                ],
                "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],
            },
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": HTTPS_PORT}]},
        ],
    }


def runner_secret_policy(partition: str, region: str, account: str, secret_name: str) -> str:
    """Read one secret, by name (Secrets Manager appends six random characters to its ARN), and
    decrypt it with whichever KMS key encrypts it, only through Secrets Manager and only for it."""
    arn = f"arn:{partition}:secretsmanager:{region}:{account}:secret:{secret_name}-??????"
    return policy_json(
        [
            {
                "Sid": "ReadGitHubApp",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": arn,
            },
            {
                "Sid": "DecryptGitHubApp",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": f"arn:{partition}:kms:{region}:{account}:key/*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:SecretARN": arn},
                },
            },
        ]
    )


def github_repository(value: Any) -> str:
    """The `repository` stack config (owner/name, from the `repository_url` answer): the repository
    whose workflows use the runners."""
    require(
        isinstance(value, str) and bool(_REPOSITORY.match(value)),
        f"repository must be the GitHub repository as owner/name (e.g. acme/payments); got {value!r}",
    )
    return value


def bootstrap_api_cidrs(value: Any) -> tuple[str, ...]:
    """The `bootstrap_api_cidrs` stack config: the admin addresses that may reach the cluster API
    while the first `pulumi up` creates the runners. Single IPv4 hosts (`/32`) only; empty (or
    unset) once the runners exist."""
    if value in (None, "", []):
        return ()
    if not isinstance(value, (list, tuple)):
        raise ComponentArgsError(f"bootstrap_api_cidrs must be a list of /32 addresses; got {value!r}")
    cidrs = []
    for item in value:
        try:
            network = ipaddress.ip_network(str(item), strict=True)
        except ValueError:
            raise ComponentArgsError(
                f"bootstrap_api_cidrs: {item!r} is not an IPv4 address in CIDR form such as 203.0.113.7/32"
            ) from None
        if network.version != 4 or network.prefixlen != 32:
            raise ComponentArgsError(
                f"bootstrap_api_cidrs: {item} opens the cluster API to more than one host; use the admin's "
                "own public address as a /32 (e.g. 203.0.113.7/32), never 0.0.0.0/0 or a range"
            )
        cidrs.append(str(network))
    return tuple(cidrs)
