"""How the container serves the app: gunicorn's settings and hooks (loaded by `gunicorn --config
python:service.runtime`) and `main`, which `python -m service` runs.

- Workers: WEB_CONCURRENCY processes (gunicorn's own variable), each with THREADS threads
  (gthread: a slow client holds a thread, not a whole process).
- Metrics: every worker writes its counts under PROMETHEUS_MULTIPROC_DIR, set here before
  prometheus-client is first imported (it reads the variable on import); a worker that exits is
  marked dead in `child_exit`, and its counts stay in the totals (server.py).
- SIGTERM: gunicorn stops accepting, lets in-flight requests finish for up to
  GRACEFUL_TIMEOUT_SECONDS (the pod passes the number its termination grace period leaves after
  the preStop pause: pulumi_components/kubernetes_service.py), then exits 0.
- Logs: gunicorn's own lines go through the same JSON formatter as the service's (logs.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

# Before anything imports prometheus_client: it picks its value store when first imported.
OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # made for this run, removed at exit
if OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-metrics-")
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])

from prometheus_client import multiprocess  # noqa: E402 (after the variable above)

from . import routing, settings, tracing  # noqa: E402

log = logging.getLogger("service")

# -- settings (gunicorn reads these module-level names) -------------------------------------------
wsgi_app = "service.server:serve()"
bind = [f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8080')}"]  # a container: all interfaces
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT_SECONDS", "15"))
# Longer than the load balancer's idle timeout (ALB: 60 s), so the balancer closes an idle
# connection first and never sends a request on one the worker is closing (a 502).
keepalive = 65
worker_tmp_dir = tempfile.gettempdir()  # heartbeat files: /tmp is the pod's memory-backed emptyDir
control_socket_disable = True  # no runtime control socket: the image has no home directory to put it in
proc_name = settings.SERVICE
accesslog = None  # server.py logs each request as JSON
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "service.logs.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "root": {"level": loglevel.upper(), "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
    },
}


# -- hooks ----------------------------------------------------------------------------------------
def on_starting(server: Any) -> None:
    """A fresh metrics directory: counts a previous run left (a restarted container keeps its
    emptyDir) would otherwise be summed into this one's."""
    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in METRICS_DIR.glob("*.db"):
        stale.unlink()


def when_ready(server: Any) -> None:
    host, port = server.LISTENERS[0].sock.getsockname()[:2]
    log.info("listening", extra={"host": host, "port": port, "workers": workers, "service": settings.SERVICE})


def post_worker_init(worker: Any) -> None:
    """Traces export from each worker (tracing.configure, after the fork). Readiness fails as soon
    as the worker is told to stop, then gunicorn's own handler drains it."""
    tracing.configure()
    stop = worker.handle_exit

    def on_sigterm(signum: int, frame: Any) -> None:
        routing.STATE.drain()
        stop(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


def child_exit(server: Any, worker: Any) -> None:
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    log.info("stopped")
    if OWN_METRICS_DIR:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)


def main() -> None:
    from gunicorn.app.wsgiapp import run

    sys.argv = [sys.argv[0], "--config", "python:service.runtime"]
    run(prog="python -m service")
