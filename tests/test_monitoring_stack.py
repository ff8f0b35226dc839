"""MonitoringStack under Pulumi mocks: the charts of each level, real chart keys, plan-derived
sizes, a PrometheusRule valid against its CRD with the `release` label, dashboards for the sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from chart_keys import unknown_keys
from monitoring_repos import LEVELS, repo

from pulumi_components import ComponentArgsError
from pulumi_components.charts import CHARTS
from pulumi_components.monitoring_stack import MonitoringStack, MonitoringStackArgs
from pulumi_components.reliability import from_config
from pulumi_components.testing import run_with_mocks, stack_config

RELEASE = "kubernetes:helm.sh/v3:Release"
CRDS = Path(__file__).parent / "reference" / "crds"
SCHEMAS = Path(__file__).parent / "reference" / "chart-keys"
LEVEL_CHARTS = {
    "basic": {"kube-prometheus-stack"},
    "standard": {"kube-prometheus-stack", "grafana", "loki", "alloy", "prometheus-blackbox-exporter"},
    "comprehensive": {
        "kube-prometheus-stack",
        "grafana",
        "loki",
        "alloy",
        "tempo",
        "opentelemetry-collector",
        "prometheus-blackbox-exporter",
    },
}


def env_plan(root: Path, env: str):
    return from_config(stack_config(root / f"Pulumi.{env}.yaml")["example-service:plan"])


def build(
    level: str, env: str = "prod", credential: str | None = "pd-routing-key", credentials: dict | None = None, **answers
):
    root = repo(platform="aws-eks", monitoring_level=level, **answers)
    args = MonitoringStackArgs(
        service="example-service",
        plan=env_plan(root, env),
        monitoring_dir=root / "monitoring",
        oncall_credentials=credentials if credentials is not None else {"oncall_credential": credential},
    )

    def program():
        MonitoringStack(f"example-service-{env}", args).probe("https://example.com")

    return run_with_mocks(program)


def releases(run) -> dict:
    return {r.inputs["chart"]: r for r in run.of_type(RELEASE)}


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_installs_exactly_its_charts_with_real_keys(level):
    installed = releases(build(level))
    assert set(installed) == LEVEL_CHARTS[level]
    for chart, release in installed.items():
        assert release.inputs["version"] == CHARTS[chart].version
        assert release.inputs["namespace"] == "monitoring"
        assert unknown_keys(chart, CHARTS[chart].version, release.inputs["values"]) == [], chart


@pytest.mark.parametrize("chart", ["loki", "opentelemetry-collector"])
def test_values_pass_the_charts_own_schema(chart):
    release = releases(build("comprehensive"))[chart]
    schema = json.loads((SCHEMAS / f"{chart}-{CHARTS[chart].version}.values.schema.json").read_text())
    # Helm validates the merge with the chart's defaults, which supply the top-level required keys.
    schema.pop("required", None)
    jsonschema.Draft7Validator(schema).validate(release.inputs["values"])


@pytest.mark.parametrize("sla,env", [(99.5, "prod"), (99.9, "prod"), (99.99, "prod"), (99.99, "dev")])
def test_sizes_and_high_availability_follow_the_plan(sla, env):
    root = repo(platform="aws-eks", monitoring_level="standard", sla=sla)
    plan = env_plan(root, env).monitoring
    values = releases(build("standard", env=env, sla=sla))
    spec = values["kube-prometheus-stack"].inputs["values"]["prometheus"]["prometheusSpec"]
    assert spec["replicas"] == plan.prometheus_replicas
    assert spec["retention"] == f"{plan.prometheus_retention_days}d"
    assert spec["externalLabels"] == {"environment": env}
    storage = spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
    assert storage == f"{plan.prometheus_storage_gb}Gi"
    am = values["kube-prometheus-stack"].inputs["values"]["alertmanager"]["alertmanagerSpec"]
    assert am["replicas"] == plan.alertmanager_replicas
    # HA replicas spread over zones; a single replica cannot.
    assert (am["podAntiAffinity"] == "hard") == (plan.alertmanager_replicas > 1)
    loki = values["loki"].inputs["values"]["loki"]["limits_config"]["retention_period"]
    assert loki == f"{plan.log_retention_days * 24}h"


def test_prometheus_rule_matches_its_crd_and_the_release_selector():
    run = build("comprehensive")
    (rule,) = run.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    assert rule.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    schema = json.loads((CRDS / "monitoring.coreos.com_PrometheusRule_v1.strict.json").read_text())
    obj = {k: rule.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    assert not list(jsonschema.Draft4Validator(schema).iter_errors(obj))
    broken = {**obj, "spec": {"groups": [{"name": "x", "rules": [{"alert": "X", "expresion": "up"}]}]}}
    assert list(jsonschema.Draft4Validator(schema).iter_errors(broken)), "the strict schema rejects a misspelt field"
    rules_file = repo(platform="aws-eks", monitoring_level="comprehensive") / "monitoring/prometheus/rules.yml"
    assert rule.inputs["spec"] == yaml.safe_load(rules_file.read_text())


def test_alertmanager_gets_the_generated_config_and_a_mounted_secret():
    run = build("basic")
    root = repo(platform="aws-eks", monitoring_level="basic")
    values = releases(run)["kube-prometheus-stack"].inputs["values"]["alertmanager"]
    assert values["config"] == yaml.safe_load((root / "monitoring/alertmanager/alertmanager.yml").read_text())
    assert values["alertmanagerSpec"]["secrets"] == ["example-service-oncall"]
    assert _oncall_secret(run) == {"pagerduty-routing-key": "pd-routing-key"}


def test_without_a_credential_no_secret_is_mounted():
    run = build("basic", credential=None)
    values = releases(run)["kube-prometheus-stack"].inputs["values"]["alertmanager"]
    assert values["alertmanagerSpec"]["secrets"] == []
    assert not run.of_type("kubernetes:core/v1:Secret")


def test_dashboards_and_log_rules_are_configmaps_for_the_sidecars():
    run = build("comprehensive")
    maps = {r.inputs["metadata"]["name"]: r for r in run.of_type("kubernetes:core/v1:ConfigMap")}
    dashboards = {n for n, r in maps.items() if r.inputs["metadata"]["labels"].get("grafana_dashboard") == "1"}
    assert dashboards == {f"example-service-dashboard-{n}" for n in ("slo", "red", "error-budget")}
    loki = [r for r in maps.values() if r.inputs["metadata"]["labels"].get("loki_rule") == "1"]
    assert len(loki) == 1 and "ErrorLogsElevated" in next(iter(loki[0].inputs["data"].values()))
    assert not [r for r in build("basic").of_type("kubernetes:core/v1:ConfigMap")]


def test_probe_targets_the_public_url_with_the_service_label():
    # From `standard` up: availability where users meet the service, through the load balancer.
    values = releases(build("standard"))["prometheus-blackbox-exporter"].inputs["values"]
    (target,) = values["serviceMonitor"]["targets"]
    assert target["url"] == "https://example.com/healthz"
    assert target["additionalMetricsRelabels"] == {"service": "example-service"}


def test_missing_values_file_names_the_path(tmp_path):
    import shutil

    root = shutil.copytree(repo(platform="aws-eks", monitoring_level="standard"), tmp_path / "repo")
    (root / "monitoring/values/loki.yaml").unlink()
    args = MonitoringStackArgs(
        service="example-service", plan=env_plan(root, "prod"), monitoring_dir=root / "monitoring"
    )
    with pytest.raises(ComponentArgsError, match=r"monitoring_dir: .*loki\.yaml is missing"):
        args.validate()


def _oncall_secret(run) -> dict:
    (secret,) = [r for r in run.of_type("kubernetes:core/v1:Secret") if r.name.endswith("oncall")]
    data = secret.inputs["stringData"]
    return data.get("value", data)  # secret inputs arrive wrapped


def test_each_credential_file_gets_its_own_config_value():
    credentials = {
        "oncall_credential": "pd-page-key",
        "oncall_ticket_credential": "pd-ticket-key",
        "oncall_heartbeat_url": "https://hc-ping.com/0000",
    }
    data = _oncall_secret(build("basic", credentials=credentials))
    assert data == {
        "pagerduty-routing-key": "pd-page-key",
        "pagerduty-ticket-routing-key": "pd-ticket-key",
        "heartbeat-url": "https://hc-ping.com/0000",
    }


def test_a_missing_credential_is_left_out_and_named():
    data = _oncall_secret(build("basic", credentials={"oncall_credential": "pd-page-key"}))
    assert data == {"pagerduty-routing-key": "pd-page-key"}
    root = repo(platform="aws-eks", monitoring_level="basic")
    config = yaml.safe_load((root / "monitoring" / "alertmanager" / "alertmanager.yml").read_text())

    def missing(env: str) -> list[str]:
        return MonitoringStackArgs(
            service="example-service",
            plan=env_plan(root, env),
            monitoring_dir=root / "monitoring",
            oncall_credentials={"oncall_credential": "pd-page-key"},
        ).missing_credentials(config)

    assert missing("prod") == ["oncall_heartbeat_url", "oncall_ticket_credential"]
    assert missing("dev") == ["oncall_ticket_credential"], "dev pages no one, so it pings no heartbeat"
