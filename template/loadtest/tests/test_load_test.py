"""The staging load test's scenario, run headless with the real Locust against the sample app
(gunicorn, as the image runs it) on loopback, briefly: a few seconds and a bounded number of
requests. Its stats pass through the same gate the deploy workflow runs; a run against a port that
refuses connections breaks the SLO and the gate stops it."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROFILE = json.loads((REPO / "loadtest" / "profile.json").read_text())
USERS, PER_USER_RPS, SECONDS = 4, 10, 3  # 40 requests/s for 3 s: at most 120 requests (+1 per user)


@pytest.fixture
def service(tmp_path):
    """`python -m service` on a free loopback port, its log in a file (nothing to drain)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DB_HOST", "PROMETHEUS_MULTIPROC_DIR")}
    env |= {"HOST": "127.0.0.1", "PORT": "0", "WEB_CONCURRENCY": "2", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "service.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "service"], cwd=REPO / "app", env=env, stdout=out)
    try:
        yield f"http://127.0.0.1:{_listening_port(log, process)}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def _listening_port(log: Path, process: subprocess.Popen, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for raw in log.read_text().splitlines():
            line = json.loads(raw)
            if line.get("message") == "listening":
                time.sleep(0.5)  # the workers boot after the arbiter listens
                return int(line["port"])
        if process.poll() is not None:
            raise AssertionError(f"the service exited: {log.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"the service did not listen within {timeout} s: {log.read_text()}")


@contextlib.contextmanager
def refusing_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def locust(host: str, prefix: Path, seconds: int = SECONDS) -> Path:
    env = os.environ | {"LOAD_TEST_PER_USER_RPS": str(PER_USER_RPS)}
    command = [sys.executable, "-m", "locust", "-f", "loadtest/locustfile.py", "--headless", "--host", host]
    command += ["--users", str(USERS), "--spawn-rate", str(USERS), "--run-time", f"{seconds}s"]
    command += ["--csv", str(prefix), "--only-summary", "--stop-timeout", "2", "--exit-code-on-error", "0"]
    subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    return prefix.with_name(prefix.name + "_stats.csv")


def gate(stats: Path) -> subprocess.CompletedProcess[str]:
    # The SLO thresholds from the profile; the rate floor is this short run's, not staging's.
    floor = USERS * PER_USER_RPS * 0.5  # a loaded CI machine may lag the pace; a dead service sends nothing
    command = [sys.executable, "scripts/load_test_gate.py", str(stats), "--profile", "loadtest/profile.json"]
    command += ["--min-rps", str(floor)]
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=30)


def aggregated(stats: Path) -> dict[str, str]:
    with stats.open(newline="") as handle:
        return next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")


def test_the_scenario_meets_the_slo_against_the_sample_app(service, tmp_path):
    stats = locust(service, tmp_path / "load")
    row = aggregated(stats)
    assert 0 < int(row["Request Count"]) <= USERS * PER_USER_RPS * SECONDS + USERS
    result = gate(stats)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "within the SLO" in result.stdout


def test_a_service_that_refuses_breaks_the_slo_and_the_gate_stops_it(tmp_path):
    with refusing_port() as port:
        stats = locust(f"http://127.0.0.1:{port}", tmp_path / "load", seconds=2)
    row = aggregated(stats)
    assert int(row["Failure Count"]) == int(row["Request Count"])  # nothing succeeds
    result = gate(stats)
    assert result.returncode == 1
    # Every request failed; on a loaded machine Locust may have sent none in its two seconds, which
    # the gate refuses as well (a run that sent nothing shows nothing about the SLO).
    if int(row["Request Count"]):
        assert "error ratio 1.00000" in result.stdout
    else:
        assert "sent no requests" in result.stderr
