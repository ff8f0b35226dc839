"""Alertmanager config: amtool accepts it for every on-call tool and routes pages, tickets, the
heartbeat and non-production alerts apart; credentials are files; in a real Alertmanager a page
inhibits the matching ticket and the Watchdog pings the heartbeat with the key read from its file."""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from monitoring_repos import repo, run, tool

from pulumi_components.reliability.alertmanager import (
    HEARTBEAT_EXPIRY,
    HEARTBEAT_REPEAT,
    credentials,
    heartbeat_ping_seconds,
    without_url_files,
)
from pulumi_components.reliability.slo import duration_seconds

ONCALL = ("pagerduty", "opsgenie", "slack", "email")
CREDENTIAL_KEYS = {"routing_key", "service_key", "api_key", "api_url", "auth_password", "smtp_auth_password"}


def config_path(oncall: str = "pagerduty", **answers) -> Path:
    return (
        repo(platform="aws-eks", monitoring_level="basic", oncall=oncall, **answers)
        / "monitoring/alertmanager/alertmanager.yml"
    )


def amtool_version() -> tuple[int, int]:
    result = run(tool("amtool"), "--version")
    major, minor = re.search(r"version (\d+)\.(\d+)", result.stdout + result.stderr).groups()
    return int(major), int(minor)


def checked_config(oncall: str = "pagerduty", **answers) -> Path:
    """The config as the installed amtool/alertmanager read it: before 0.26 (Debian 12: 0.25)
    they have no webhook `url_file`, so the heartbeat URL file becomes a URL naming it."""
    path = config_path(oncall, **answers)
    if amtool_version() >= (0, 26):
        return path
    copy = path.with_name(f"alertmanager-{oncall}-0.25.yml")
    copy.write_text(yaml.safe_dump(without_url_files(yaml.safe_load(path.read_text()))))
    return copy


@pytest.mark.parametrize("oncall", ONCALL)
def test_amtool_accepts_the_config(oncall):
    result = run(tool("amtool"), "check-config", str(checked_config(oncall)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_old_amtool_rejects_only_the_url_file_the_copy_rewrites():
    if amtool_version() >= (0, 26):
        pytest.skip("this amtool reads url_file")
    result = run(tool("amtool"), "check-config", str(config_path("pagerduty")))
    assert result.returncode != 0 and "field url_file not found" in result.stdout + result.stderr
    rewritten = yaml.safe_load(checked_config("pagerduty").read_text())
    original = yaml.safe_load(config_path("pagerduty").read_text())
    (hook,) = [r for r in original["receivers"] if r["name"] == "example-service-heartbeat-prod"]
    (copy,) = [r for r in rewritten["receivers"] if r["name"] == "example-service-heartbeat-prod"]
    assert copy["webhook_configs"][0]["url"].endswith(hook["webhook_configs"][0]["url_file"])
    assert {k: v for k, v in rewritten.items() if k != "receivers"} == {
        k: v for k, v in original.items() if k != "receivers"
    }


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
    assert "pd-" not in text and "hooks.slack.com" not in text and "nosnch.in" not in text and "hc-ping" not in text
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            assert "url_file" in hook or hook["http_config"]["authorization"]["credentials_file"], receiver["name"]


# (oncall tool, labels) -> receiver; every tool pages, tickets, heartbeats and keeps non-production quiet.
ROUTES = [
    (["severity=critical", "environment=prod", "slo=availability"], "example-service-page"),
    (["severity=critical", "environment=staging", "slo=availability"], "example-service-ticket"),
    (["severity=critical", "environment=dev"], "example-service-ticket"),
    (["severity=critical"], "example-service-ticket"),  # no environment label: never a page
    (["severity=warning", "environment=prod"], "example-service-ticket"),
    (["severity=info", "environment=prod"], "example-service-info"),
    (["alertname=Watchdog", "severity=none", "environment=prod"], "example-service-heartbeat-prod"),
    (["alertname=Watchdog", "severity=none", "environment=staging"], "null"),
    (["alertname=Watchdog", "severity=none", "environment=dev"], "null"),
    (["alertname=InfoInhibitor", "severity=none", "environment=prod"], "null"),
]


@pytest.mark.parametrize("oncall", ONCALL)
@pytest.mark.parametrize("labels,receiver", ROUTES)
def test_routes_pages_tickets_heartbeat_and_non_production_apart(oncall, labels, receiver):
    result = run(tool("amtool"), "config", "routes", "test", f"--config.file={checked_config(oncall)}", *labels)
    assert result.returncode == 0 and result.stdout.split()[-1] == receiver, result.stdout + result.stderr


def _receivers(oncall: str) -> dict[str, dict]:
    return {r["name"]: r for r in yaml.safe_load(config_path(oncall).read_text())["receivers"]}


def test_tickets_never_use_the_paging_destination():
    pagerduty = _receivers("pagerduty")
    page_key = pagerduty["example-service-page"]["pagerduty_configs"][0]["routing_key_file"]
    for kind in ("ticket", "info"):
        key = pagerduty[f"example-service-{kind}"]["pagerduty_configs"][0]["routing_key_file"]
        assert key != page_key and key.endswith("/pagerduty-ticket-routing-key")
    opsgenie = _receivers("opsgenie")
    assert opsgenie["example-service-page"]["opsgenie_configs"][0]["priority"] == "P1"
    assert opsgenie["example-service-ticket"]["opsgenie_configs"][0]["priority"] == "P3"
    assert opsgenie["example-service-info"]["opsgenie_configs"][0]["priority"] == "P5"
    slack = _receivers("slack")
    page_hook = slack["example-service-page"]["slack_configs"][0]["api_url_file"]
    for kind in ("ticket", "info"):
        config = slack[f"example-service-{kind}"]["slack_configs"][0]
        assert config["api_url_file"] != page_hook and config["channel"] == "#platform-alerts"
        assert "@here" not in str(config)


@pytest.mark.parametrize("oncall", ONCALL)
def test_the_heartbeat_is_pinged_well_within_its_expiry(oncall):
    config = yaml.safe_load(config_path(oncall).read_text())
    (route,) = [r for r in config["route"]["routes"] if r["receiver"] == "example-service-heartbeat-prod"]
    assert route["repeat_interval"] == route["group_interval"] == HEARTBEAT_REPEAT and route["group_wait"] == "0s"
    assert 2 * heartbeat_ping_seconds() <= duration_seconds(HEARTBEAT_EXPIRY)
    assert config["route"]["routes"].index(route) == 0, "ahead of the route that silences Watchdog"
    (hook,) = _receivers(oncall)["example-service-heartbeat-prod"]["webhook_configs"]
    if oncall == "opsgenie":
        assert hook["url"] == "https://api.opsgenie.com/v2/heartbeats/example-service-prod-watchdog/ping"
        assert hook["http_config"]["authorization"]["type"] == "GenieKey"
    else:
        assert hook["url_file"] == "/etc/alertmanager/secrets/example-service-oncall/heartbeat-url"


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


@contextlib.contextmanager
def alertmanager(config: Path, storage: Path):
    """A real Alertmanager on loopback with `config`; yields its API port."""
    binary = tool("prometheus-alertmanager")
    port, cluster = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={storage}",
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
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_page_inhibits_the_ticket_of_the_same_slo_in_alertmanager(tmp_path):
    with alertmanager(checked_config(), tmp_path) as port:
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


class _Heartbeat(http.server.BaseHTTPRequestHandler):
    pings: list[tuple[str, str, dict]] = []

    def do_POST(self):  # noqa: N802 (the handler's name is http.server's)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.pings.append((self.path, self.headers.get("Authorization", ""), body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_watchdog_from_production_pings_the_opsgenie_heartbeat_with_the_key_file(tmp_path):
    """The generated Opsgenie config, with the API host moved to loopback and the Secret's key file
    to a temporary one: Alertmanager pings the heartbeat, authenticated with the file's key."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Heartbeat)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key_file = tmp_path / "opsgenie-api-key"
    key_file.write_text("og-test-key")
    text = config_path("opsgenie").read_text()
    text = text.replace(
        "https://api.opsgenie.com/v2/heartbeats/", f"http://127.0.0.1:{server.server_port}/v2/heartbeats/"
    )
    text = text.replace("/etc/alertmanager/secrets/example-service-oncall/opsgenie-api-key", str(key_file))
    config = tmp_path / "alertmanager.yml"
    config.write_text(text)
    try:
        with alertmanager(config, tmp_path / "data") as port:
            watchdog = {"alertname": "Watchdog", "severity": "none"}
            _api(port, "alerts", [{"labels": {**watchdog, "environment": "staging"}}])
            _api(port, "alerts", [{"labels": {**watchdog, "environment": "prod"}}])
            deadline = time.monotonic() + 15
            while not _Heartbeat.pings:
                assert time.monotonic() < deadline, "no heartbeat ping"
                time.sleep(0.2)
            time.sleep(1)
    finally:
        server.shutdown()
    (ping,) = _Heartbeat.pings
    path, authorization, body = ping
    assert path == "/v2/heartbeats/example-service-prod-watchdog/ping"
    assert authorization == "GenieKey og-test-key"
    assert [a["labels"]["environment"] for a in body["alerts"]] == ["prod"], "staging's Watchdog pings nothing"


@pytest.mark.parametrize("oncall", ONCALL)
def test_the_oncall_guide_says_how_to_set_up_every_credential_and_the_heartbeat(oncall):
    guide = (repo(platform="aws-eks", monitoring_level="basic", oncall=oncall) / "docs" / "oncall.md").read_text()
    for credential in credentials(oncall):
        assert f"pulumi config set --secret --stack prod {credential.config}\n" in guide
    assert "`example-service-prod-watchdog`" in guide and "must page after 10 minutes without a ping" in guide
    if oncall == "opsgenie":
        assert '"name": "example-service-prod-watchdog", "interval": 10, "intervalUnit": "minutes"' in guide
    else:
        assert "Its check-in URL is the secret `oncall_heartbeat_url`" in guide
    lambda_guide = (repo(platform="aws-lambda", oncall=oncall) / "docs" / "oncall.md").read_text()
    assert "heartbeat" not in lambda_guide, "aws-lambda has no Alertmanager"
