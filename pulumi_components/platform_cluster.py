"""PlatformCluster: one environment of a platform (`kind: platform`), the shared EKS cluster its
teams' services deploy into (`cluster: shared`), and the contract it exports to them.

It composes what a dedicated service builds for itself, once for every hosted service: the network,
the EKS cluster with its access entries, the add-ons (load balancer controller, External Secrets,
metrics-server, Argo Rollouts for every strategy a hosted service may choose, the Cluster
Autoscaler), CI runners inside the VPC registered for the whole organization, and the monitoring
stack set up for tenants: Prometheus enforces the namespace label on every PrometheusRule and
selects rules and ServiceMonitors from every namespace; Alertmanager merges the AlertmanagerConfigs
labelled for it, each matching its own namespace; Grafana's sidecar and Loki's ruler read
dashboards and rules from every namespace. `contract()` is what the program exports
(reliability/contract.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ._base import child
from .ci_runners import CiRunners, CiRunnersArgs
from .identity import deploy_role_name, preview_role_name, runner_scale_set_name
from .kubernetes_cluster import ClusterAccess, KubernetesCluster, KubernetesClusterArgs
from .monitoring_stack import NAMESPACE as MONITORING_STACK_NAMESPACE
from .monitoring_stack import RULE_RELEASE, MonitoringStack, MonitoringStackArgs
from .network import Network, NetworkArgs
from .platform_addons import PlatformAddons, PlatformAddonsArgs, load_balancer_controller_policy
from .reliability.contract import (
    ARGO_ROLLOUTS_NAMESPACE,
    CONTRACT_VERSION,
    DISCOVERY_LABELS,
    MONITORING_NAMESPACE,
    PROMETHEUS_URL,
)
from .reliability.plan import EnvironmentPlan
from .reliability.platform_alerts import rule_file, sized_alerts

# Argo Rollouts is installed whatever strategy a hosted service picks: any strategy but rolling does it.
HOSTED_STRATEGIES = "canary"


def hosting_values() -> dict[str, dict[str, Any]]:
    """The monitoring charts' settings that let services in other namespaces bring their own rules,
    scrape targets, routes, dashboards and log rules (keys checked against the pinned charts)."""
    everywhere: dict[str, Any] = {}
    return {
        "kube-prometheus-stack": {
            "prometheus": {
                "prometheusSpec": {
                    # Every rule of a PrometheusRule gets namespace="<its namespace>": a service's alerts
                    # carry it, so its AlertmanagerConfig (which matches on it) routes them.
                    "enforcedNamespaceLabel": "namespace",
                    "ruleNamespaceSelector": everywhere,
                    "serviceMonitorNamespaceSelector": everywhere,
                }
            },
            "alertmanager": {
                "alertmanagerSpec": {
                    "alertmanagerConfigSelector": {"matchLabels": dict(DISCOVERY_LABELS["alertmanager_config"])},
                    "alertmanagerConfigNamespaceSelector": everywhere,
                    # Each AlertmanagerConfig routes only alerts of its own namespace.
                    "alertmanagerConfigMatcherStrategy": {"type": "OnNamespace"},
                }
            },
        },
        "grafana": {"sidecar": {"dashboards": {"searchNamespace": "ALL"}}},
        "loki": {"sidecar": {"rules": {"searchNamespace": "ALL"}}},
    }


@dataclass
class PlatformClusterArgs:
    platform: str  # the platform's slug: resource names, its runners' label
    plan: EnvironmentPlan
    region: str
    sla: float  # what the platform is built for; hosted services ask no more
    repository: str  # owner/name of the platform repository (its runners serve the owner's repositories)
    repo_dir: Path  # the generated platform repository: deploy/ and monitoring/
    admins: Sequence[str] = ()  # IAM principals administering the cluster (`cluster_admins`)
    admin_cidrs: Sequence[str] = ()  # the first up's temporary API access (ci_runners.bootstrap_api_cidrs)
    oncall_credentials: Mapping[str, pulumi.Input[str] | None] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


class PlatformCluster:
    """Builds one environment of the platform; `contract()` is what it exports."""

    def __init__(self, name: str, args: PlatformClusterArgs) -> None:
        plan = args.plan
        self._args = args
        access = ClusterAccess(
            deploy_role=deploy_role_name(args.platform, plan.name),
            preview_role=preview_role_name(args.platform, plan.name),
            admins=list(args.admins),
        )
        access.validate()
        self.network = Network(name, NetworkArgs(name=name, region=args.region, plan=plan.network, tags=args.tags))
        self.cluster = KubernetesCluster(
            name,
            KubernetesClusterArgs(
                name=name,
                region=args.region,
                plan=dataclasses.replace(
                    plan.cluster, public_access_cidrs=(*plan.cluster.public_access_cidrs, *args.admin_cidrs)
                ),
                vpc_id=self.network.vpc.id,
                private_subnet_ids=self.network.subnet_ids["private"],
                log_retention_days=plan.log_retention_days,
                access=access,
                tags=args.tags,
            ),
        )
        cluster = self.cluster
        self.kube = k8s.Provider(
            f"{name}-kube", kubeconfig=cluster.kubeconfig, opts=pulumi.ResourceOptions(depends_on=[cluster])
        )
        in_cluster = pulumi.ResourceOptions(provider=self.kube)
        self.addons = PlatformAddons(
            name,
            PlatformAddonsArgs(
                cluster_name=cluster.cluster_name,
                region=args.region,
                vpc_id=self.network.vpc.id,
                strategy=HOSTED_STRATEGIES,
                values_dir=args.repo_dir / "deploy",
                load_balancer_role_arn=cluster.irsa_role(
                    "alb-controller",
                    namespace="kube-system",
                    service_account="aws-load-balancer-controller",
                    policy=load_balancer_controller_policy(),
                ).arn,
                volume_key_arn=cluster.volume_key.arn,
                autoscaling=cluster.autoscaling,
                tags=args.tags,
            ),
            opts=in_cluster,
        )
        self.runners = CiRunners(
            name,
            CiRunnersArgs(
                service=args.platform,
                env=plan.name,
                region=args.region,
                github_repository=args.repository,
                organization_wide=True,
                values_dir=args.repo_dir / "deploy",
                oidc_provider_arn=cluster.oidc_provider.arn,
                oidc_issuer=cluster.oidc_issuer,
                after=[self.addons.releases["external-secrets"]],
                tags=args.tags,
            ),
            opts=in_cluster,
        )
        self.monitoring = MonitoringStack(
            name,
            MonitoringStackArgs(
                service=args.platform,
                plan=plan,
                monitoring_dir=args.repo_dir / "monitoring",
                oncall_credentials=args.oncall_credentials,
                extra_values=hosting_values(),
                log_alerts=False,
            ),
            opts=pulumi.ResourceOptions(provider=self.kube, depends_on=[self.addons]),
        )
        # The alerts sized by this environment's plan, beside the repository's fixed ones.
        self.sized_rules = k8s.apiextensions.CustomResource(
            f"{name}-platform-sized-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={
                "name": f"{args.platform}-platform-sized",
                "namespace": MONITORING_STACK_NAMESPACE,
                "labels": {"app.kubernetes.io/part-of": args.platform, "release": RULE_RELEASE},
            },
            spec=rule_file(args.platform, sized_alerts(plan), self.runbook_base, "sized"),
            opts=child(self.monitoring, depends_on=[self.monitoring.stack]),
        )

    @property
    def runbook_base(self) -> str:
        return f"https://github.com/{self._args.repository}/blob/main/docs/runbooks.md"

    def contract(self) -> dict[str, pulumi.Input[Any]]:
        """Every PlatformContract field, as this environment's values."""
        args, cluster, network = self._args, self.cluster, self.network
        return {
            "contract_version": CONTRACT_VERSION,
            "platform": args.platform,
            "environment": args.plan.name,
            "region": args.region,
            "sla": args.sla,
            "cluster_name": cluster.cluster_name,
            "cluster_endpoint": cluster.cluster.endpoint,
            "cluster_ca_data": cluster.cluster.certificate_authority.data,
            "oidc_provider_arn": cluster.oidc_provider.arn,
            "oidc_issuer": cluster.oidc_issuer,
            "vpc_id": network.vpc.id,
            "vpc_cidr": args.plan.network.cidr,
            "private_subnet_ids": pulumi.Output.all(*network.subnet_ids["private"]),
            "isolated_subnet_ids": pulumi.Output.all(*network.subnet_ids["isolated"]),
            "workload_security_group_id": cluster.workload_security_group.id,
            "runner_label": runner_scale_set_name(args.platform, args.plan.name),
            "monitoring_components": list(args.plan.monitoring.components),
            "monitoring_namespace": MONITORING_NAMESPACE,
            "prometheus_url": PROMETHEUS_URL,
            "argo_rollouts_namespace": ARGO_ROLLOUTS_NAMESPACE,
            "discovery_labels": DISCOVERY_LABELS,
        }
