"""Hosting rules: a service on a shared cluster stays in its namespace and is seen by the platform's
monitoring (the repository rule, jobs on the platform's runners, is tested with the rendered pair in
test_platform_pair.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulumi_components.deployability import StackView, check_stack
from pulumi_components.reliability.contract import DISCOVERY_LABELS

RULES = ["hosted-access-stays-in-its-namespace", "hosted-monitoring-is-selected"]
SHARED = {"shop:cluster": "shared", "shop:platform_stack": "acme/platform/{env}"}


@dataclass
class Res:
    type: str
    name: str
    inputs: dict[str, Any] = field(default_factory=dict)


def access(kind: str, scope: dict[str, Any]) -> Res:
    return Res(
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        f"shop-prod-access-{kind}",
        {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy", "accessScope": scope},
    )


def selected(type_: str, purpose: str, name: str = "shop", namespace: str = "shop", **labels: str) -> Res:
    api, kind = type_.split(":")[1], type_.split(":")[2]
    return Res(
        type_,
        f"shop-prod-{kind.lower()}",
        {
            "apiVersion": api,
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "labels": {**DISCOVERY_LABELS[purpose], **labels}},
        },
    )


def good() -> list[Res]:
    return [
        access("deploy", {"type": "namespace", "namespaces": ["shop"]}),
        access("preview", {"type": "namespace", "namespaces": ["shop"]}),
        selected("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "service_monitor"),
        selected("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "prometheus_rule", "shop-slo"),
        selected("kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig", "alertmanager_config"),
        selected("kubernetes:core/v1:ConfigMap", "grafana_dashboard", "shop-dashboard-slo"),
    ]


def findings(resources: list[Res], config: dict[str, str] = SHARED) -> list[str]:
    return [str(f) for f in check_stack(StackView("shop", "prod", tuple(resources), {}, config), only=RULES)]


def test_a_hosted_stack_within_its_namespace_and_selected_passes():
    assert findings(good()) == []


def test_a_cluster_wide_grant_on_the_platforms_cluster_is_reported():
    resources = [*good()[1:], access("deploy", {"type": "cluster"})]
    (finding,) = findings(resources)
    assert "AmazonEKSAdminPolicy with scope {'type': 'cluster'}" in finding and "namespace 'shop' alone" in finding


def test_a_grant_over_another_teams_namespace_is_reported():
    resources = [*good()[1:], access("deploy", {"type": "namespace", "namespaces": ["shop", "payments"]})]
    assert len(findings(resources)) == 1


def test_a_hosted_stack_with_its_own_cluster_is_reported():
    resources = [*good(), Res("aws:eks/cluster:Cluster", "shop-prod-cluster")]
    assert any("creates an EKS cluster of its own" in f for f in findings(resources))


def test_objects_the_platform_does_not_select_are_reported():
    resources = good()
    resources[2].inputs["metadata"]["labels"] = {"release": "prometheus"}  # the ServiceMonitor
    resources[3].inputs["metadata"]["namespace"] = "monitoring"  # the PrometheusRule
    resources[5].inputs["metadata"]["labels"] = {}  # the dashboard
    found = findings(resources)
    assert len(found) == 3
    assert any("lacks the label(s) {'release': 'kube-prometheus-stack'}" in f for f in found)
    assert any("is in namespace 'monitoring', not the service's 'shop'" in f for f in found)
    assert any("shop-dashboard-slo" in f or "grafana_dashboard" in f for f in found)


def test_a_hosted_stack_without_alert_routing_is_reported():
    resources = [r for r in good() if "AlertmanagerConfig" not in r.type]
    assert findings(resources) == [
        "[hosted-monitoring-is-selected] stack prod: creates no alertmanager config: "
        "the platform's monitoring has nothing of it"
    ]


def test_a_dedicated_stack_is_left_to_the_cluster_rules():
    resources = [access("deploy", {"type": "cluster"}), Res("aws:eks/cluster:Cluster", "shop-prod-cluster")]
    assert findings(resources, config={"shop:cluster": "dedicated"}) == []


def test_a_platforms_collector_waits_for_its_hosted_services_traces():
    collector = Res(
        "kubernetes:helm.sh/v3:Release",
        "platform-prod-opentelemetry-collector",
        {"name": "opentelemetry-collector", "chart": "opentelemetry-collector", "namespace": "monitoring"},
    )

    def found(config):
        stack = StackView("platform", "prod", (collector,), {}, config)
        return check_stack(stack, only=["collector-has-a-sender"])

    assert found({"platform:kind": "platform"}) == []
    assert len(found({})) == 1  # any other stack's collector needs a sender of its own


def test_a_hosted_workload_sends_its_traces_to_the_platforms_collector():
    config = Res(
        "kubernetes:core/v1:ConfigMap",
        "shop-prod-config",
        {
            "metadata": {"name": "shop-config", "namespace": "shop"},
            "data": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://opentelemetry-collector.monitoring.svc:4318"},
        },
    )
    egress = Res(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "shop-prod-allow",
        {
            "metadata": {"name": "shop-allow", "namespace": "shop"},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                        "ports": [{"protocol": "TCP", "port": 4318}],
                    }
                ],
            },
        },
    )

    def found(config_):
        return check_stack(
            StackView("shop", "prod", (config, egress), {}, config_), only=["traces-reach-the-collector"]
        )

    assert found(SHARED) == []
    assert len(found({"shop:cluster": "dedicated"})) == 1  # a dedicated stack must install the collector itself
