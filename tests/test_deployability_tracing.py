"""traces-reach-the-collector and collector-has-a-sender, against the workload KubernetesService
builds (comprehensive monitoring: a collector; standard: none) and the collector's Helm release."""

from __future__ import annotations

import copy
from functools import cache

from service_fixtures import run_service, service_args, service_plan

from pulumi_components.deployability import StackView, check_stack
from pulumi_components.kubernetes_service import tracing_config
from pulumi_components.monitoring_stack import COLLECTOR_OTLP_HTTP_PORT
from pulumi_components.testing import CapturedResource

RULES = ["traces-reach-the-collector", "collector-has-a-sender"]
COLLECTOR = CapturedResource(
    "kubernetes:helm.sh/v3:Release",
    "svc-monitoring-opentelemetry-collector",
    {"name": "opentelemetry-collector", "chart": "opentelemetry-collector", "namespace": "monitoring"},
)


@cache
def workload(level: str) -> tuple[CapturedResource, ...]:
    plan = service_plan("prod", monitoring_level=level)
    return tuple(run_service(service_args(plan, database=False)).resources)


def findings(resources):
    return [(f.rule, f.message) for f in check_stack(StackView("svc", "prod", tuple(resources)), only=RULES)]


def test_the_workload_sends_traces_only_where_a_collector_runs():
    assert tracing_config(service_plan("prod", monitoring_level="comprehensive"), "monitoring") == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://opentelemetry-collector.monitoring.svc:{COLLECTOR_OTLP_HTTP_PORT}"
    }
    assert tracing_config(service_plan("prod", monitoring_level="standard"), "monitoring") == {}
    assert findings([*workload("comprehensive"), COLLECTOR]) == []
    assert findings(workload("standard")) == []


def test_an_endpoint_without_a_collector_is_reported():
    (finding,) = findings(workload("comprehensive"))
    assert finding[0] == "traces-reach-the-collector" and "names no collector release" in finding[1]


def test_a_network_policy_that_drops_the_spans_is_reported():
    resources = []
    for resource in workload("comprehensive"):
        if resource.type.endswith(":NetworkPolicy"):
            inputs = copy.deepcopy(resource.inputs)
            egress = inputs.get("spec", {}).get("egress", [])
            inputs["spec"]["egress"] = [
                rule for rule in egress if all(p.get("port") != COLLECTOR_OTLP_HTTP_PORT for p in rule["ports"])
            ]
            resource = CapturedResource(resource.type, resource.name, inputs)
        resources.append(resource)
    (finding,) = findings([*resources, COLLECTOR])
    assert finding[0] == "traces-reach-the-collector" and "the spans are dropped" in finding[1]


def test_a_collector_nothing_sends_to_is_reported():
    (finding,) = findings([*workload("standard"), COLLECTOR])
    assert finding[0] == "collector-has-a-sender" and "nothing sends traces" in finding[1]
