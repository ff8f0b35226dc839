"""The service's own routes: this file is the team's.

`copier update` never touches it (copier.yml `_skip_if_exists`); the probes, the
metrics and the request handling around these routes are the template's
(routing.py, server.py, lambda_handler.py) and follow its updates. Each route
answers GET and HEAD with a Response; add one by adding it to ROUTES.
"""

from __future__ import annotations

import os

from . import flags, settings
from .response import Response


def home() -> Response:
    body = {
        "status": "ok",
        "service": settings.SERVICE,
        "environment": os.environ.get("ENVIRONMENT", ""),
        "version": os.environ.get("APP_VERSION", os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "")),
    }
    # The sample flag (app/flags.json): released by turning it on in AppConfig, not by a deploy.
    if flags.enabled("home-greeting"):
        body["greeting"] = f"Hello from {settings.SERVICE}"
    return Response(200, body)


ROUTES = {"/": home}
