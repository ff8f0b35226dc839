"""What a service owns on its platform's shared cluster: quota, limits, namespace-scoped access, and its
rules, routes and dashboards for the platform's monitoring (ServiceTenancy), and the routing conversion."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.alertmanager import alertmanager_config
from pulumi_components.reliability.contract import (
    DISCOVERY_LABELS,
    PlatformContract,
    hosting_problems,
    hosting_warning,
)
from pulumi_components.reliability.dashboards import dashboards
from pulumi_components.reliability.prometheus_rules import rule_file
from pulumi_components.reliability.tenant_routing import alertmanager_config_spec, matcher, referenced_secrets
from pulumi_components.service_tenancy import ServiceTenancy, ServiceTenancyArgs, limit_range, namespace_quota
from pulumi_components.testing import platform_outputs, run_with_mocks

CRDS = Path(__file__).parent / "reference" / "crds"
AMC_SCHEMA = json.loads((CRDS / "monitoring.coreos.com_AlertmanagerConfig_v1alpha1.strict.json").read_text())
BASE = {"project_name": "Shop", "service_slug": "shop", "team": "web", "owner_email": "web@example.com"}


def service(**answers):
    return plan_service(Answers.from_mapping({**BASE, "cluster": "shared", **answers}))


@pytest.mark.parametrize("strategy", ["rolling", "canary", "blue-green"])
def test_the_quota_holds_the_services_peak_and_no_more(strategy):
    prod = service(deployment_strategy=strategy).prod
    workload, rollout = prod.workload, prod.rollout
    quota = namespace_quota(prod)
    count = int(quota["pods"])
    surge = -(-workload.replicas_max * rollout.max_surge_percent // 100)
    assert count == (2 * workload.replicas_max if strategy == "blue-green" else workload.replicas_max + surge)
    assert quota["requests.cpu"] == f"{count * 250}m" and quota["limits.cpu"] == f"{count * 1000}m"
    assert quota["requests.memory"] == f"{count * 256}Mi" and quota["limits.memory"] == f"{count * 512}Mi"
    (limits,) = limit_range(prod)["limits"]
    assert limits["max"] == {"cpu": workload.cpu_limit, "memory": workload.memory_limit}
    assert limits["defaultRequest"] == {"cpu": workload.cpu_request, "memory": workload.memory_request}


def test_a_shared_service_plans_no_cluster_and_no_network_of_its_own():
    plan = service()
    assert all(env.cluster is None for env in plan.environments.values())
    assert not plan.has_network
    assert "single-nat-gateway" not in plan.environments["dev"].relaxations


def test_shared_is_a_cluster_answer_of_eks_only():
    with pytest.raises(ValueError, match="cluster: shared is a shared EKS cluster"):
        service(platform="aws-lambda")
    with pytest.raises(ValueError, match="cluster must be one of dedicated, shared"):
        service(cluster="borrowed")


@pytest.mark.parametrize("tool", ["pagerduty", "opsgenie", "slack", "email"])
def test_the_routes_become_an_alertmanager_config_the_crd_accepts(tool):
    config = alertmanager_config(service(oncall=tool))
    spec = alertmanager_config_spec(config)
    document = {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {"name": "shop", "namespace": "shop"},
        "spec": spec,
    }
    errors = [e.message for e in jsonschema.Draft4Validator(AMC_SCHEMA).iter_errors(document)]
    assert not errors
    # Same receivers but the heartbeat (the platform's), same routes to them, every credential a Secret key.
    names = {r["name"] for r in spec["receivers"]}
    assert names == {r["name"] for r in config["receivers"] if "webhook_configs" not in r}
    routed = {r["receiver"] for r in spec["route"]["routes"]}
    assert routed <= names and not any("heartbeat" in name for name in routed)
    assert set(referenced_secrets(spec)) == {"shop-oncall"}
    assert "_file" not in json.dumps(spec)


def test_matchers_keep_their_operator():
    assert matcher('severity=~"critical|warning"') == {
        "name": "severity",
        "matchType": "=~",
        "value": "critical|warning",
    }
    assert matcher('alertname!="Watchdog"')["matchType"] == "!="
    with pytest.raises(ValueError, match="expected <label>"):
        matcher("severity critical")


def test_a_platform_in_another_region_environment_or_with_fewer_zones_is_refused():
    contract = PlatformContract.from_outputs(platform_outputs("acme", "prod", "eu-west-1"), "acme/platform/prod")
    problems = hosting_problems(contract, env="staging", region="us-east-1", az_count=4)
    assert len(problems) == 4
    assert "'prod' environment, this stack is 'staging'" in problems[0]
    assert "the platform runs in eu-west-1, this service in us-east-1" in problems[1]
    assert "3 isolated subnets and this service's tier spreads over 4 zones" in problems[3]
    assert hosting_problems(contract, env="prod", region="eu-west-1", az_count=3) == []


def test_a_service_asking_more_than_its_platform_gets_the_reason():
    assert hosting_warning(99.9, 99.95) == ""
    assert hosting_warning(99.95, 99.95) == ""
    reason = hosting_warning(99.99, 99.9)
    assert "asks for 99.99% and its platform is built for 99.9%" in reason
    assert "cannot be more available" in reason


def _monitoring_dir(tmp_path: Path, plan) -> Path:
    (tmp_path / "prometheus").mkdir(parents=True)
    (tmp_path / "alertmanager").mkdir()
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "prometheus" / "rules.yml").write_text(yaml.safe_dump(rule_file(plan)))
    (tmp_path / "alertmanager" / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_config(plan)))
    for name, board in dashboards(plan).items():
        (tmp_path / "dashboards" / name).write_text(json.dumps(board))
    return tmp_path


def test_tenancy_lives_in_the_namespace_with_the_labels_the_platform_selects(tmp_path):
    import pulumi_kubernetes as k8s

    plan = service(oncall="slack")
    prod = plan.prod
    directory = _monitoring_dir(tmp_path, plan)

    def build():
        namespace = k8s.core.v1.Namespace("shop-ns", metadata={"name": "shop"})
        ServiceTenancy(
            "shop-prod",
            ServiceTenancyArgs(
                service="shop",
                plan=prod,
                namespace=namespace,
                cluster_name="acme-prod",
                deploy_role="shop-prod-deploy",
                preview_role="shop-prod-preview",
                monitoring_dir=directory,
                oncall_credentials={"oncall_credential": "https://hooks.slack.invalid/1"},
                tags=prod.tags,
            ),
        )

    run = run_with_mocks(build)
    namespaced = [r for r in run.resources if r.type.startswith("kubernetes:") and "Namespace" not in r.type]
    assert namespaced and all(r.inputs["metadata"]["namespace"] == "shop" for r in namespaced)
    (quota,) = run.of_type("kubernetes:core/v1:ResourceQuota")
    assert quota.inputs["spec"]["hard"] == namespace_quota(prod)
    (rule,) = run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    assert DISCOVERY_LABELS["prometheus_rule"].items() <= rule.inputs["metadata"]["labels"].items()
    (routing,) = run.of_type("kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig")
    assert DISCOVERY_LABELS["alertmanager_config"].items() <= routing.inputs["metadata"]["labels"].items()
    (secret,) = run.of_type("kubernetes:core/v1:Secret")
    data = secret.inputs["stringData"]
    assert data["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"  # a secret value
    assert set(data["value"]) == {"slack-webhook-url", "slack-ticket-webhook-url"}
    boards = [
        m for m in run.of_type("kubernetes:core/v1:ConfigMap") if "grafana_dashboard" in m.inputs["metadata"]["labels"]
    ]
    assert len(boards) == len(dashboards(plan))
    scopes = {
        a.inputs["principalArn"].rsplit("/", 1)[-1]: (a.inputs["policyArn"].rsplit("/", 1)[-1], a.inputs["accessScope"])
        for a in run.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    assert scopes == {
        "shop-prod-deploy": ("AmazonEKSAdminPolicy", {"type": "namespace", "namespaces": ["shop"]}),
        "shop-prod-preview": ("AmazonEKSAdminViewPolicy", {"type": "namespace", "namespaces": ["shop"]}),
    }


def test_a_service_monitored_beyond_its_platform_is_refused():
    outputs = platform_outputs("acme", "prod", components=("prometheus", "alertmanager", "grafana"))
    contract = PlatformContract.from_outputs(outputs, "acme/platform/prod")
    comprehensive = service(monitoring_level="comprehensive").prod.monitoring.components
    (problem,) = hosting_problems(
        contract, env="prod", region="us-east-1", az_count=3, monitoring_components=comprehensive
    )
    assert "opentelemetry-collector" in problem and "monitoring_level no higher than the platform's" in problem
    standard = service(monitoring_level="basic").prod.monitoring.components
    assert hosting_problems(contract, env="prod", region="us-east-1", az_count=3, monitoring_components=standard) == []
