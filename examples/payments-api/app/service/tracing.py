"""Traces: one OpenTelemetry SERVER span per request, exported over OTLP/HTTP to the collector.

Export follows the SDK's own environment variables: OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), which the workload's ConfigMap sets only where the
monitoring stack runs an OpenTelemetry Collector; OTEL_TRACES_SAMPLER and its argument choose the
sampler (default: every request, or as the caller's traceparent decided). Without an endpoint the
spans are still made, so the log lines of one request share its trace_id (logs.py), and go nowhere.

A request continues the caller's trace from its W3C `traceparent` header. Probes and scrapes
(routing.PROBE_ROUTES) make no spans. `wsgi(app)` wraps the WSGI application gunicorn serves
(server.serve); each worker calls `configure()` once after it starts (runtime.post_worker_init),
since the batch exporter's thread does not survive a fork.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import context, propagate, trace
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


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers as a propagator reads them (`traceparent`, `tracestate`)."""
    return {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}


def wsgi(app: WsgiApp) -> WsgiApp:
    """`app` with a SERVER span around every request but the probes and /metrics: named after its
    route, continuing the caller's trace, marked as an error on a 5xx or an exception."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/") or "/"
        route = routing.route_of(path)
        if route in routing.PROBE_ROUTES:
            return app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        span = _tracer().start_span(
            f"{method} {route}",
            context=propagate.extract(_headers(environ)),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "http.route": route,
                "url.path": path,
                "network.protocol.version": str(environ.get("SERVER_PROTOCOL", "HTTP/1.1")).removeprefix("HTTP/"),
            },
        )
        token = context.attach(trace.set_span_in_context(span))

        def traced_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            _record_status(span, int(status.split(" ", 1)[0]))
            return start_response(status, headers) if exc_info is None else start_response(status, headers, exc_info)

        try:
            # The body is read inside the span, so the request's log lines carry its ids.
            return list(app(environ, traced_start_response))
        except Exception as error:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR))
            raise
        finally:
            context.detach(token)
            span.end()

    return serve
