"""The production stack's program installs this directory: the rules, routes and dashboards on EKS,
the CloudWatch SLO alarms on Lambda, each alert under its catalogue name."""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra"))

from components.reliability.alertmanager import CONFIG_KEYS as ONCALL_CONFIG_KEYS  # noqa: E402
from components.testing import run_program, stack_config  # noqa: E402

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
CATALOGUE = yaml.safe_load((ROOT / "monitoring" / "alerts.yaml").read_text())


def production():
    credentials = {f"{PROJECT}:{key}": f"test-{key}" for key in ONCALL_CONFIG_KEYS}
    config = {**stack_config(ROOT / "Pulumi.prod.yaml"), **credentials}
    if (ROOT / "monitoring" / "prometheus").is_dir():
        config[f"{PROJECT}:image"] = "registry.example/app@sha256:" + "0" * 64
    return run_program(ROOT / "infra", project=PROJECT, stack="prod", config=config)


def test_production_installs_this_monitoring():
    run = production()
    if (ROOT / "monitoring" / "prometheus").is_dir():
        (rule,) = run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        assert rule.inputs["spec"] == yaml.safe_load((ROOT / "monitoring/prometheus/rules.yml").read_text())
        assert rule.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        releases = {r.inputs["chart"]: r.inputs["values"] for r in run.of_type("kubernetes:helm.sh/v3:Release")}
        routes = yaml.safe_load((ROOT / "monitoring/alertmanager/alertmanager.yml").read_text())
        if "kube-prometheus-stack" in releases:
            assert releases["kube-prometheus-stack"]["alertmanager"]["config"] == routes
        else:  # on the platform's cluster: the same routes, as the namespace's AlertmanagerConfig
            from components.reliability.tenant_routing import alertmanager_config_spec

            (routing,) = run.of_type("kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig")
            assert routing.inputs["spec"] == alertmanager_config_spec(routes)
        dashboards = {p.stem for p in (ROOT / "monitoring" / "dashboards").glob("*.json")}
        maps = run.of_type("kubernetes:core/v1:ConfigMap")
        assert len([m for m in maps if "grafana_dashboard" in m.inputs["metadata"]["labels"]]) == len(dashboards)
    else:
        alarms = {a.inputs["alarmName"] for a in run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")}
        alarms |= {a.inputs["name"] for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
        for alert in CATALOGUE:
            assert any(name.endswith(f"-{alert['name']}") for name in alarms), alert["name"]
