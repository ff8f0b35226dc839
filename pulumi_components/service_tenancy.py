"""ServiceTenancy: what a service owns in its platform's shared cluster, beside its workload.

A service on a shared cluster (`cluster: shared`) brings no cluster and no monitoring stack. Its
namespace (KubernetesService creates it, restricted) gets here:

- a ResourceQuota sized to the service's peak (the HPA at its maximum during a release, the
  surge or the second colour included) and a LimitRange defaulting any container to the plan's
  requests and limits, so one tenant cannot starve the others' nodes;
- the pipelines' access: the deploy role and the read-only preview role each get an EKS access
  entry on the platform's cluster, its policy scoped to this namespace alone;
- its alerts and dashboards, loaded by the platform's monitoring: the SLO rules as a
  PrometheusRule, the alert routing as an AlertmanagerConfig (with the on-call credentials as a
  Secret beside it), the dashboards as ConfigMaps for Grafana's sidecar, log alerts for Loki's
  ruler; each carries the label the platform selects on (`reliability/contract.py`).

Namespace, quota, limit range and access entries need the platform's cluster-admin rights: the
first `pulumi up` of an environment is run by a platform admin (onboarding); every later release
runs with the deploy role, whose access stops at the namespace. A quota change is an admin's up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from ._base import child, require, type_token
from .identity import role_arn
from .kubernetes_cluster import PREVIEW_POLICY, peak_service_pods
from .reliability.alertmanager import config_key
from .reliability.contract import DISCOVERY_LABELS
from .reliability.plan import EnvironmentPlan
from .reliability.tenant_routing import alertmanager_config_spec, referenced_secrets

# Namespace-scoped EKS access policies: the deploy role administers the namespace's objects (the
# `admin` user-facing role: workloads, Services, Roles, Secrets; not its ResourceQuota or
# LimitRange); the preview role reads them, Secrets included, as `pulumi preview --refresh` does.
DEPLOY_POLICY = "AmazonEKSAdminPolicy"
NAMESPACE_POLICIES = {"deploy": DEPLOY_POLICY, "preview": PREVIEW_POLICY}
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti)?$")
_UNITS = {None: 1, "m": 0.001, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def _amount(quantity: str) -> float:
    found = _QUANTITY.match(quantity)
    require(bool(found), f"workload: {quantity!r} is not a Kubernetes quantity this package reads (250m, 1, 512Mi)")
    return float(found.group(1)) * _UNITS[found.group(2)]


def _times(quantity: str, count: int) -> str:
    """`count` times `quantity`, in the quantity's own unit (CPU in millicores)."""
    found = _QUANTITY.match(quantity)
    require(bool(found), f"workload: {quantity!r} is not a Kubernetes quantity this package reads (250m, 1, 512Mi)")
    unit = found.group(2)
    if unit is None:  # whole CPUs: counted in millicores, as the API server reports them
        return f"{round(_amount(quantity) * 1000 * count)}m"
    return f"{round(float(found.group(1)) * count)}{unit}"


def namespace_quota(plan: EnvironmentPlan) -> dict[str, str]:
    """The ResourceQuota `hard` of the service's namespace: its peak pods, each at the plan's
    requests and limits. A release that would exceed it is the plan's error, not the cluster's."""
    workload = plan.workload
    pods = peak_service_pods(workload, plan.rollout)
    return {
        "pods": str(pods),
        "requests.cpu": _times(workload.cpu_request, pods),
        "requests.memory": _times(workload.memory_request, pods),
        "limits.cpu": _times(workload.cpu_limit, pods),
        "limits.memory": _times(workload.memory_limit, pods),
    }


def limit_range(plan: EnvironmentPlan) -> dict[str, Any]:
    """Containers without requests or limits get the plan's; none may exceed the plan's limits."""
    workload = plan.workload
    limits = {"cpu": workload.cpu_limit, "memory": workload.memory_limit}
    return {
        "limits": [
            {
                "type": "Container",
                "default": dict(limits),
                "defaultRequest": {"cpu": workload.cpu_request, "memory": workload.memory_request},
                "max": dict(limits),
            }
        ]
    }


@dataclass
class ServiceTenancyArgs:
    service: str  # the service slug: its namespace
    plan: EnvironmentPlan
    namespace: pulumi.Resource  # the service's namespace (KubernetesService.namespace)
    cluster_name: pulumi.Input[str]  # the platform's cluster
    deploy_role: str  # role names (identity.py), in the platform's account
    preview_role: str
    monitoring_dir: Path  # the generated repo's monitoring/
    # Pulumi secret config key (alertmanager.CONFIG_KEYS) -> value, as MonitoringStackArgs takes them.
    oncall_credentials: Mapping[str, pulumi.Input[str] | None] = field(default_factory=dict)
    discovery_labels: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DISCOVERY_LABELS)
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        for path in self.required_files:
            require(path.is_file(), f"monitoring_dir: {path} is missing (generated by the template)")
        missing = sorted(set(DISCOVERY_LABELS) - set(self.discovery_labels))
        require(not missing, f"discovery_labels: no label for {', '.join(missing)}")
        namespace_quota(self.plan)  # a quantity it cannot read fails here

    @property
    def required_files(self) -> list[Path]:
        return [
            self.monitoring_dir / "prometheus" / "rules.yml",
            self.monitoring_dir / "alertmanager" / "alertmanager.yml",
        ]


class ServiceTenancy(pulumi.ComponentResource):
    """Pass the platform cluster's Kubernetes provider in `opts`."""

    def __init__(self, name: str, args: ServiceTenancyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("ServiceTenancy"), name, None, opts)
        self._name, self._args = name, args
        self.labels = {"app.kubernetes.io/part-of": args.service, "app.kubernetes.io/managed-by": "pulumi"}
        in_namespace = child(self, depends_on=[args.namespace])
        self.quota = k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=self._meta(args.service),
            spec={"hard": namespace_quota(args.plan)},
            opts=in_namespace,
        )
        self.limit_range = k8s.core.v1.LimitRange(
            f"{name}-limits", metadata=self._meta(args.service), spec=limit_range(args.plan), opts=in_namespace
        )
        self.access = self._access_entries()
        self.prometheus_rule = k8s.apiextensions.CustomResource(
            f"{name}-slo-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=self._meta(f"{args.service}-slo", "prometheus_rule"),
            spec=yaml.safe_load((args.monitoring_dir / "prometheus" / "rules.yml").read_text()),
            opts=in_namespace,
        )
        self.alertmanager_config = self._alert_routing(in_namespace)
        self.dashboards = [
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{path.stem}",
                metadata=self._meta(f"{args.service}-dashboard-{path.stem}", "grafana_dashboard"),
                data={path.name: json.dumps(json.loads(path.read_text()), indent=1)},
                opts=in_namespace,
            )
            for path in sorted((args.monitoring_dir / "dashboards").glob("*.json"))
        ]
        loki_rules = args.monitoring_dir / "loki" / "rules.yml"
        if loki_rules.is_file():
            k8s.core.v1.ConfigMap(
                f"{name}-loki-rules",
                metadata=self._meta(f"{args.service}-loki-rules", "loki_rule"),
                data={f"{args.service}-logs.yml": loki_rules.read_text()},
                opts=in_namespace,
            )
        self.register_outputs({"namespace": args.service, "quota": namespace_quota(args.plan)})

    def _meta(self, name: str, selected_by: str | None = None) -> dict[str, Any]:
        labels = {**self.labels, **(self._args.discovery_labels[selected_by] if selected_by else {})}
        return {"name": name, "namespace": self._args.service, "labels": labels}

    def _access_entries(self) -> list[aws.eks.AccessPolicyAssociation]:
        """The pipelines' roles on the platform's cluster, each scoped to this namespace."""
        args = self._args
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        associations = []
        for kind, role_name in (("deploy", args.deploy_role), ("preview", args.preview_role)):
            entry = aws.eks.AccessEntry(
                f"{self._name}-access-{kind}",
                cluster_name=args.cluster_name,
                principal_arn=pulumi.Output.all(account, partition).apply(
                    lambda a, r=role_name: role_arn(a[0], r, a[1])
                ),
                type="STANDARD",
                tags=dict(args.tags),
                opts=child(self),
            )
            associations.append(
                aws.eks.AccessPolicyAssociation(
                    f"{self._name}-access-{kind}",
                    cluster_name=args.cluster_name,
                    principal_arn=entry.principal_arn,
                    policy_arn=partition.apply(
                        lambda p, n=NAMESPACE_POLICIES[kind]: f"arn:{p}:eks::aws:cluster-access-policy/{n}"
                    ),
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                        type="namespace", namespaces=[args.service]
                    ),
                    opts=child(self),
                )
            )
        return associations

    def _alert_routing(self, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        """The service's routes and receivers on the platform's Alertmanager, credentials beside them."""
        args = self._args
        alertmanager = yaml.safe_load((args.monitoring_dir / "alertmanager" / "alertmanager.yml").read_text())
        spec = alertmanager_config_spec(alertmanager)
        missing = []
        secrets = []
        for secret, keys in sorted(referenced_secrets(spec).items()):
            values = {key: args.oncall_credentials.get(config_key(key)) for key in sorted(keys)}
            missing += [config_key(key) for key, value in values.items() if value is None]
            secrets.append(
                k8s.core.v1.Secret(
                    f"{self._name}-{secret}",
                    metadata=self._meta(secret),
                    # A key not set yet is an empty file: Alertmanager loads the config and cannot notify.
                    string_data={key: pulumi.Output.secret(value or "") for key, value in values.items()},
                    opts=opts,
                )
            )
        if missing:
            pulumi.log.warn(
                f"{args.service}: {', '.join(sorted(set(missing)))} not set: the platform's Alertmanager cannot "
                "notify through them until they are (`pulumi config set --secret <key> <value>`; docs/oncall.md)",
                resource=self,
            )
        return k8s.apiextensions.CustomResource(
            f"{self._name}-alert-routing",
            api_version="monitoring.coreos.com/v1alpha1",
            kind="AlertmanagerConfig",
            metadata=self._meta(args.service, "alertmanager_config"),
            spec=spec,
            opts=child(self, depends_on=[args.namespace, *secrets]),
        )
