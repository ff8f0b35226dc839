"""Per-request metrics of the Lambda handler in CloudWatch's embedded metric format (EMF).

One JSON line per request on stdout; CloudWatch Logs extracts the values as metrics in
NAMESPACE with the dimensions FunctionName and Version, the published version that served the
request (the Lambda context's `function_version`). CodeDeploy's rollback alarms read them per
version (infra/components/lambda_deployment.py), so a canary on 1% of the traffic is judged on its
own requests, not diluted by the version it replaces:

  ServerError  1 when the response is a 5xx or the handler raised, else 0: its average is the
               version's error ratio, whether the handler returned the 5xx or Lambda counted an error
  SlowRequest  1 when the request took longer than the latency SLO: an average above 1% means the
               version's p99 is above the SLO
  Latency      the handler's duration in milliseconds, for dashboards

Specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
Standard library only, so a test can load this file on its own and feed the lines it writes to a
simulation of the alarms.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

NAMESPACE = "Service/Requests"
DIMENSIONS = ("FunctionName", "Version")
SERVER_ERROR, SLOW_REQUEST, LATENCY = "ServerError", "SlowRequest", "Latency"


def document(
    function_name: str, version: str, status: int, duration_ms: float, slo_ms: float, route: str
) -> dict[str, Any]:
    """The EMF object for one request; `route` is a property (searchable in Logs Insights), not a dimension."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(DIMENSIONS)],
                    "Metrics": [
                        {"Name": SERVER_ERROR, "Unit": "Count"},
                        {"Name": SLOW_REQUEST, "Unit": "Count"},
                        {"Name": LATENCY, "Unit": "Milliseconds"},
                    ],
                }
            ],
        },
        "FunctionName": function_name,
        "Version": version,
        SERVER_ERROR: int(status >= 500),
        SLOW_REQUEST: int(duration_ms > slo_ms),
        LATENCY: round(duration_ms, 2),
        "route": route,
        "code": status,
    }


def emit(context: Any, status: int, duration_ms: float, slo_ms: float, route: str, out: TextIO | None = None) -> None:
    """Write the request's EMF line; nothing outside Lambda (no context), where Prometheus counts requests."""
    if context is None:
        return
    line = json.dumps(document(context.function_name, context.function_version, status, duration_ms, slo_ms, route))
    stream = out or sys.stdout
    stream.write(line + "\n")
    stream.flush()
