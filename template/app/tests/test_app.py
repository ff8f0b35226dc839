"""The service on loopback: real HTTP requests against a real server, and the Lambda handler."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from service import lambda_handler, routing, settings
from service.server import serve

APP = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def refusing_port():
    """A loopback port that refuses connections: bound (so nothing else can take it while
    the test runs) but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def get(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode(), {k.lower(): v for k, v in reply.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), {k.lower(): v for k, v in error.headers.items()}


@pytest.fixture
def server(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DB_HOST", raising=False)
    state = routing.State()
    running = serve("127.0.0.1", 0, state)
    yield f"http://127.0.0.1:{running.server_address[1]}", running
    running.shutdown()
    running.server_close()


def test_health_and_readiness(server):
    base, _ = server
    assert get(f"{base}/healthz")[:2] == (200, '{"status": "ok"}')
    assert get(f"{base}/readyz")[:2] == (200, '{"status": "ready"}')
    status, body, _ = get(f"{base}/")
    assert status == 200 and json.loads(body)["service"] == settings.SERVICE
    assert get(f"{base}/nope")[0] == 404


def test_readiness_fails_while_the_database_is_down(server, monkeypatch):
    base, _ = server
    with refusing_port() as port:
        monkeypatch.setenv("DATABASE_URL", f"postgresql://app@127.0.0.1:{port}/app")
        status, body, _ = get(f"{base}/readyz")
        assert status == 503 and "unreachable" in json.loads(body)["reason"]
        assert get(f"{base}/healthz")[0] == 200  # liveness never depends on the database
    with socket.socket() as listener:  # the database comes back
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setenv("DATABASE_URL", f"postgresql://app@127.0.0.1:{listener.getsockname()[1]}/app")
        assert get(f"{base}/readyz")[0] == 200


def test_readiness_fails_while_draining(server):
    base, running = server
    running.state.drain()
    assert get(f"{base}/readyz")[0] == 503
    assert get(f"{base}/healthz")[0] == 200


def test_metrics_count_requests_by_code_and_time_them_in_the_slo_bucket(server):
    base, _ = server
    for path in ("/", "/", "/missing", "/healthz", "/readyz"):
        get(base + path)
    status, text, headers = get(f"{base}/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert 'http_requests_total{code="200",method="GET",route="/"} 2.0' in text
    assert 'http_requests_total{code="404",method="GET",route="unmatched"} 1.0' in text
    assert 'http_requests_total{code="500",method="GET",route="/"} 0.0' in text
    assert 'route="/healthz"' not in text and 'route="/readyz"' not in text  # probes stay out of the SLIs
    slo_bucket = (
        f'http_request_duration_seconds_bucket{{le="{settings.LATENCY_SLO_SECONDS}",method="GET",route="/"}} 2.0'
    )
    assert slo_bucket in text
    assert settings.LATENCY_SLO_SECONDS in settings.LATENCY_BUCKETS_SECONDS


def test_secrets_are_read_from_mounted_files(tmp_path, monkeypatch):
    from service import config

    (tmp_path / "example-database").mkdir()
    (tmp_path / "example-database" / "DATABASE_URL").write_text("postgresql://u:p@db.internal:6432/app\n")
    monkeypatch.setenv("SECRETS_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert config.database_address() == ("db.internal", 6432)


def test_lambda_handler_serves_the_same_routes(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DB_HOST", raising=False)
    event = {"rawPath": "/readyz", "requestContext": {"http": {"method": "GET"}}}
    assert lambda_handler.handle(event, None)["statusCode"] == 200
    monkeypatch.setenv("DB_HOST", "127.0.0.1")
    with refusing_port() as port:
        monkeypatch.setenv("DB_PORT", str(port))
        assert lambda_handler.handle(event, None)["statusCode"] == 503
    reply = lambda_handler.handle({"rawPath": "/", "requestContext": {"http": {"method": "GET"}}}, None)
    assert json.loads(reply["body"])["status"] == "ok"


def test_sigterm_stops_gracefully_with_json_logs():
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "service"], cwd=APP, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        started = json.loads(process.stdout.readline())
        assert started["message"] == "listening" and started["level"] == "info"
        base = f"http://127.0.0.1:{started['port']}"
        assert get(f"{base}/")[0] == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    lines = [json.loads(line) for line in process.stdout.read().splitlines()]
    assert process.stderr.read() == ""  # no collector configured: no export, no errors
    messages = [line["message"] for line in lines]
    # The request's log line may race the signal, but in-flight work ends before "stopped".
    assert sorted(messages[:-1]) == ["request", "shutting down"] and messages[-1] == "stopped"
    (request,) = [line for line in lines if line["message"] == "request"]
    assert len(request["trace_id"]) == 32  # the request's span, made even when nothing exports it
    (request,) = [line for line in lines if line["message"] == "request"]
    assert request["route"] == "/" and request["code"] == 200
