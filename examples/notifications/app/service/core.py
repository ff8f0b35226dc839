"""The service's own routes: this file is the team's.

`copier update` never touches it (copier.yml `_skip_if_exists`); the probes, the
metrics and the request handling around these routes are the template's
(routing.py, server.py, lambda_handler.py) and follow its updates. Each route
answers GET and HEAD with a Response; add one by adding it to ROUTES.
"""

from __future__ import annotations

import os

from . import settings
from .response import Response


def home() -> Response:
    return Response(
        200,
        {
            "status": "ok",
            "service": settings.SERVICE,
            "environment": os.environ.get("ENVIRONMENT", ""),
            "version": os.environ.get("APP_VERSION", os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "")),
        },
    )


ROUTES = {"/": home}
