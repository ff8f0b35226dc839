"""The contract between a platform and the services it hosts: what the platform exports.

A platform repository (`kind: platform`) exports every field of `PlatformContract` as a stack
output of the same name; a service on a shared cluster (`cluster: shared`) reads exactly these
outputs from the platform's stack (`platform_stack`, `{env}` standing for the environment) and
nothing else. Both programs go through this one definition (`platform_contract.py` holds the
Pulumi side: export and StackReference), so an output the platform renames or drops is an error
that names it, not a resource wired to nothing.

Two kinds of field. *Values* differ per platform and environment (cluster, network, identity
provider) and reach the service as outputs. *Conventions* are the names the service's objects must
carry for the platform's controllers to pick them up (the monitoring namespace, the labels
Prometheus, Alertmanager and Grafana select on): the service builds its objects with them before
any output is known, so they are fixed here and the platform exports them; the service refuses a
platform whose conventions differ (a platform on another template version), naming each one.

Standard library only: Copier's validators read `platform_stack_error`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

# Bumped when a field changes meaning; the service refuses a platform of another version.
CONTRACT_VERSION = 1

# The conventions a hosted service relies on. The platform's MonitoringStack installs
# kube-prometheus-stack as release `kube-prometheus-stack` in `monitoring`, whose Prometheus selects
# ServiceMonitors and PrometheusRules by its `release` label; its Alertmanager selects
# AlertmanagerConfigs by `alertmanagerConfigSelector` (set in the platform's values); Grafana's
# sidecar loads ConfigMaps labelled `grafana_dashboard: "1"` from every namespace.
MONITORING_NAMESPACE = "monitoring"
PROMETHEUS_URL = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
DISCOVERY_LABELS: dict[str, dict[str, str]] = {
    "service_monitor": {"release": "kube-prometheus-stack"},
    "prometheus_rule": {"release": "kube-prometheus-stack"},
    "alertmanager_config": {"groundwork.dev/alertmanager": "platform"},
    "grafana_dashboard": {"grafana_dashboard": "1"},
    "loki_rule": {"loki_rule": "1"},
}
ARGO_ROLLOUTS_NAMESPACE = "argo-rollouts"

# <organization>/<project>/<stack>: the project names the platform, whose runners' label derives from it.
_STACK = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.{}-]+$")


@dataclass(frozen=True)
class PlatformContract:
    """Every output a platform exports for its services, one environment's worth."""

    contract_version: int
    platform: str  # the platform's slug
    environment: str
    region: str
    sla: float  # the platform's availability target: no hosted service can exceed it
    cluster_name: str
    cluster_endpoint: str
    cluster_ca_data: str  # base64 PEM, as EKS reports it
    oidc_provider_arn: str  # IRSA: hosted services' pod roles trust it
    oidc_issuer: str  # without https://
    vpc_id: str
    vpc_cidr: str
    private_subnet_ids: list[str]  # nodes and load balancer targets
    isolated_subnet_ids: list[str]  # databases: no route out
    workload_security_group_id: str  # the nodes' pods: hosted databases admit it
    runner_label: str  # `runs-on:` of the platform's in-VPC runners (they reach the private API)
    monitoring_components: list[
        str
    ]  # what its monitoring runs (plan.monitoring.components): a hosted service uses no more
    monitoring_namespace: str
    prometheus_url: str
    argo_rollouts_namespace: str
    discovery_labels: dict[str, dict[str, str]]

    @classmethod
    def output_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any], source: str) -> PlatformContract:
        """The contract read from a platform stack's outputs; an error names each missing or
        mistyped output and the stack it was read from."""
        missing = [name for name in cls.output_names() if name not in outputs]
        if missing:
            raise ValueError(
                f"platform stack {source} does not export {', '.join(missing)}: a platform repository of this "
                f"template exports every field of PlatformContract (contract version {CONTRACT_VERSION})"
            )
        contract = cls(**{name: outputs[name] for name in cls.output_names()})
        problems = contract.problems()
        if problems:
            raise ValueError(f"platform stack {source}: " + "; ".join(problems))
        return contract

    def problems(self) -> list[str]:
        """What a hosted service cannot build on, each naming its output."""
        found = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "str" and not (isinstance(value, str) and value):
                found.append(f"{f.name} must be a non-empty string; got {value!r}")
            elif f.type == "list[str]" and not (
                isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
            ):
                found.append(f"{f.name} must be a non-empty list of ids; got {value!r}")
        if self.contract_version != CONTRACT_VERSION:
            found.append(
                f"contract_version is {self.contract_version!r}, this service reads version {CONTRACT_VERSION}: "
                "update the platform and the service to the same template release"
            )
        for name, expected in conventions().items():
            if getattr(self, name) != expected:
                found.append(f"{name} is {getattr(self, name)!r}, this service's objects expect {expected!r}")
        return found


def conventions() -> dict[str, Any]:
    """The fields a hosted service builds its objects with before any output is known."""
    return {
        "monitoring_namespace": MONITORING_NAMESPACE,
        "prometheus_url": PROMETHEUS_URL,
        "argo_rollouts_namespace": ARGO_ROLLOUTS_NAMESPACE,
        "discovery_labels": DISCOVERY_LABELS,
    }


def platform_stack_error(template: str) -> str:
    """'' when `template` names a Pulumi stack with `{env}` for the environment; else what is accepted."""
    if "{env}" not in template:
        return f"platform_stack must contain {{env}} for the environment (acme/platform/{{env}}); got '{template}'"
    if not _STACK.match(template) or template.replace("{env}", "").count("{") or template.count("}") > 1:
        return (
            "platform_stack must be a fully qualified Pulumi stack name, <organization>/<project>/<stack>, of "
            "letters, digits, '-', '_' and '.', with {env} for the environment (acme/platform/{env}); "
            f"got '{template}'"
        )
    return ""


def platform_project(template: str) -> str:
    """The platform's Pulumi project: its slug, which names its runners (`<project>-<env>`)."""
    platform_stack(template, "env")  # refuses a bad name with what is accepted
    return template.split("/")[1]


def platform_stack(template: str, env: str) -> str:
    """The platform stack an environment of a hosted service reads."""
    error = platform_stack_error(template)
    if error:
        raise ValueError(error)
    return template.replace("{env}", env)


def hosting_problems(
    contract: PlatformContract,
    *,
    env: str,
    region: str,
    az_count: int,
    runner_label: str | None = None,
    monitoring_components: tuple[str, ...] = (),
) -> list[str]:
    """Why a service's environment cannot run on this platform stack (it would build on the wrong
    environment, region or too few zones, or its pipelines wait for runners that do not exist); each
    says what to change."""
    problems = []
    if runner_label is not None and contract.runner_label != runner_label:
        problems.append(
            f"this service's cluster jobs run on {runner_label!r}, the platform's runners are "
            f"{contract.runner_label!r}: platform_stack must name the platform's own project"
        )
    lacking = [c for c in monitoring_components if c not in contract.monitoring_components]
    if lacking:
        problems.append(
            f"this service's monitoring uses {', '.join(lacking)}, which the platform does not run "
            f"({', '.join(contract.monitoring_components)}): answer a monitoring_level no higher than the platform's"
        )
    if contract.environment != env:
        problems.append(f"the platform stack is its {contract.environment!r} environment, this stack is {env!r}")
    if contract.region != region:
        problems.append(
            f"the platform runs in {contract.region}, this service in {region}: its database lives in the platform's "
            "VPC, so answer the platform's region"
        )
    for kind in ("private_subnet_ids", "isolated_subnet_ids"):
        found = len(getattr(contract, kind))
        if found < az_count:
            problems.append(
                f"the platform has {found} {kind.removesuffix('_ids').replace('_', ' ')}s and this service's tier "
                f"spreads over {az_count} zones: host it on a platform of its tier or above"
            )
    return problems


def hosting_warning(service_sla: float, platform_sla: float) -> str:
    """'' when the platform's SLA covers the service's; else why the service's SLA is out of reach."""
    if service_sla <= platform_sla:
        return ""
    return (
        f"the service asks for {service_sla}% and its platform is built for {platform_sla}%: the shared cluster, "
        "its network and its monitoring are in the service's request path, so the service cannot be more available "
        "than they are. Host it on a platform of its tier (or lower the service's sla)."
    )
