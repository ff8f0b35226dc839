"""Which code answers a request, whatever carries it (HTTP server or Lambda).

/healthz  the process is alive: never touches a dependency, so a slow database
          does not get healthy pods restarted.
/readyz   the process can serve: every dependency answers. Fails while the
          database is unreachable, and while the process is shutting down.
other     the service's own routes, `core.ROUTES` (the team's file).

This module is the template's and `copier update` keeps it current; the team's
code lives in core.py, which updates never touch.
"""

from __future__ import annotations

import socket
import threading

from . import config, core
from .response import Response

DEPENDENCY_TIMEOUT_SECONDS = 1.0
PROBE_ROUTES = ("/healthz", "/readyz", "/metrics")  # kept out of the request metrics and the SLIs


class State:
    """Process-wide flags; `draining` is set on SIGTERM so readiness fails first."""

    def __init__(self) -> None:
        self._draining = threading.Event()

    @property
    def draining(self) -> bool:
        return self._draining.is_set()

    def drain(self) -> None:
        self._draining.set()


STATE = State()


def check_database() -> str | None:
    """None when the database accepts connections (or there is none), else why not."""
    address = config.database_address()
    if address is None:
        return None
    try:
        with socket.create_connection(address, timeout=DEPENDENCY_TIMEOUT_SECONDS):
            return None
    except OSError as error:
        return f"database {address[0]}:{address[1]} unreachable: {error.strerror or error}"


def route_of(path: str) -> str:
    """The route label: the known path, or 'unmatched' so random paths cannot explode the metrics."""
    path = path.split("?", 1)[0]
    return path if path in PROBE_ROUTES or path in core.ROUTES else "unmatched"


def respond(method: str, path: str, state: State = STATE) -> Response:
    route = route_of(path)
    if method not in ("GET", "HEAD"):
        return Response(405, {"error": "method not allowed"}, {"content-type": "application/json", "allow": "GET"})
    if route == "/healthz":
        return Response(200, {"status": "ok"})
    if route == "/readyz":
        if state.draining:
            return Response(503, {"status": "draining"})
        problem = check_database()
        if problem:
            return Response(503, {"status": "unavailable", "reason": problem})
        return Response(200, {"status": "ready"})
    if route in core.ROUTES:
        return core.ROUTES[route]()
    return Response(404, {"error": "not found"})
