"""Rules of tracing: an installed collector has a service sending to it, and the service's spans
can reach it.

- a workload whose ConfigMap names an OTLP endpoint points at a collector release the stack
  installs, and its NetworkPolicy lets its pods reach that collector's port;
- a stack that installs the collector has a workload configured to send it traces (otherwise the
  trace backend is a claim with nothing behind it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from ..reliability.contract import MONITORING_NAMESPACE
from . import ResourceLike, StackView, stack_rule
from .rules_common import as_list, subject

RELEASE = "kubernetes:helm.sh/v3:Release"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
COLLECTOR_CHART = "opentelemetry-collector"
ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


def _collectors(stack: StackView) -> dict[tuple[str, str], ResourceLike]:
    """(release name, namespace) -> the collector's Helm release."""
    return {
        (r.inputs.get("name", ""), r.inputs.get("namespace", "")): r
        for r in stack.of_type(RELEASE)
        if r.inputs.get("chart") == COLLECTOR_CHART
    }


def _senders(stack: StackView) -> list[tuple[ResourceLike, str]]:
    return [
        (r, (r.inputs.get("data") or {})[ENDPOINT])
        for r in stack.of_type(CONFIG_MAP)
        if ENDPOINT in (r.inputs.get("data") or {})
    ]


def _allows_egress(policy: Mapping[str, Any], namespace: str, port: int) -> bool:
    spec = policy.get("spec") or {}
    for rule in as_list(spec.get("egress")):
        ports = [p for p in as_list(rule.get("ports")) if p.get("protocol", "TCP") == "TCP"]
        if not any(int(p.get("port", 0)) == port for p in ports):
            continue
        for peer in as_list(rule.get("to")):
            labels = ((peer.get("namespaceSelector") or {}).get("matchLabels")) or {}
            if labels.get("kubernetes.io/metadata.name") == namespace:
                return True
    return False


@stack_rule(
    "traces-reach-the-collector",
    "A workload told to export traces names a collector the stack installs, and its NetworkPolicy lets it reach it.",
)
def check_traces_reach_the_collector(stack: StackView) -> Iterator[tuple[str, str]]:
    collectors = _collectors(stack)
    for config_map, endpoint in _senders(stack):
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").split(".")
        target = (host[0], host[1] if len(host) > 1 else "")
        # A service on a shared cluster sends to its platform's collector, which the platform contract
        # requires before any resource (reliability.contract.hosting_problems, monitoring_components).
        hosted = stack.config.get(f"{stack.service}:cluster") == "shared" and target == (
            COLLECTOR_CHART,
            MONITORING_NAMESPACE,
        )
        if target not in collectors and not hosted:
            yield subject(config_map), f"{ENDPOINT}={endpoint} names no collector release of this stack"
            continue
        namespace = (config_map.inputs.get("metadata") or {}).get("namespace", "")
        policies = [
            p.inputs
            for p in stack.of_type(NETWORK_POLICY)
            if (p.inputs.get("metadata") or {}).get("namespace") == namespace
        ]
        if not any(_allows_egress(p, target[1], parts.port or 80) for p in policies):
            yield (
                subject(config_map),
                f"no NetworkPolicy in {namespace} allows egress to {target[1]} on TCP {parts.port}: "
                "the spans are dropped",
            )


@stack_rule(
    "collector-has-a-sender",
    "A stack that installs the OpenTelemetry Collector has a workload configured to send it traces.",
)
def check_collector_has_a_sender(stack: StackView) -> Iterator[tuple[str, str]]:
    if stack.config.get(f"{stack.service}:kind") == "platform":
        return  # a platform's collector receives its hosted services' traces, which their own stacks send
    senders = {urlsplit(endpoint).hostname for _, endpoint in _senders(stack)}
    for (name, namespace), release in _collectors(stack).items():
        if f"{name}.{namespace}.svc" not in senders:
            yield subject(release), f"no workload sets {ENDPOINT} to {name}.{namespace}.svc: nothing sends traces"
