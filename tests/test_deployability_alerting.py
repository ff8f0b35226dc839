"""endpoint-alerts-watch-the-routed-service and probe-alerts-have-a-probe, against the workload
KubernetesService builds (its Ingress), the PrometheusRule the model's rule file becomes, and the
blackbox exporter release MonitoringStack.probe() adds (shape as in tests/test_monitoring_stack.py)."""

from __future__ import annotations

import copy
from functools import cache

from service_fixtures import run_service, service_args, service_plan

from pulumi_components.deployability import StackView, check_stack
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.prometheus_rules import rule_file
from pulumi_components.testing import CapturedResource

RULES = ["endpoint-alerts-watch-the-routed-service", "probe-alerts-have-a-probe"]
SERVICE = "example"  # service_fixtures' slug


def prometheus_rule(level: str, rename: tuple[str, str] | None = None) -> CapturedResource:
    answers = {"project_name": "Example", "service_slug": SERVICE, "team": "platform", "owner_email": "p@example.com"}
    spec = copy.deepcopy(rule_file(plan_service(Answers.from_mapping({**answers, "monitoring_level": level}))))
    if rename:
        for group in spec["groups"]:
            for rule in group["rules"]:
                rule["expr"] = rule["expr"].replace(*rename)
    return CapturedResource(
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
        "example-prod-monitoring-slo-rules",
        {"metadata": {"name": f"{SERVICE}-slo", "namespace": "monitoring"}, "spec": spec},
    )


def probe(service: str = SERVICE) -> CapturedResource:
    target = {
        "name": f"{service}-public",
        "url": "https://example.example.com/healthz",
        "module": "http_2xx",
        "additionalMetricsRelabels": {"service": service},
    }
    return CapturedResource(
        "kubernetes:helm.sh/v3:Release",
        "example-prod-monitoring-prometheus-blackbox-exporter",
        {
            "chart": "prometheus-blackbox-exporter",
            "namespace": "monitoring",
            "values": {"serviceMonitor": {"targets": [target]}},
        },
    )


@cache
def workload(strategy: str) -> tuple[CapturedResource, ...]:
    plan = service_plan("prod", deployment_strategy=strategy)
    return tuple(run_service(service_args(plan, database=False)).resources)


def findings(resources):
    return [(f.rule, f.message) for f in check_stack(StackView(SERVICE, "prod", tuple(resources)), only=RULES)]


def test_the_alerts_watch_the_routed_service_and_the_probe_whatever_the_strategy():
    for strategy in ("rolling", "canary", "blue-green"):
        assert findings([*workload(strategy), prometheus_rule("standard"), probe()]) == [], strategy
    assert findings([*workload("rolling"), prometheus_rule("basic")]) == [], "basic has no probe alert"


def test_an_endpoint_alert_on_a_service_nothing_routes_to_is_reported():
    renamed = prometheus_rule("basic", ('endpoint="example"', 'endpoint="example-preview"'))
    (finding,) = findings([*workload("blue-green"), renamed])
    assert finding[0] == "endpoint-alerts-watch-the-routed-service"
    assert "NoPodsServing watches the endpoints of Service 'example-preview'" in finding[1]


def test_an_endpoint_alert_without_an_ingress_is_reported():
    (finding,) = findings([prometheus_rule("basic")])
    assert "which no Ingress routes to (routed: none)" in finding[1]


def test_a_probe_alert_without_a_probe_is_reported():
    (finding,) = findings([*workload("rolling"), prometheus_rule("standard")])
    assert finding[0] == "probe-alerts-have-a-probe"
    assert "SyntheticProbeFailing reads probe_success of service 'example'" in finding[1]
    (finding,) = findings([*workload("rolling"), prometheus_rule("standard"), probe("other")])
    assert finding[0] == "probe-alerts-have-a-probe"
