"""The staging load test's plan: its shape from the answers, its thresholds from the SLOs, and the
rates the staging edge would refuse."""

from __future__ import annotations

import dataclasses

import pytest

from pulumi_components.reliability import AnswerError, Answers, plan_service
from pulumi_components.reliability.load_test import (
    EDGE_SHARE,
    MIN_RATE_SHARE,
    RUN_SECONDS,
    edge_allowance_rps,
    load_test_error,
    load_test_plan,
)


def plan(**answers):
    base = {"project_name": "Pay", "service_slug": "pay", "team": "core", "owner_email": "core@example.com"}
    return plan_service(Answers(**(base | answers)))


@pytest.mark.parametrize("sla", [99.5, 99.9, 99.99])
def test_the_thresholds_are_the_slos(sla):
    service = plan(sla=sla, latency_slo_ms=300)
    load = load_test_plan(service)
    assert load.max_error_ratio == service.availability.error_budget == pytest.approx(1 - sla / 100)
    assert load.max_p99_ms == 300
    assert load.run_seconds == RUN_SECONDS
    assert load.min_rps == pytest.approx(load.target_rps * MIN_RATE_SHARE)


@pytest.mark.parametrize(("rps", "latency_ms", "users"), [(10, 500, 10), (20, 250, 10), (3, 100, 1), (1, 60_000, 120)])
def test_each_user_keeps_its_pace_with_requests_as_slow_as_the_slo(rps, latency_ms, users):
    load = load_test_plan(plan(load_test_rps=rps, latency_slo_ms=latency_ms))
    assert load.users == users
    assert load.users * load.per_user_rps == pytest.approx(rps, rel=1e-4)  # the pace is rounded to 6 decimals
    assert 1 / load.per_user_rps >= 2 * latency_ms / 1000 - 1e-9  # a slow-as-the-SLO request leaves half the pace


def test_the_default_rate_fits_every_platform_and_tier():
    for platform in ("aws-eks", "aws-lambda"):
        for sla in (99.5, 99.9, 99.95, 99.99):
            assert load_test_error(plan(platform=platform, sla=sla)) == ""


def test_a_rate_the_staging_edge_would_refuse_is_refused_with_the_ceiling():
    service = plan(platform="aws-eks", sla=99.5)
    allowance = edge_allowance_rps(service)
    staging = service.environments["staging"]
    assert allowance == staging.edge.waf_rate_limit / staging.edge.waf_rate_window_seconds
    ceiling = int(allowance * EDGE_SHARE)
    assert load_test_error(plan(platform="aws-eks", sla=99.5, load_test_rps=ceiling)) == ""
    message = load_test_error(plan(platform="aws-eks", sla=99.5, load_test_rps=ceiling + 1))
    assert f"at most {ceiling} requests per second" in message and "per-IP WAF rate rule" in message
    lambda_message = load_test_error(plan(platform="aws-lambda", load_test_rps=10_000))
    assert "HTTP API throttle" in lambda_message


def test_without_staging_there_is_nothing_to_refuse():
    service = plan(environments=("dev", "prod"), load_test_rps=10_000)
    assert edge_allowance_rps(service) is None and load_test_error(service) == ""


@pytest.mark.parametrize("bad", [0, -3, 10_001, 2.5, "many", True])
def test_the_answer_is_range_checked(bad):
    with pytest.raises(AnswerError, match="load_test_rps must be a whole number"):
        Answers.from_mapping(
            {"project_name": "P", "service_slug": "p", "team": "t", "owner_email": "a@b.co", "load_test_rps": bad}
        )


def test_the_plan_is_plain_data_for_the_profile():
    load = load_test_plan(plan())
    assert load.as_dict() == {f.name: getattr(load, f.name) for f in dataclasses.fields(load)}
