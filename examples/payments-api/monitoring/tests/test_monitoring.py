"""The monitoring of this repository checks itself: rules, unit tests, routes, dashboards, runbooks.

promtool and amtool come from the Prometheus and Alertmanager distributions
(Debian/Ubuntu: `apt-get install prometheus prometheus-alertmanager`); the
tests that need them are skipped, saying so, when they are not on PATH.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).resolve().parents[1]
ROOT = MONITORING.parent
PROMETHEUS = MONITORING / "prometheus"
ALERTMANAGER = MONITORING / "alertmanager" / "alertmanager.yml"
LOKI_RULES = MONITORING / "loki" / "rules.yml"
CATALOGUE = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]
# The GitHub repository (owner/name) the production stack names; runbook links point into it.
REPOSITORY = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"][f"{PROJECT}:repository"]
sys.path.insert(0, str(ROOT / "infra"))

from components.reliability.alertmanager import without_url_files  # noqa: E402

eks_only = pytest.mark.skipif(not PROMETHEUS.is_dir(), reason="CloudWatch alarms on aws-lambda: no Prometheus rules")


def tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not on PATH (apt-get install prometheus prometheus-alertmanager)")
    return path


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)


def rule_alerts(path: Path) -> list[dict]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"] if "alert" in rule]


def test_every_alert_has_a_runbook_and_an_absolute_link_to_it():
    for alert in CATALOGUE:
        assert (ROOT / alert["runbook"]).is_file(), f"{alert['name']} has no runbook at {alert['runbook']}"
        assert alert["runbook_url"] == f"https://github.com/{REPOSITORY}/blob/main/{alert['runbook']}"


@eks_only
def test_rules_define_exactly_the_catalogue():
    defined = rule_alerts(PROMETHEUS / "rules.yml") + (rule_alerts(LOKI_RULES) if LOKI_RULES.exists() else [])
    assert sorted(rule["alert"] for rule in defined) == sorted(alert["name"] for alert in CATALOGUE)
    for rule in defined:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
        # A link a pager opens: this repository's runbook of the alert, on GitHub.
        link = re.fullmatch(rf"https://github\.com/{REPOSITORY}/blob/main/(.+)", rule["annotations"]["runbook_url"])
        assert link and (ROOT / link.group(1)).is_file(), rule["annotations"]["runbook_url"]
        assert link.group(1) == f"docs/runbooks/{rule['alert']}.md"


@eks_only
def test_rules_pass_promtool_check():
    result = run(tool("promtool"), "check", "rules", str(PROMETHEUS / "rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@eks_only
def test_every_prometheus_alert_has_unit_tests():
    tested = {
        check["alertname"]
        for path in PROMETHEUS.glob("*.test.yml")
        for case in yaml.safe_load(path.read_text())["tests"]
        for check in case.get("alert_rule_test", [])
    }
    assert tested == {rule["alert"] for rule in rule_alerts(PROMETHEUS / "rules.yml")}


@eks_only
def test_rules_pass_their_promtool_unit_tests():
    files = sorted(p.name for p in PROMETHEUS.glob("*.test.yml"))
    result = run(tool("promtool"), "test", "rules", *files, cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def amtool_config(tmp_path: Path) -> Path:
    """The config as this amtool reads it: before 0.26 (Debian 12 ships 0.25) it has no webhook
    `url_file`, so the heartbeat's URL file is written as a URL naming it (the deployed
    Alertmanager reads the file)."""
    result = run(tool("amtool"), "--version")
    major, minor = (int(n) for n in re.search(r"version (\d+)\.(\d+)", result.stdout + result.stderr).groups())
    if (major, minor) >= (0, 26):
        return ALERTMANAGER
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(without_url_files(yaml.safe_load(ALERTMANAGER.read_text()))))
    return path


@eks_only
def test_alertmanager_config_passes_amtool(tmp_path):
    result = run(tool("amtool"), "check-config", str(amtool_config(tmp_path)))
    assert result.returncode == 0, result.stdout + result.stderr


@eks_only
def test_alertmanager_reads_credentials_from_files_only():
    config = yaml.safe_load(ALERTMANAGER.read_text())
    secrets = {"routing_key", "service_key", "api_key", "api_url", "auth_password", "smtp_auth_password"}
    for receiver in config["receivers"]:
        for value in receiver.values():
            for entry in value if isinstance(value, list) else []:
                assert not secrets & set(entry), f"{receiver['name']} has an inline credential"
    assert not secrets & set(config.get("global", {}))


@eks_only
@pytest.mark.parametrize(
    "labels,receiver",
    [
        (["severity=critical", "environment=prod", "slo=availability"], "-page"),
        (["severity=critical", "environment=staging"], "-ticket"),
        (["severity=critical", "environment=dev"], "-ticket"),
        (["severity=warning", "environment=prod"], "-ticket"),
        (["severity=info", "environment=prod"], "-info"),
        (["alertname=Watchdog", "severity=none", "environment=prod"], "-heartbeat-prod"),
        (["alertname=Watchdog", "severity=none", "environment=staging"], "null"),
    ],
)
def test_alertmanager_routes_pages_tickets_and_the_heartbeat(labels, receiver, tmp_path):
    config = amtool_config(tmp_path)
    result = run(tool("amtool"), "config", "routes", "test", f"--config.file={config}", *labels)
    assert result.returncode == 0 and result.stdout.strip().endswith(receiver), result.stdout + result.stderr


def test_dashboards_are_valid_json_with_stable_uids():
    uids = []
    for path in sorted((MONITORING / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        uids.append(dashboard["uid"])
        assert any(v["type"] == "datasource" for v in dashboard["templating"]["list"]), path.name
    assert len(uids) == len(set(uids))
