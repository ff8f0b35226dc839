"""PlatformAddons: the cluster controllers the service's objects need, as Helm releases.

aws-load-balancer-controller turns the service's Ingress into an ALB (and
carries canary weights), external-secrets writes its Secrets from AWS Secrets
Manager, metrics-server feeds its HPA, argo-rollouts runs canary and
blue-green Rollouts (installed only for those strategies), and
cluster-autoscaler adds nodes when pods are pending (when the plan lets the
node count vary). The default StorageClass (gp3, encrypted with the cluster's
volume key) is here too: current EKS versions create none, and every volume
claim that names no class waits for it.

Chart versions come from `charts.py`; values from `deploy/<chart>.yaml` in
the generated repo, so a team tunes a chart by editing a file it can read.
Only what is known at deploy time (cluster name, VPC, IAM role ARNs) is set
here, on top of the file. `helm_release()` is the one way this package
installs a chart; the monitoring charts use it too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from ._base import ComponentArgsError, child, require, type_token
from .charts import CHARTS
from .kubernetes_cluster import CLUSTER_AUTOSCALER_ACCOUNT, NodeAutoscaling
from .reliability.vocabulary import DeploymentStrategy

ROLLOUT_STRATEGIES = (DeploymentStrategy.CANARY, DeploymentStrategy.BLUE_GREEN)  # the strategies Argo Rollouts runs
LOAD_BALANCER_CONTROLLER_ACCOUNT = "aws-load-balancer-controller"
RELEASE_TIMEOUT_SECONDS = 900
UPSTREAM_LOAD_BALANCER_POLICY = Path(__file__).parent / "upstream" / "aws-load-balancer-controller-iam-policy.json"
DEFAULT_STORAGE_CLASS = "gp3-encrypted"


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
    volume_key_arn: pulumi.Input[str]  # KMS key of the default StorageClass; the EBS CSI role may use it
    autoscaling: NodeAutoscaling | None = None  # the cluster's; None when the node count is fixed
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        require(
            self.strategy in DeploymentStrategy.values(),
            f"rollout.strategy must be one of {', '.join(DeploymentStrategy.values())}; got {self.strategy!r}",
        )
        require(self.values_dir.is_dir(), f"values_dir: {self.values_dir} is not a directory")

    @property
    def charts(self) -> tuple[str, ...]:
        base = ("metrics-server", "external-secrets", "aws-load-balancer-controller")
        if self.autoscaling is not None:
            base = (*base, "cluster-autoscaler")
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
        if args.autoscaling is not None:
            overrides["cluster-autoscaler"] = {
                "autoDiscovery": {"clusterName": args.cluster_name},
                "awsRegion": args.region,
                "image": {"tag": args.autoscaling.image_tag},
                "rbac": {
                    "serviceAccount": {
                        "create": True,
                        "name": CLUSTER_AUTOSCALER_ACCOUNT,
                        "annotations": {"eks.amazonaws.com/role-arn": args.autoscaling.role_arn},
                    }
                },
            }
        self.storage_class = default_storage_class(f"{name}-default-storage", args.volume_key_arn, parent=self)
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
                    f"{name}-{chart}",
                    chart,
                    parent=self,
                    values_dir=args.values_dir,
                    overrides=overrides.get(chart),
                    depends_on=[lbc],
                )
        self.register_outputs({"releases": {chart: release.status for chart, release in self.releases.items()}})


def default_storage_class(
    name: str, key_arn: pulumi.Input[str], *, parent: pulumi.Resource
) -> k8s.storage.v1.StorageClass:
    """The cluster's default StorageClass: gp3 volumes from the EBS CSI driver, encrypted with
    `key_arn`, created in the zone of the pod that first mounts them."""
    return k8s.storage.v1.StorageClass(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=DEFAULT_STORAGE_CLASS,
            annotations={"storageclass.kubernetes.io/is-default-class": "true"},
        ),
        provisioner="ebs.csi.aws.com",
        parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": key_arn},
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        reclaim_policy="Delete",
        opts=child(parent),
    )


def load_balancer_controller_policy() -> str:
    """The IAM policy the AWS Load Balancer Controller project publishes for the pinned chart,
    unchanged (`upstream/README.md` says where it comes from). Its mutating statements are scoped
    the controller's way: by the `elbv2.k8s.aws/cluster` tag on what it creates, and by resource
    type; a few (opening node security groups to the ALB, listeners and rules, WAF and Shield
    association) act on resources it did not tag, so they cannot be narrowed without breaking it."""
    return json.dumps(json.loads(UPSTREAM_LOAD_BALANCER_POLICY.read_text()))
