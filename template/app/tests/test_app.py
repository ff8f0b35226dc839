"""The service: its WSGI application called in-process, the real gunicorn on loopback (several
workers, metrics summed across them, SIGTERM finishing in-flight requests), and the Lambda handler."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from wsgiref.util import setup_testing_defaults

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


class Client:
    """Calls the WSGI application as a server would, without a socket."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, path: str, method: str = "GET") -> tuple[int, str, dict[str, str]]:
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path.split("?")[0], "wsgi.errors": io.StringIO()}
        setup_testing_defaults(environ)
        reply = {}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            reply["status"], reply["headers"] = int(status.split()[0]), {k.lower(): v for k, v in headers}

        body = b"".join(self.app(environ, start_response))
        return reply["status"], body.decode(), reply["headers"]


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
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)  # one process: its own metrics
    app = serve(routing.State())
    return Client(app), app


def test_health_and_readiness(server):
    get, _ = server
    assert get("/healthz")[:2] == (200, '{"status": "ok"}')
    assert get("/readyz")[:2] == (200, '{"status": "ready"}')
    status, body, _ = get("/")
    assert status == 200 and json.loads(body)["service"] == settings.SERVICE
    assert get("/nope")[0] == 404
    assert get("/", method="POST")[0] == 405
    status, body, headers = get("/", method="HEAD")
    assert (status, body) == (200, "") and int(headers["content-length"]) > 0


def test_readiness_fails_while_the_database_is_down(server, monkeypatch):
    get, _ = server
    with refusing_port() as port:
        monkeypatch.setenv("DATABASE_URL", f"postgresql://app@127.0.0.1:{port}/app")
        status, body, _ = get("/readyz")
        assert status == 503 and "unreachable" in json.loads(body)["reason"]
        assert get("/healthz")[0] == 200  # liveness never depends on the database
        assert 'app_dependency_up{dependency="postgres"} 0.0' in get("/metrics")[1]
    with socket.socket() as listener:  # the database comes back
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setenv("DATABASE_URL", f"postgresql://app@127.0.0.1:{listener.getsockname()[1]}/app")
        assert get("/readyz")[0] == 200
        assert 'app_dependency_up{dependency="postgres"} 1.0' in get("/metrics")[1]


def test_readiness_fails_while_draining(server):
    get, app = server
    app.state.drain()
    assert get("/readyz")[0] == 503
    assert get("/healthz")[0] == 200


def test_metrics_count_requests_by_code_and_time_them_in_the_slo_bucket(server):
    get, _ = server
    for path in ("/", "/", "/missing", "/healthz", "/readyz"):
        get(path)
    status, text, headers = get("/metrics")
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
    assert "process_resident_memory_bytes" in text


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


class Gunicorn:
    """`python -m service` (the container's entry point: gunicorn) on a free loopback port."""

    def __init__(self, workers: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DB_HOST", "PROMETHEUS_MULTIPROC_DIR")}
        env |= {"HOST": "127.0.0.1", "PORT": "0", "WEB_CONCURRENCY": str(workers), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service"], cwd=APP, env=env, stdout=subprocess.PIPE, text=True
        )
        # A bound on the whole run: a server that hangs is killed, its output ends, and the test fails.
        self.watchdog = threading.Timer(60, self.process.kill)
        self.watchdog.start()
        self.lines: list[dict] = []
        listening = self.read_until(lambda line: line["message"] == "listening")
        self.base = f"http://127.0.0.1:{listening['port']}"
        self.wait_workers(workers)

    def read_until(self, found) -> dict:
        for raw in self.process.stdout:
            line = json.loads(raw)
            self.lines.append(line)
            if found(line):
                return line
        raise AssertionError(f"gunicorn stopped early: {self.lines}")

    def wait_workers(self, count: int) -> None:
        """Until `count` workers run: each logs "Booting worker" before it accepts."""
        while sum(line["message"].startswith("Booting worker") for line in self.lines) < count:
            self.read_until(lambda line: line["message"].startswith("Booting worker"))

    def workers(self) -> set[int]:
        """The pids that served `/`, from the access log lines read so far."""
        return {line["pid"] for line in self.lines if line["message"] == "request"}

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        finally:
            self.watchdog.cancel()
            if self.process.poll() is None:
                self.process.kill()
            self.lines += [json.loads(raw) for raw in self.process.stdout.read().splitlines()]


@pytest.fixture
def gunicorn():
    started: list[Gunicorn] = []

    def start(workers: int) -> Gunicorn:
        started.append(Gunicorn(workers))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def test_gunicorn_sums_the_metrics_of_every_worker_even_one_that_exited(gunicorn):
    app = gunicorn(3)
    for _ in range(5):
        assert get(f"{app.base}/")[0] == 200
    first = app.read_until(lambda line: line["message"] == "request")["pid"]
    # That worker exits (as gunicorn recycles workers): the next requests go to the others,
    # and its counts stay in the totals.
    os.kill(first, signal.SIGTERM)
    app.read_until(lambda line: line["message"] == f"Worker exiting (pid: {first})")
    for _ in range(5):
        assert get(f"{app.base}/")[0] == 200
    status, text, _ = get(f"{app.base}/metrics")
    assert status == 200
    assert 'http_requests_total{code="200",method="GET",route="/"} 10.0' in text
    assert 'http_request_duration_seconds_count{method="GET",route="/"} 10.0' in text
    assert app.stop() == 0
    assert len(app.workers()) >= 2 and first in app.workers()  # the totals above are a sum over processes


def test_sigterm_finishes_the_request_in_flight_and_exits_0(gunicorn):
    app = gunicorn(2)
    host, port = app.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: service\r\n")  # a slow client: headers not finished
        time.sleep(0.5)  # a worker has taken the connection
        app.process.send_signal(signal.SIGTERM)
        app.read_until(lambda line: line["message"] == "Handling signal: term")
        client.sendall(b"Connection: close\r\n\r\n")
        reply = b""
        while chunk := client.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ") and b'"status": "ok"' in reply
    assert app.stop() == 0
    messages = [line["message"] for line in app.lines]
    assert messages[-1] == "stopped" and messages.index("request") < messages.index("stopped")
    (request,) = [line for line in app.lines if line["message"] == "request"]
    assert len(request["trace_id"]) == 32  # its span is made even when no collector is configured


def test_a_scrape_skips_a_worker_file_still_being_created(tmp_path):
    """A worker opens its metrics file before sizing it: a scrape in another worker that finds it
    empty still answers, with every other worker's series."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.mmap_dict import MmapedDict
    from service.server import _WorkerFiles

    written = MmapedDict(str(tmp_path / "counter_1.db"))
    key = json.dumps(("http_requests", "http_requests_total", {"code": "200"}, "Requests."))
    written.write_value(key, 3.0, 0.0)
    written.close()
    (tmp_path / "counter_2.db").touch()  # the second worker, between open and truncate
    registry = CollectorRegistry()
    _WorkerFiles(registry, path=str(tmp_path))
    assert 'http_requests_total{code="200"} 3.0' in generate_latest(registry).decode()
