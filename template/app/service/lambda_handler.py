"""The same routes behind API Gateway's HTTP API (payload format 2.0) on AWS Lambda.

Every request but the probes writes one EMF line (`emf.py`) with the version that served it,
whether it was a 5xx and whether it was slower than the latency SLO: CodeDeploy's rollback alarms
read those per version. An unexpected exception is counted there as a server error, then re-raised,
so Lambda counts it in its Errors metric too and the API answers 500.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from . import emf, logs, routing, settings

logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
log = logging.getLogger("service")
SLO_MS = settings.LATENCY_SLO_SECONDS * 1000
MIGRATE_EVENT = "groundwork_migrate"


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if MIGRATE_EVENT in event and "requestContext" not in event:
        # The release's migration step (scripts/release_database.py) invokes the new version
        # directly, before traffic shifts; API Gateway's events always carry a requestContext.
        # The weekly restore test (scripts/restore_test.py) names its restored copy in `database`.
        # The event is never logged: it may carry the copy's password.
        from . import migrate  # with a database only: app/service/migrate.py

        return migrate.lambda_migrate(target=event.get("database"))
    started = time.perf_counter()
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    path = event.get("rawPath", "/")
    route = routing.route_of(path)
    probe = route in routing.PROBE_ROUTES
    try:
        response = routing.respond(method, path)
    except Exception:
        if not probe:
            emf.emit(context, 500, (time.perf_counter() - started) * 1000, SLO_MS, route)
        raise
    duration_ms = (time.perf_counter() - started) * 1000
    if not probe:
        log.info(
            "request",
            extra={"method": method, "route": route, "code": response.status, "duration_ms": round(duration_ms, 2)},
        )
        emf.emit(context, response.status, duration_ms, SLO_MS, route)
    return {"statusCode": response.status, "headers": response.headers, "body": response.encoded().decode()}
