"""The service over HTTP: a WSGI application that gunicorn serves (runtime.py starts it), with the
service's routes, Prometheus metrics on /metrics and one JSON access log line per request.

Metrics (the names the alert rules, dashboards and rollout analysis query):
    http_requests_total{code,method,route}             counter
    http_request_duration_seconds{method,route}        histogram, buckets from settings
    app_dependency_up{dependency="postgres"}           gauge, only when a database is configured
Probe and scrape requests (/healthz, /readyz, /metrics) are not counted.

Under gunicorn each worker is a process: with PROMETHEUS_MULTIPROC_DIR set (runtime.py sets it),
prometheus-client keeps every worker's counts in files there and /metrics reads them all, so any
worker answers a scrape with the pod's totals, including those of workers that have exited.
"""

from __future__ import annotations

import glob
import logging
import os
import random
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import config, routing, settings, tracing

log = logging.getLogger("service")
disable_created_metrics()  # no *_created series: they double the series count and nothing reads them

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class DependencyCollector(Collector):
    """app_dependency_up, checked at each scrape by the worker that answers it (DatabaseUnavailable
    alert): a collector rather than a gauge, since multiprocess mode only reads values from files."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "app_dependency_up", "Whether a dependency answers (1) or not (0)", labels=["dependency"]
        )
        gauge.add_metric(["postgres"], 0.0 if routing.check_database() else 1.0)
        yield gauge


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "HTTP requests served, by status code", ["code", "method", "route"], registry=self.registry
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time to serve an HTTP request",
            ["method", "route"],
            buckets=settings.LATENCY_BUCKETS_SECONDS,
            registry=self.registry,
        )
        # Series exist from the start, so ratios and rates read 0 rather than nothing.
        for code in ("200", "500"):
            self.requests.labels(code=code, method="GET", route="/")
        self.duration.labels(method="GET", route="/")

    def observe(self, method: str, route: str, code: int, seconds: float) -> None:
        if route in routing.PROBE_ROUTES:
            return
        self.requests.labels(code=str(code), method=method, route=route).inc()
        self.duration.labels(method=method, route=route).observe(seconds)

    def exposition(self) -> bytes:
        """The text a scrape gets: every worker's series (multiprocess) or this process's own."""
        if multiprocess_mode():
            # A fresh registry per scrape, as prometheus-client's multiprocess documentation does.
            # process_* series are left out: they would describe whichever worker answered; the
            # container's CPU and memory come from the kubelet's cAdvisor metrics.
            registry = CollectorRegistry()
            _WorkerFiles(registry)
        else:
            registry = CollectorRegistry()
            registry.register(_Own(self.registry))
            ProcessCollector(registry=registry)  # process_* memory, CPU and open files
        if config.database_address() is not None:
            registry.register(DependencyCollector())
        return generate_latest(registry)


class _WorkerFiles(multiprocess.MultiProcessCollector):
    """Every worker's series, from its files, leaving out a file a worker has only begun to create: a
    worker opens its file before sizing it, so a scrape in another worker can find it empty, and
    prometheus-client then fails to read its header (a 500 for the whole scrape). An empty file holds
    no value yet, so nothing is lost."""

    def collect(self) -> Iterable[Any]:
        files = [path for path in glob.glob(os.path.join(self._path, "*.db")) if os.path.getsize(path) > 0]
        return self.merge(files, accumulate=True)


class _Own(Collector):
    """This process's request metrics, inside the registry a scrape builds."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Any]:
        return self.registry.collect()


class App:
    """The WSGI application: one instance per worker process (see `serve`)."""

    def __init__(self, metrics: Metrics, state: routing.State) -> None:
        self.metrics, self.state = metrics, state
        self._traced = tracing.wsgi(self.handle)  # a SERVER span per request (tracing.py)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self._traced(environ, start_response)

    def handle(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "/") or "/"
        route = routing.route_of(path)
        try:
            if route == "/metrics":
                status, headers, body = 200, {"content-type": CONTENT_TYPE_LATEST}, self.metrics.exposition()
            elif route == "/" and injected_fault():
                status, headers, body = 500, {"content-type": "application/json"}, b'{"error": "injected fault"}'
            else:
                response = routing.respond(method, path, self.state)
                status, headers, body = response.status, response.headers, response.encoded()
        except Exception:
            log.exception("request failed", extra={"method": method, "route": route})
            status, headers, body = 500, {"content-type": "application/json"}, b'{"error": "internal error"}'
        start_response(f"{status} {HTTPStatus(status).phrase}", [*headers.items(), ("content-length", str(len(body)))])
        elapsed = time.perf_counter() - started
        self.metrics.observe(method, route, status, elapsed)
        if route not in routing.PROBE_ROUTES:
            log.info(
                "request",
                extra={"method": method, "route": route, "code": status, "duration_ms": round(elapsed * 1000, 2)},
            )
        # A HEAD reply carries the GET reply's content-length and no body.
        return [] if method == "HEAD" else [body]


def injected_fault() -> bool:
    """Game days only (monitoring/gameday.py): with FAULT_FILE set, fail this share of `/` requests,
    read from that file (a ratio from 0 to 1) at each request, so a drill starts and stops an outage live."""
    path = os.environ.get("FAULT_FILE")
    if not path:
        return False
    try:
        with open(path) as fault:
            ratio = float(fault.read().strip() or 0)
    except (OSError, ValueError):
        return False
    return random.random() < ratio


def serve(state: routing.State = routing.STATE) -> App:
    """The application gunicorn loads in each worker (runtime.py: `service.server:serve()`)."""
    return App(Metrics(), state)
