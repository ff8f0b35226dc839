"""PlatformAddons: the cluster controllers the service's objects need, as Helm releases.

aws-load-balancer-controller turns the service's Ingress into an ALB (and
carries canary weights), external-secrets writes its Secrets from AWS Secrets
Manager, metrics-server feeds its HPA, and argo-rollouts runs canary and
blue-green Rollouts (installed only for those strategies).

Chart versions come from `charts.py`; values from `deploy/<chart>.yaml` in
the generated repo, so a team tunes a chart by editing a file it can read.
Only what is known at deploy time (cluster name, VPC, IAM role ARNs) is set
here, on top of the file. `helm_release()` is the one way this package
installs a chart; the monitoring charts use it too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from ._base import ComponentArgsError, child, policy_json, require, type_token
from .charts import CHARTS

ROLLOUT_STRATEGIES = ("canary", "blue-green")  # the strategies Argo Rollouts runs
LOAD_BALANCER_CONTROLLER_ACCOUNT = "aws-load-balancer-controller"
RELEASE_TIMEOUT_SECONDS = 900


def chart_values(values_dir: Path, chart: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`values_dir/<chart>.yaml` with `overrides` merged in (mappings merge, anything else replaces)."""
    path = values_dir / f"{chart}.yaml"
    if not path.is_file():
        raise ComponentArgsError(f"values_dir: {path} is missing; every installed chart reads its values from it")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ComponentArgsError(f"{path}: Helm values must be a mapping")
    return _merge(values, overrides or {})


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def helm_release(
    name: str,
    chart: str,
    *,
    parent: pulumi.Resource,
    values_dir: Path,
    overrides: Mapping[str, Any] | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.helm.v3.Release:
    """One pinned chart from `charts.CHARTS`, released into its own namespace with the
    values file from `values_dir`. Atomic: a failed upgrade rolls the release back."""
    require(chart in CHARTS, f"chart: {chart!r} is not pinned in charts.py; pinned: {', '.join(sorted(CHARTS))}")
    pinned = CHARTS[chart]
    # An OCI registry is addressed through the chart reference itself, not a repository index.
    oci = pinned.repo.startswith("oci://")
    return k8s.helm.v3.Release(
        name,
        name=chart,
        chart=f"{pinned.repo}/{pinned.name}" if oci else pinned.name,
        version=pinned.version,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=pinned.repo),
        namespace=pinned.namespace,
        create_namespace=True,
        values=chart_values(values_dir, chart, overrides),
        atomic=True,
        cleanup_on_fail=True,
        timeout=RELEASE_TIMEOUT_SECONDS,
        opts=child(parent, depends_on=list(depends_on)),
    )


@dataclass
class PlatformAddonsArgs:
    cluster_name: pulumi.Input[str]
    region: str
    vpc_id: pulumi.Input[str]
    strategy: str  # the plan's rollout strategy
    values_dir: Path  # the generated repo's deploy/
    load_balancer_role_arn: pulumi.Input[str]  # IRSA role with load_balancer_controller_policy()
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        require(
            self.strategy in ("rolling", *ROLLOUT_STRATEGIES),
            f"rollout.strategy must be rolling, canary or blue-green; got {self.strategy!r}",
        )
        require(self.values_dir.is_dir(), f"values_dir: {self.values_dir} is not a directory")

    @property
    def charts(self) -> tuple[str, ...]:
        base = ("metrics-server", "external-secrets", "aws-load-balancer-controller")
        return (*base, "argo-rollouts") if self.strategy in ROLLOUT_STRATEGIES else base


class PlatformAddons(pulumi.ComponentResource):
    """Pass the cluster's Kubernetes provider in `opts`; workloads should depend on this."""

    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: PlatformAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("PlatformAddons"), name, None, opts)
        overrides: dict[str, dict[str, Any]] = {
            "aws-load-balancer-controller": {
                "clusterName": args.cluster_name,
                "region": args.region,
                "vpcId": args.vpc_id,
                "serviceAccount": {
                    "create": True,
                    "name": LOAD_BALANCER_CONTROLLER_ACCOUNT,
                    "annotations": {"eks.amazonaws.com/role-arn": args.load_balancer_role_arn},
                },
                # Every ALB, target group and security group it creates carries the service's tags.
                "defaultTags": dict(args.tags),
            },
        }
        self.releases = {}
        # The load balancer controller's webhooks must answer before anything else creates
        # Services, so the other releases wait for it.
        lbc = helm_release(
            f"{name}-aws-load-balancer-controller",
            "aws-load-balancer-controller",
            parent=self,
            values_dir=args.values_dir,
            overrides=overrides["aws-load-balancer-controller"],
        )
        self.releases["aws-load-balancer-controller"] = lbc
        for chart in args.charts:
            if chart not in self.releases:
                self.releases[chart] = helm_release(
                    f"{name}-{chart}", chart, parent=self, values_dir=args.values_dir, depends_on=[lbc]
                )
        self.register_outputs({"releases": {chart: release.status for chart, release in self.releases.items()}})


def load_balancer_controller_policy() -> str:
    """What the AWS Load Balancer Controller does in the account: read the network and
    certificates, and create, change and delete only the load balancers, target groups
    and security groups it tagged as its own (`elbv2.k8s.aws/cluster`)."""
    owned = {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
    tagged_on_create = {"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}}
    return policy_json(
        [
            {
                "Sid": "ServiceLinkedRole",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
            },
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeAccountAttributes",
                    "ec2:DescribeAddresses",
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeInternetGateways",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeVpcPeeringConnections",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeInstances",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeTags",
                    "ec2:DescribeRouteTables",
                    "ec2:DescribeIpamPools",
                    "ec2:GetCoipPoolUsage",
                    "ec2:DescribeCoipPools",
                    "ec2:GetSecurityGroupsForVpc",
                    "elasticloadbalancing:Describe*",
                    "acm:ListCertificates",
                    "acm:DescribeCertificate",
                    "iam:ListServerCertificates",
                    "iam:GetServerCertificate",
                    "cognito-idp:DescribeUserPoolClient",
                    "waf-regional:GetWebACL",
                    "waf-regional:GetWebACLForResource",
                    "wafv2:GetWebACL",
                    "wafv2:GetWebACLForResource",
                    "shield:GetSubscriptionState",
                    "shield:DescribeProtection",
                ],
                "Resource": "*",
            },
            {
                "Sid": "CreateOwnedResources",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateSecurityGroup",
                    "elasticloadbalancing:CreateLoadBalancer",
                    "elasticloadbalancing:CreateTargetGroup",
                ],
                "Resource": "*",
                "Condition": tagged_on_create,
            },
            {
                "Sid": "TagOnCreate",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": "arn:aws:ec2:*:*:security-group/*",
                "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}},
            },
            {
                "Sid": "TagElbOnCreate",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:AddTags",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]}
                },
            },
            {
                "Sid": "ChangeOwnedResources",
                "Effect": "Allow",
                "Action": [
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress",
                    "ec2:DeleteSecurityGroup",
                    "ec2:CreateTags",
                    "ec2:DeleteTags",
                    "elasticloadbalancing:ModifyLoadBalancerAttributes",
                    "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups",
                    "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:RemoveTags",
                    "elasticloadbalancing:SetWebAcl",
                ],
                "Resource": "*",
                "Condition": owned,
            },
            {
                # Listeners, rules and target registration live under the owned load balancers
                # and target groups; their ARNs carry no tags of their own at creation.
                "Sid": "ListenersAndTargets",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates",
                    "elasticloadbalancing:CreateRule",
                    "elasticloadbalancing:DeleteRule",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities",
                    "elasticloadbalancing:RegisterTargets",
                    "elasticloadbalancing:DeregisterTargets",
                ],
                "Resource": [
                    "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
                    "arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
                ],
            },
        ]
    )
