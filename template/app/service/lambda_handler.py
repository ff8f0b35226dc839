"""The same routes behind API Gateway's HTTP API (payload format 2.0) on AWS Lambda.

An unexpected exception is re-raised, so Lambda counts it in its Errors metric
(the deployment alarms read it) and the API answers 500.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from . import logs, routing

logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
log = logging.getLogger("service")


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    path = event.get("rawPath", "/")
    response = routing.respond(method, path)
    route = routing.route_of(path)
    if route not in routing.PROBE_ROUTES:
        log.info(
            "request",
            extra={
                "method": method,
                "route": route,
                "code": response.status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
    return {"statusCode": response.status, "headers": response.headers, "body": response.encoded().decode()}
