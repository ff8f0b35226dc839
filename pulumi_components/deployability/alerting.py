"""Rules of alerting: an alert that watches a Kubernetes object or a probe watches one the stack creates.

- an alert reading a Service's endpoints (NoPodsServing) names the Service an Ingress routes to, in
  its namespace: renamed or moved, the alert would read nothing and never page;
- an alert reading a synthetic probe of the service (SyntheticProbeFailing) has a blackbox exporter
  release probing a target labelled with that service: without it `probe_success` never exists and
  the alert never fires.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import ResourceLike, StackView, stack_rule
from .rules_common import as_list, subject

PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
RELEASE = "kubernetes:helm.sh/v3:Release"
PROBE_CHART = "prometheus-blackbox-exporter"
_MATCHER = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def _alerts(stack: StackView) -> Iterator[tuple[ResourceLike, dict]]:
    for resource in stack.of_type(PROMETHEUS_RULE):
        for group in as_list((resource.inputs.get("spec") or {}).get("groups")):
            for rule in as_list(group.get("rules")):
                if "alert" in rule:
                    yield resource, rule


def _selectors(expr: str, metric: str) -> list[dict[str, str]]:
    """The equality matchers of each `metric{...}` selector in a PromQL expression."""
    return [dict(_MATCHER.findall(body)) for body in re.findall(rf"\b{re.escape(metric)}\{{([^}}]*)\}}", expr)]


def _routed_services(stack: StackView) -> set[tuple[str, str]]:
    """(namespace, Service name) of every Ingress backend."""
    routed = set()
    for ingress in stack.of_type(INGRESS):
        namespace = (ingress.inputs.get("metadata") or {}).get("namespace", "")
        for rule in as_list((ingress.inputs.get("spec") or {}).get("rules")):
            for path in as_list(((rule or {}).get("http") or {}).get("paths")):
                service = ((path or {}).get("backend") or {}).get("service") or {}
                routed.add((namespace, service.get("name", "")))
    return routed


@stack_rule(
    "endpoint-alerts-watch-the-routed-service",
    "An alert on a Service's ready endpoints names the Service an Ingress routes to, in its namespace.",
)
def check_endpoint_alerts(stack: StackView) -> Iterator[tuple[str, str]]:
    routed = _routed_services(stack)
    for resource, rule in _alerts(stack):
        for matchers in _selectors(str(rule.get("expr", "")), "kube_endpoint_info"):
            target = (matchers.get("namespace", ""), matchers.get("endpoint", ""))
            if target not in routed:
                yield (
                    subject(resource),
                    f"{rule['alert']} watches the endpoints of Service {target[1]!r} in namespace {target[0]!r}, "
                    f"which no Ingress routes to (routed: {sorted(routed) or 'none'}): it would never page",
                )


def _probed_services(stack: StackView) -> set[str]:
    """The `service` label the blackbox exporter's probe targets add to their metrics."""
    services = set()
    for release in stack.of_type(RELEASE):
        if release.inputs.get("chart") != PROBE_CHART:
            continue
        monitor = (release.inputs.get("values") or {}).get("serviceMonitor") or {}
        for target in as_list(monitor.get("targets")):
            services.add(((target or {}).get("additionalMetricsRelabels") or {}).get("service", ""))
    return services


@stack_rule(
    "probe-alerts-have-a-probe",
    "An alert on a service's synthetic probe has a blackbox exporter release probing a target with that service label.",
)
def check_probe_alerts(stack: StackView) -> Iterator[tuple[str, str]]:
    probed = _probed_services(stack)
    for resource, rule in _alerts(stack):
        for matchers in _selectors(str(rule.get("expr", "")), "probe_success"):
            service = matchers.get("service", "")
            if service not in probed:
                yield (
                    subject(resource),
                    f"{rule['alert']} reads probe_success of service {service!r}, but no {PROBE_CHART} release "
                    "probes a target with that service label: it would never fire",
                )
