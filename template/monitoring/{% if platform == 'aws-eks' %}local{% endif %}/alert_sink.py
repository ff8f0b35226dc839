"""The local stack's notification sink (compose.yaml's `alert-sink`): Alertmanager posts each
notification here as a webhook; the sink logs one line per alert (`docker compose logs alert-sink`)
and keeps the latest notifications for `GET /`, which `monitoring/gameday.py --local-stack` reads.
Standard library only: it runs in the service's image."""

from __future__ import annotations

import collections
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEEP = 200  # notifications kept for GET /
received: collections.deque[dict] = collections.deque(maxlen=KEEP)


class Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            notification = json.loads(self.rfile.read(length))
        except ValueError:
            self.send_error(400, "expected Alertmanager's webhook JSON")
            return
        received.append(notification)
        for alert in notification.get("alerts", []):
            labels = alert.get("labels", {})
            print(
                f"{notification.get('receiver')}: {alert.get('status')} {labels.get('alertname')}"
                f" severity={labels.get('severity')} environment={labels.get('environment')}",
                flush=True,
            )
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        body = json.dumps(list(received)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # one line per alert is printed instead of one per request


if __name__ == "__main__":
    # All interfaces of its container: compose publishes the port on 127.0.0.1 only.
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "9095"))), Sink).serve_forever()
