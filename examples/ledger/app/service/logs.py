"""Structured logs: one JSON object per line on stdout, for Loki or CloudWatch Logs Insights.

A line written while a request's span is current carries its `trace_id` and `span_id` (W3C hex,
as Tempo shows them), so Grafana goes from a log line to its trace and back (tracing.py).
"""

from __future__ import annotations

import json
import logging
import sys
import time

try:
    from opentelemetry import trace
except ImportError:  # the Lambda bundle is app/ alone, without third-party packages: no spans there
    trace = None

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # which gunicorn process: the master or one of its workers
            "message": record.getMessage(),
        }
        entry.update(trace_fields())
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def trace_fields() -> dict[str, str]:
    """The current span's trace and span ids, or nothing outside a span."""
    if trace is None:
        return {}
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return {}
    return {"trace_id": format(span.trace_id, "032x"), "span_id": format(span.span_id, "016x")}


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
