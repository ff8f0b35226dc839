"""Hosting rules: a service on its platform's shared cluster (`cluster: shared`) stays inside its
namespace, is seen by the platform's monitoring, and deploys through the platform's runners.

A shared stack builds on a cluster it does not own, so what would be a cluster-wide grant in its
own cluster is a grant over every other team's workloads here; objects without the labels the
platform's Prometheus, Alertmanager and Grafana select on are created and never read; and a job
waiting for runners the platform does not run waits forever.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .. import identity
from ..reliability.contract import DISCOVERY_LABELS, platform_project
from . import RepositoryView, StackView, repository_rule, stack_rule
from .reachability import _job_environment, _runs_on, cluster_calls, workflow_jobs
from .rules_common import subject

ACCESS = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
# Kind -> the DISCOVERY_LABELS entry the platform selects it by.
SELECTED = {
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": "service_monitor",
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": "prometheus_rule",
    "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig": "alertmanager_config",
}


def shared(stack: StackView) -> bool:
    """The stack runs on its platform's cluster (its config says so and it creates no cluster)."""
    return stack.config.get(f"{stack.service}:cluster") == "shared"


def _labels(resource: Any) -> Mapping[str, str]:
    return (resource.inputs.get("metadata") or {}).get("labels") or {}


@stack_rule(
    "hosted-access-stays-in-its-namespace",
    "Every access entry a service on a shared cluster grants is scoped to the service's own namespace: a "
    "cluster-wide policy on the platform's cluster would reach every other hosted team's workloads.",
)
def hosted_access_stays_in_its_namespace(stack: StackView) -> Iterator[tuple[str, str]]:
    if not shared(stack):
        return
    for association in stack.of_type(ACCESS):
        scope = association.inputs.get("accessScope") or {}
        if scope.get("type") != "namespace" or list(scope.get("namespaces") or []) != [stack.service]:
            policy = str(association.inputs.get("policyArn", "")).rsplit("/", 1)[-1]
            yield (
                subject(association),
                f"grants {policy} with scope {scope or '(none)'}; on the platform's cluster it must be scoped "
                f"to namespace {stack.service!r} alone",
            )
    if stack.of_type("aws:eks/cluster:Cluster"):
        yield f"stack {stack.env}", "is on a shared cluster (cluster: shared) yet creates an EKS cluster of its own"


@stack_rule(
    "hosted-monitoring-is-selected",
    "A service on a shared cluster puts its ServiceMonitors, PrometheusRules, AlertmanagerConfig and "
    "dashboards in its own namespace with the labels its platform's Prometheus, Alertmanager and Grafana "
    "select on (reliability/contract.py), or they are created and never read.",
)
def hosted_monitoring_is_selected(stack: StackView) -> Iterator[tuple[str, str]]:
    if not shared(stack):
        return
    found = set()
    for type_, purpose in SELECTED.items():
        for resource in stack.of_type(type_):
            found.add(purpose)
            yield from _selected(stack, resource, purpose)
    for config_map in stack.of_type("kubernetes:core/v1:ConfigMap"):
        name = str((config_map.inputs.get("metadata") or {}).get("name", ""))
        if "grafana_dashboard" in _labels(config_map) or name.startswith(f"{stack.service}-dashboard-"):
            yield from _selected(stack, config_map, "grafana_dashboard")
    for purpose in ("service_monitor", "prometheus_rule", "alertmanager_config"):
        if purpose not in found:
            yield (
                f"stack {stack.env}",
                f"creates no {purpose.replace('_', ' ')}: the platform's monitoring has nothing of it",
            )


def _selected(stack: StackView, resource: Any, purpose: str) -> Iterator[tuple[str, str]]:
    metadata = resource.inputs.get("metadata") or {}
    if metadata.get("namespace") != stack.service:
        yield subject(resource), f"is in namespace {metadata.get('namespace')!r}, not the service's {stack.service!r}"
    missing = {k: v for k, v in DISCOVERY_LABELS[purpose].items() if _labels(resource).get(k) != v}
    if missing:
        yield subject(resource), f"lacks the label(s) {missing} the platform selects {purpose.replace('_', ' ')}s by"


def platform_runner(stack: StackView) -> str:
    """The runner label of the stack's platform: what the platform exports, else what its name implies."""
    exported = stack.outputs.get("runner_label")
    if exported:
        return str(exported)
    return identity.runner_scale_set_name(
        platform_project(str(stack.config[f"{stack.service}:platform_stack"])), stack.env
    )


@repository_rule(
    "hosted-jobs-run-on-platform-runners",
    "Every workflow job that runs Pulumi or kubectl against an environment of a service on a shared cluster "
    "runs on that environment's platform runners (the platform's `runner_label`), the only runners inside "
    "the platform's VPC that reach its private API.",
)
def hosted_jobs_run_on_platform_runners(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    hosted = {env: stack for env, stack in repo.stacks.items() if shared(stack)}
    if not hosted:
        return
    for path, job_id, job in workflow_jobs(repo.root):
        labels = _runs_on(job)
        for what, env in cluster_calls(job):
            env = env or _job_environment(job)
            if env not in hosted:
                continue
            expected = platform_runner(hosted[env])
            if labels != [expected]:
                yield (
                    f"{path} job {job_id}",
                    f"runs {what} against {env!r} on runs-on {labels}; the platform's runners are {expected!r}",
                )
