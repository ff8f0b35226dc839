"""The function behind the HTTP API (payload format 2.0).

`/healthz` answers without touching dependencies, for probes and the
post-deploy smoke test; every other path is the service's to implement.
Logs are JSON lines (the function's log format is JSON) so CloudWatch Logs
Insights can query them.
"""

import json
import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def _response(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def handle(event: dict, context: object) -> dict:
    path = event.get("rawPath", "/")
    if path == "/healthz":
        return _response(200, {"status": "ok"})
    logger.info("request", extra={"path": path, "method": event.get("requestContext", {}).get("http", {}).get("method")})
    return _response(
        200,
        {
            "service": os.environ.get("SERVICE", ""),
            "environment": os.environ.get("ENVIRONMENT", ""),
            "version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", ""),
        },
    )
