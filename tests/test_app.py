"""The generated sample app, for real: started on loopback from a rendered repo (gunicorn, as in
the image), probed over HTTP, stopped with SIGTERM; its own tests pass; hadolint accepts its
Dockerfile, which installs the hashed lock; CI audits every lock."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import render

HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    base = tmp_path_factory.mktemp("app")
    return {
        "eks": render(base / "eks", platform="aws-eks", latency_slo_ms=300),
        "lambda": render(base / "lambda", platform="aws-lambda", database="postgres"),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def start(repo: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DB_HOST")}
    # A drain bounded well inside stop()'s wait: gunicorn's default here equals it (15 s), so a worker
    # still holding a keep-alive connection could outlast the wait by the time the arbiter takes to exit.
    environment |= {"HOST": "127.0.0.1", "PORT": str(port), "PYTHONUNBUFFERED": "1", "GRACEFUL_TIMEOUT_SECONDS": "5"}
    environment |= env
    process = subprocess.Popen(
        [sys.executable, "-m", "service"], cwd=repo / "app", env=environment, stdout=subprocess.PIPE, text=True
    )
    for raw in process.stdout:  # gunicorn's start-up lines, then "listening": the server is up
        line = json.loads(raw)
        if line["message"] == "listening":
            break
    assert line["message"] == "listening" and line["port"] == port
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()


def test_the_app_serves_its_three_endpoints_on_loopback(repos):
    process, base = start(repos["eks"])
    try:
        assert get(f"{base}/healthz") == (200, '{"status": "ok"}')
        assert get(f"{base}/readyz") == (200, '{"status": "ready"}')
        assert get(f"{base}/")[0] == 200
        status, metrics = get(f"{base}/metrics")
    finally:
        assert stop(process) == 0  # SIGTERM: drained and exited cleanly
    assert status == 200
    assert 'http_requests_total{code="200",method="GET",route="/"} 1.0' in metrics
    # The latency SLO (300 ms) is an exact bucket bound, as the SLO rules and analysis expect.
    assert 'http_request_duration_seconds_bucket{le="0.3",method="GET",route="/"} 1.0' in metrics
    assert "# TYPE http_request_duration_seconds histogram" in metrics


def test_readiness_fails_while_the_database_is_unreachable(repos):
    process, base = start(repos["eks"], DATABASE_URL=f"postgresql://app@127.0.0.1:{free_port()}/app")
    try:
        status, body = get(f"{base}/readyz")
        assert status == 503 and json.loads(body)["status"] == "unavailable"
        assert get(f"{base}/healthz")[0] == 200
    finally:
        stop(process)


def test_the_generated_app_tests_pass(repos):
    for repo in repos.values():
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "app/tests"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_dockerfile_is_multi_stage_non_root_pinned_and_hadolint_clean(repos):
    dockerfile = repos["eks"] / "app" / "Dockerfile"
    lines = dockerfile.read_text().splitlines()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2 and all("@sha256:" in line for line in stages)
    assert [line for line in lines if line.startswith("USER ")] == ["USER 10001:10001"]
    result = subprocess.run([HADOLINT, str(dockerfile)], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "")


def test_the_image_installs_the_hashed_lock_and_ci_audits_every_lock(repos):
    dockerfile = (repos["eks"] / "app" / "Dockerfile").read_text()
    assert "COPY requirements.lock ." in dockerfile
    assert "pip install --no-cache-dir --require-hashes --requirement requirements.lock" in dockerfile
    for repo in repos.values():
        workflow = yaml.safe_load((repo / ".github" / "workflows" / "ci.yml").read_text())
        runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
        (audit,) = [run for run in runs if run.startswith("pip-audit")]
        assert "--strict" in audit and "--require-hashes" in audit
        locks = sorted(str(path.relative_to(repo)) for path in repo.rglob("*.lock"))
        assert locks == [".github/ci-requirements.lock", "app/requirements.lock", "requirements.lock"]
        assert all(f"-r {lock}" in audit for lock in locks)
        assert "python scripts/check_locks.py" in runs
        installs = [run for run in runs if "pip install" in run]
        assert installs and all("--require-hashes -r " in run and ".lock" in run for run in installs), installs


def test_hadolint_would_flag_an_unpinned_root_image(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install prometheus-client\nCMD python -m service\n")
    result = subprocess.run([HADOLINT, str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_each_platform_gets_its_entry_point(repos):
    assert (repos["eks"] / "app" / "Dockerfile").exists()
    assert not (repos["lambda"] / "app" / "Dockerfile").exists()
    assert (repos["lambda"] / "app" / "service" / "lambda_handler.py").exists()
