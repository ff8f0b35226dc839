"""Alertmanager config: amtool accepts it for every on-call tool, routes by severity and environment,
reads credentials from files, and a page inhibits the matching ticket in a real Alertmanager."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from monitoring_repos import repo, run, tool

ONCALL = ("pagerduty", "opsgenie", "slack", "email")
CREDENTIAL_KEYS = {"routing_key", "service_key", "api_key", "api_url", "auth_password", "smtp_auth_password"}


def config_path(oncall: str = "pagerduty", **answers) -> Path:
    return (
        repo(platform="aws-eks", monitoring_level="basic", oncall=oncall, **answers)
        / "monitoring/alertmanager/alertmanager.yml"
    )


@pytest.mark.parametrize("oncall", ONCALL)
def test_amtool_accepts_the_config(oncall):
    result = run(tool("amtool"), "check-config", str(config_path(oncall)))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("oncall", ONCALL)
def test_credentials_are_files_never_inline(oncall):
    config = yaml.safe_load(config_path(oncall).read_text())
    text = config_path(oncall).read_text()
    files = []
    for receiver in config["receivers"]:
        for entries in receiver.values():
            for entry in entries if isinstance(entries, list) else []:
                assert not CREDENTIAL_KEYS & set(entry), receiver["name"]
                files += [v for k, v in entry.items() if k.endswith("_file")]
    assert not CREDENTIAL_KEYS & set(config.get("global", {}))
    files += [v for k, v in config.get("global", {}).items() if k.endswith("_file")]
    assert files and all(f.startswith("/etc/alertmanager/secrets/example-service-oncall/") for f in files)
    assert "pd-" not in text and "hooks.slack.com" not in text


@pytest.mark.parametrize(
    "labels,receiver",
    [
        (["severity=critical", "environment=prod", "slo=availability"], "example-service-page"),
        (["severity=critical", "environment=staging", "slo=availability"], "example-service-ticket"),
        (["severity=critical", "environment=dev"], "example-service-ticket"),
        (["severity=warning", "environment=prod"], "example-service-ticket"),
        (["severity=info", "environment=prod"], "example-service-info"),
        (["alertname=Watchdog", "severity=none"], "null"),
    ],
)
def test_routes_by_severity_and_paging_environment(labels, receiver):
    result = run(tool("amtool"), "config", "routes", "test", f"--config.file={config_path()}", *labels)
    assert result.returncode == 0 and result.stdout.split()[-1] == receiver, result.stdout + result.stderr


def test_only_environments_whose_plan_pages_can_page():
    config = yaml.safe_load(config_path(environments=["staging", "prod"]).read_text())
    (page,) = [r for r in config["route"]["routes"] if r["receiver"].endswith("-page")]
    assert 'environment=~"prod"' in page["matchers"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(port: int, path: str, body: object | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/{path}", data=data, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read()
    return json.loads(text) if text else None


def test_a_page_inhibits_the_ticket_of_the_same_slo_in_alertmanager(tmp_path):
    binary = tool("prometheus-alertmanager")
    port, cluster = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config_path()}",
            f"--storage.path={tmp_path}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--cluster.listen-address=127.0.0.1:{cluster}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _api(port, "status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        base = {"service": "example-service", "environment": "prod"}
        alerts = [
            {
                "labels": {
                    **base,
                    "alertname": "AvailabilityBudgetBurnPage",
                    "slo": "availability",
                    "severity": "critical",
                }
            },
            {
                "labels": {
                    **base,
                    "alertname": "AvailabilityBudgetBurnTicket",
                    "slo": "availability",
                    "severity": "warning",
                }
            },
            {"labels": {**base, "alertname": "LatencyBudgetBurnTicket", "slo": "latency", "severity": "warning"}},
        ]
        _api(port, "alerts", alerts)
        deadline = time.monotonic() + 10
        while True:
            states = {a["labels"]["alertname"]: a["status"] for a in _api(port, "alerts")}
            if len(states) == 3 and states["AvailabilityBudgetBurnTicket"]["inhibitedBy"]:
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.2)
        assert not states["AvailabilityBudgetBurnPage"]["inhibitedBy"]
        assert not states["LatencyBudgetBurnTicket"]["inhibitedBy"], "another SLO's ticket is not silenced"
    finally:
        process.terminate()
        process.wait(timeout=10)
