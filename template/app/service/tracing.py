"""Traces: one OpenTelemetry SERVER span per request, exported over OTLP/HTTP to the collector.

Export follows the SDK's own environment variables: OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), which the workload's ConfigMap sets only where the
monitoring stack runs an OpenTelemetry Collector; OTEL_TRACES_SAMPLER and its argument choose the
sampler (default: every request, or as the caller's traceparent decided). Without an endpoint the
spans are still made, so the log lines of one request share its trace_id (logs.py), and go nowhere.

A request continues the caller's trace from its W3C `traceparent` header. Probes and scrapes
(routing.PROBE_ROUTES) make no spans. Two ways in, for the two ways the service is served:
`TracedRequestHandler` for http.server, `wsgi(app)` for a WSGI server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import routing, settings

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def exporter_from_environment() -> SpanExporter | None:
    """The OTLP/HTTP exporter when an endpoint is configured, else None (no export, no errors)."""
    if not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        return None
    # Imported only when used: the exporter reads the endpoint, headers and timeout from the environment.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def configure(exporter: SpanExporter | None = None) -> TracerProvider:
    """Install the process's tracer provider, exporting to `exporter` or to the configured endpoint."""
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.SERVICE, "deployment.environment.name": os.environ.get("ENVIRONMENT", "")}
        )
    )
    exporter = exporter or exporter_from_environment()
    if exporter is not None:
        # Batched off the request path; spans still queued at exit are flushed by the provider's atexit hook.
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def _tracer() -> trace.Tracer:
    return trace.get_tracer(__name__)


def _record_status(span: trace.Span, code: int) -> None:
    if span.is_recording():
        span.set_attribute("http.response.status_code", code)
        if code >= 500:  # HTTP semantic conventions: 4xx is the client's error, not the server span's
            span.set_status(Status(StatusCode.ERROR))


class TracedRequestHandler(BaseHTTPRequestHandler):
    """http.server's request handler with a SERVER span around each request it answers."""

    _span: trace.Span | None = None
    _span_token: object | None = None

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        route = routing.route_of(self.path)
        if route not in routing.PROBE_ROUTES:
            self._span = _tracer().start_span(
                f"{self.command} {route}",
                context=propagate.extract({name.lower(): value for name, value in self.headers.items()}),
                kind=SpanKind.SERVER,
                attributes={
                    "http.request.method": self.command,
                    "http.route": route,
                    "url.path": self.path.split("?", 1)[0],
                    "network.protocol.version": self.request_version.removeprefix("HTTP/"),
                },
            )
            self._span_token = context.attach(trace.set_span_in_context(self._span))
        return True

    def send_response(self, code: int, message: str | None = None) -> None:
        if self._span is not None:
            _record_status(self._span, code)
        super().send_response(code, message)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            span, token = self._span, self._span_token
            self._span = self._span_token = None
            if token is not None:
                context.detach(token)
            if span is not None:
                span.end()


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi(app: WsgiApp) -> WsgiApp:
    """`app` with OpenTelemetry's WSGI instrumentation on every route but the probes and /metrics."""
    traced = OpenTelemetryMiddleware(app)

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if routing.route_of(environ.get("PATH_INFO", "/")) in routing.PROBE_ROUTES:
            return app(environ, start_response)
        return traced(environ, start_response)

    return serve
