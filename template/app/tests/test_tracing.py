"""Traces with the real OpenTelemetry SDK: a request makes a SERVER span, continues its caller's
trace, and the request's log line carries the span's ids; nothing is exported without an endpoint."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.util import setup_testing_defaults

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from service import logs, routing, tracing
from service.server import serve

EXPORTER = InMemorySpanExporter()
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def provider():
    return tracing.configure(EXPORTER)


@pytest.fixture
def spans(provider):
    EXPORTER.clear()

    def finished(count: int):
        """The `count` spans finished so far: a server span ends just after its reply is sent."""
        deadline = time.monotonic() + 5
        while True:
            provider.force_flush()
            done = EXPORTER.get_finished_spans()
            if len(done) >= count or time.monotonic() > deadline:
                return done
            time.sleep(0.01)

    return finished


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("service")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # the app writes its own request lines
        pass


@pytest.fixture
def base(monkeypatch):
    """The WSGI application gunicorn serves (server.serve), traced, on a loopback port."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DB_HOST", raising=False)
    running = make_server("127.0.0.1", 0, serve(routing.State()), handler_class=_QuietHandler)
    # A short poll: shutdown() waits for serve_forever's next look at its flag (0.5 s by default).
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{running.server_port}"
    running.shutdown()
    running.server_close()


def request(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_request_makes_a_server_span_and_its_log_line_carries_the_trace_id(base, spans, log_lines):
    assert request(f"{base}/", {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}) == 200
    (span,) = spans(1)
    assert span.name == "GET /" and span.kind is SpanKind.SERVER
    assert span.attributes["http.route"] == "/" and span.attributes["http.response.status_code"] == 200
    # The caller's trace continues: same trace id, the caller's span is the parent.
    assert format(span.context.trace_id, "032x") == CALLER_TRACE
    assert format(span.parent.span_id, "016x") == CALLER_SPAN
    (line,) = [entry for entry in log_lines() if entry["message"] == "request"]
    assert line["trace_id"] == CALLER_TRACE and line["span_id"] == format(span.context.span_id, "016x")


def test_a_server_error_marks_its_span_and_probes_make_none(base, spans, tmp_path, monkeypatch):
    fault = tmp_path / "fault"
    fault.write_text("1")
    monkeypatch.setenv("FAULT_FILE", str(fault))
    assert request(f"{base}/") == 500
    assert request(f"{base}/missing") == 404
    for probe in routing.PROBE_ROUTES:
        request(base + probe)
    failed, missing = sorted(spans(2), key=lambda s: s.attributes["http.response.status_code"], reverse=True)
    assert failed.status.status_code is StatusCode.ERROR
    assert missing.name == "GET unmatched" and missing.status.status_code is StatusCode.UNSET  # the client's error


def test_the_wsgi_wrapper_traces_routes_and_skips_probes(spans, log_lines):
    log = logging.getLogger("service")

    def app(environ, start_response):
        response = routing.respond(environ["REQUEST_METHOD"], environ["PATH_INFO"])
        log.info("request", extra={"route": routing.route_of(environ["PATH_INFO"]), "code": response.status})
        start_response(f"{response.status} X", list(response.headers.items()))
        return [response.encoded()]

    traced = tracing.wsgi(app)
    for path in ("/", "/healthz"):
        environ = {"PATH_INFO": path}
        setup_testing_defaults(environ)
        b"".join(traced(environ, lambda status, headers, exc_info=None: None))
    (span,) = spans(1)
    assert span.kind is SpanKind.SERVER
    (line, probe) = [entry for entry in log_lines() if entry["message"] == "request"]
    assert line["trace_id"] == format(span.context.trace_id, "032x")
    assert "trace_id" not in probe  # probes make no spans, so their lines carry none


def test_export_only_where_an_endpoint_is_configured(monkeypatch):
    for name in tracing.ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert tracing.exporter_from_environment() is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://opentelemetry-collector.monitoring.svc:4318")
    exporter = tracing.exporter_from_environment()
    assert exporter._endpoint == "http://opentelemetry-collector.monitoring.svc:4318/v1/traces"


def test_log_lines_outside_a_request_carry_no_trace_id():
    record = logging.makeLogRecord({"msg": "listening", "levelname": "INFO", "name": "service"})
    assert "trace_id" not in json.loads(logs.JsonFormatter().format(record))
