"""Each monitoring level renders exactly its parts: files under monitoring/ and the alerts in its rules."""

from __future__ import annotations

import pytest
import yaml
from monitoring_repos import LEVELS, repo
from test_alert_catalogue import EXPECTED

COMMON = {"alerts.yaml", "tests/test_monitoring.py", "tests/test_wiring.py"}
EKS_BASIC = COMMON | {
    "gameday.py",
    "prometheus/rules.yml",
    "prometheus/alerts.test.yml",
    "prometheus/recording-rules.test.yml",
    "alertmanager/alertmanager.yml",
    "values/kube-prometheus-stack.yaml",
    "local/prometheus.yml",  # compose.yaml's Prometheus
    "local/alertmanager.yml",  # compose.yaml's Alertmanager and the sink it notifies
    "local/alert_sink.py",
}
EKS_STANDARD = EKS_BASIC | {
    "local/grafana/dashboards.yaml",  # compose.yaml's Grafana, at the levels that have dashboards
    "local/grafana/datasources.yaml",
    "local/loki.yaml",  # compose.yaml's Loki and Alloy, at the levels that have Loki
    "local/logs.alloy",
    "dashboards/slo.json",
    "dashboards/red.json",
    "values/grafana.yaml",
    "values/loki.yaml",
    "values/alloy.yaml",
    "values/prometheus-blackbox-exporter.yaml",
}
EKS_COMPREHENSIVE = EKS_STANDARD | {
    "dashboards/error-budget.json",
    "loki/rules.yml",
    "values/tempo.yaml",
    "values/opentelemetry-collector.yaml",
}
FILES = {
    ("aws-eks", "basic"): EKS_BASIC,
    ("aws-eks", "standard"): EKS_STANDARD,
    ("aws-eks", "comprehensive"): EKS_COMPREHENSIVE,
    **{("aws-lambda", level): COMMON for level in LEVELS},
}


@pytest.mark.parametrize("platform,level", list(FILES))
def test_each_level_renders_exactly_its_monitoring_files(platform, level):
    root = repo(platform=platform, monitoring_level=level) / "monitoring"
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files == FILES[(platform, level)]


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_defines_exactly_its_alerts(level):
    root = repo(platform="aws-eks", monitoring_level=level) / "monitoring"
    defined = [
        rule["alert"]
        for path in (root / "prometheus/rules.yml", root / "loki/rules.yml")
        if path.exists()
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]
    expected = set(EXPECTED[("aws-eks", level)]) | ({"DatabaseUnavailable"} if level != "basic" else set())
    assert sorted(defined) == sorted(expected)
    catalogue = {a["name"] for a in yaml.safe_load((root / "alerts.yaml").read_text())}
    assert catalogue == expected


@pytest.mark.parametrize("level", LEVELS)
def test_latency_slo_is_recorded_from_standard_up(level):
    rules = yaml.safe_load(
        (repo(platform="aws-eks", monitoring_level=level) / "monitoring/prometheus/rules.yml").read_text()
    )
    slos = {rule["labels"]["slo"] for rule in rules["groups"][0]["rules"]}
    assert slos == ({"availability"} if level == "basic" else {"availability", "latency"})
