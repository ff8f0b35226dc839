"""The HTTP server of the container: the service's routes, Prometheus metrics on /metrics,
one JSON access log line per request, and a graceful stop on SIGTERM.

Metrics (the names the alert rules, dashboards and rollout analysis query):
    http_requests_total{code,method,route}             counter
    http_request_duration_seconds{method,route}        histogram, buckets from settings
    app_dependency_up{dependency="postgres"}           gauge, only when a database is configured
Probe and scrape requests (/healthz, /readyz, /metrics) are not counted.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from http.server import ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from . import config, logs, routing, settings, tracing

log = logging.getLogger("service")
disable_created_metrics()  # no *_created series: they double the series count and nothing reads them


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_* memory, CPU and open files
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
        if config.database_address() is not None:
            # 1 while the database accepts connections, checked at each scrape (DatabaseUnavailable alert).
            Gauge(
                "app_dependency_up",
                "Whether a dependency answers (1) or not (0)",
                ["dependency"],
                registry=self.registry,
            ).labels(dependency="postgres").set_function(lambda: 0.0 if routing.check_database() else 1.0)
        # Series exist from the start, so ratios and rates read 0 rather than nothing.
        for code in ("200", "500"):
            self.requests.labels(code=code, method="GET", route="/")
        self.duration.labels(method="GET", route="/")

    def observe(self, method: str, route: str, code: int, seconds: float) -> None:
        if route in routing.PROBE_ROUTES:
            return
        self.requests.labels(code=str(code), method=method, route=route).inc()
        self.duration.labels(method=method, route=route).observe(seconds)


class Server(ThreadingHTTPServer):
    # Finish in-flight requests on shutdown instead of killing their threads.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], metrics: Metrics, state: routing.State) -> None:
        super().__init__(address, Handler)
        self.metrics, self.state = metrics, state


class Handler(tracing.TracedRequestHandler):
    server: Server
    server_version = "service"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        started = time.perf_counter()
        route = routing.route_of(self.path)
        try:
            if route == "/metrics":
                status, headers, body = (
                    200,
                    {"content-type": CONTENT_TYPE_LATEST},
                    generate_latest(self.server.metrics.registry),
                )
            elif route == "/" and injected_fault():
                status, headers, body = 500, {"content-type": "application/json"}, b'{"error": "injected fault"}'
            else:
                response = routing.respond(method, self.path, self.server.state)
                status, headers, body = response.status, response.headers, response.encoded()
        except Exception:
            log.exception("request failed", extra={"method": method, "route": route})
            status, headers, body = 500, {"content-type": "application/json"}, b'{"error": "internal error"}'
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)
        elapsed = time.perf_counter() - started
        self.server.metrics.observe(method, route, status, elapsed)
        if route not in routing.PROBE_ROUTES:
            log.info(
                "request",
                extra={"method": method, "route": route, "code": status, "duration_ms": round(elapsed * 1000, 2)},
            )

    def log_message(self, format: str, *args: object) -> None:
        """Access logs go through `_serve` as JSON; http.server's own lines are dropped."""


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


def serve(host: str, port: int, state: routing.State = routing.STATE) -> Server:
    """A started server on (host, port); port 0 picks a free one (see server.server_address)."""
    server = Server((host, port), Metrics(), state)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server


def main() -> None:
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
    tracing.configure()
    host = os.environ.get("HOST", "0.0.0.0")  # a container listens on all its interfaces
    port = int(os.environ.get("PORT", "8080"))
    server = serve(host, port)
    stopped = threading.Event()

    def on_sigterm(signum: int, frame: object) -> None:
        # Readiness fails first; then stop accepting and let in-flight requests finish.
        log.info("shutting down", extra={"signal": signal.Signals(signum).name})
        server.state.drain()
        stopped.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    log.info("listening", extra={"host": host, "port": server.server_address[1], "service": settings.SERVICE})
    stopped.wait()
    server.shutdown()
    server.server_close()
    log.info("stopped")
