"""The Lambda handler's per-request EMF lines: what CodeDeploy's per-version rollback alarms read."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest
from service import core, emf, lambda_handler, settings
from service.response import Response

CONTEXT = SimpleNamespace(function_name="example-prod", function_version="8")


def request(path: str) -> dict:
    return {"rawPath": path, "requestContext": {"http": {"method": "GET"}}}


def emf_lines(text: str) -> list[dict]:
    return [doc for doc in map(json.loads, text.splitlines()) if "_aws" in doc]


def test_each_request_writes_one_emf_line_with_its_version(capsys):
    assert lambda_handler.handle(request("/"), CONTEXT)["statusCode"] == 200
    (doc,) = emf_lines(capsys.readouterr().out)
    (directive,) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == emf.NAMESPACE
    assert directive["Dimensions"] == [["FunctionName", "Version"]]
    # Every metric and dimension the directive names is a member of the object (the EMF spec's rule).
    for name in [m["Name"] for m in directive["Metrics"]] + directive["Dimensions"][0]:
        assert name in doc
    assert (doc["FunctionName"], doc["Version"]) == ("example-prod", "8")
    assert (doc["ServerError"], doc["SlowRequest"], doc["code"], doc["route"]) == (0, 0, 200, "/")
    assert isinstance(doc["_aws"]["Timestamp"], int)


def test_a_returned_5xx_counts_as_a_server_error(capsys, monkeypatch):
    monkeypatch.setitem(core.ROUTES, "/", lambda: Response(503, {"error": "unavailable"}))
    assert lambda_handler.handle(request("/"), CONTEXT)["statusCode"] == 503
    (doc,) = emf_lines(capsys.readouterr().out)
    assert (doc["ServerError"], doc["code"]) == (1, 503)


def test_an_exception_counts_as_a_server_error_and_still_reaches_lambda(capsys, monkeypatch):
    def broken() -> Response:
        raise RuntimeError("boom")

    monkeypatch.setitem(core.ROUTES, "/", broken)
    with pytest.raises(RuntimeError):
        lambda_handler.handle(request("/"), CONTEXT)
    (doc,) = emf_lines(capsys.readouterr().out)
    assert (doc["ServerError"], doc["code"]) == (1, 500)


def test_slower_than_the_slo_is_a_slow_request():
    slo_ms = settings.LATENCY_SLO_SECONDS * 1000
    assert emf.document("f", "1", 200, slo_ms + 1, slo_ms, "/")["SlowRequest"] == 1
    assert emf.document("f", "1", 200, slo_ms, slo_ms, "/")["SlowRequest"] == 0


def test_probes_and_local_calls_write_no_metrics(capsys, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DB_HOST", raising=False)
    lambda_handler.handle(request("/healthz"), CONTEXT)  # CodeDeploy's pre-traffic hook calls /readyz
    lambda_handler.handle(request("/"), None)  # no Lambda context: not on Lambda
    assert emf_lines(capsys.readouterr().out) == []
    out = io.StringIO()
    emf.emit(CONTEXT, 200, 1.0, 500.0, "/", out=out)
    assert len(emf_lines(out.getvalue())) == 1
