"""The reliability model: budgets, the burn-rate table, tiers, and that more SLA never weakens anything."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_components.reliability import (
    TIERS,
    AnswerError,
    Answers,
    PlanConfigError,
    from_config,
    plan_service,
    tier_for,
    to_config,
)
from pulumi_components.reliability.answers import SLA_CHOICES, slugify
from pulumi_components.reliability.availability import FAILOVER_ORDER
from pulumi_components.reliability.slo import availability_objective, duration_seconds, latency_buckets_seconds


def answers(**overrides) -> Answers:
    base = dict(project_name="Payments", service_slug="payments", team="pay", owner_email="pay@example.com")
    return Answers(**{**base, **overrides})


# --- error budgets and burn rates (Google SRE workbook, "Alerting on SLOs") ---------------------


@pytest.mark.parametrize(
    ("sla", "budget_minutes"),
    [(99.5, 216.0), (99.9, 43.2), (99.95, 21.6), (99.99, 4.32)],
)
def test_error_budget_minutes_per_30_days(sla, budget_minutes):
    assert availability_objective(sla).budget_minutes == pytest.approx(budget_minutes)


def test_burn_rate_table_matches_the_workbook_at_99_9():
    alerts = {a.name: a for a in availability_objective(99.9).alerts}
    assert [(a.severity, a.long_window, a.short_window, a.burn_rate) for a in alerts.values()] == [
        ("critical", "1h", "5m", 14.4),
        ("critical", "6h", "30m", 6.0),
        ("warning", "1d", "2h", 3.0),
        ("warning", "3d", "6h", 1.0),
    ]
    assert alerts["page-fast"].threshold == pytest.approx(0.0144)
    assert alerts["page-slow"].threshold == pytest.approx(0.006)
    # 14.4x over one hour spends 2% of a 30-day budget; 6x over six hours spends 5%.
    assert alerts["page-fast"].budget_consumed == pytest.approx(0.02)
    assert alerts["page-slow"].budget_consumed == pytest.approx(0.05)
    assert alerts["ticket-slow"].budget_consumed == pytest.approx(0.10)


def test_detection_time_of_a_total_outage_and_of_a_two_percent_error_ratio():
    page = availability_objective(99.9).alerts[0]
    # Workbook: at 100% errors the 1h/14.4x alert fires after 0.864 minutes.
    assert page.detection_seconds(1.0) == pytest.approx(51.84)
    # 2% errors: the 1h window reaches 1.44% after 43.2 minutes.
    assert page.detection_seconds(0.02) == pytest.approx(0.0144 * 3600 / 0.02)
    assert page.detection_seconds(0.001) is None  # at the budget it never pages


def test_duration_parsing():
    assert [duration_seconds(d) for d in ("5m", "1h", "3d")] == [300, 3600, 259200]


def test_latency_buckets_contain_the_target_exactly():
    assert 0.3 in latency_buckets_seconds(300)
    assert latency_buckets_seconds(500).count(0.5) == 1
    assert list(latency_buckets_seconds(1234)) == sorted(latency_buckets_seconds(1234))


# --- answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"service_slug": "Payments"}, "DNS-1123"),
        ({"service_slug": "a" * 41}, "at most 40"),
        ({"aws_region": "mars-north-1"}, "AWS region code"),
        ({"sla": 100}, "between 93.056 and 99.999"),
        ({"sla": 42}, "between 93.056 and 99.999"),
        ({"sla": 93.0}, "between 93.056 and 99.999 .*14.4x burn-rate page could never fire"),
        ({"environments": ("dev", "staging")}, "must include prod"),
        ({"platform": "gcp"}, "platform must be one of aws-eks, aws-lambda"),
        ({"latency_slo_ms": 0}, "latency_slo_ms must be a whole number from 10"),
        ({"owner_email": "nobody"}, "e-mail address"),
        ({"dr_region": "us-east-1"}, "must differ from aws_region"),
        ({"repository_url": "git@github.com:acme/pay.git"}, "repository_url must be a GitHub repository URL"),
        ({"repository_url": "https://github.com/-acme/pay"}, "repository_url must be a GitHub repository URL"),
        ({"repository_url": "https://github.com/acme/pay/tree/main"}, "such as https://github.com/acme/payments"),
    ],
)
def test_bad_answers_say_what_is_accepted(overrides, message):
    with pytest.raises(AnswerError, match=message):
        answers(**overrides)


def test_one_lowest_sla_for_the_check_its_message_and_the_help():
    """The range check's lower bound is where the fast page can still fire, and every text names it."""
    from pulumi_components.reliability.answers import SLA_MIN, sla_error
    from pulumi_components.reliability.slo import PAGE_FAST_BURN_RATE

    assert PAGE_FAST_BURN_RATE * (1 - SLA_MIN / 100) <= 1 < PAGE_FAST_BURN_RATE * (1 - (SLA_MIN - 0.001) / 100)
    assert sla_error(SLA_MIN) == ""
    assert f"between {SLA_MIN} and" in sla_error(SLA_MIN - 0.001)
    root = Path(__file__).resolve().parents[1]
    help_text = yaml.safe_load((root / "copier.yml").read_text())["sla"]["help"]
    assert f"from {SLA_MIN} to" in help_text
    assert f"from {SLA_MIN} to" in (root / "README.md").read_text()


def test_from_mapping_orders_environments_and_ignores_copier_internals():
    parsed = Answers.from_mapping(
        {
            "project_name": "P",
            "service_slug": "p",
            "team": "t",
            "owner_email": "t@example.com",
            "environments": ["prod", "dev"],
            "sla": "99.95",
            "_copier_conf": {},
        }
    )
    assert parsed.environments == ("dev", "prod")
    assert parsed.sla == 99.95


def test_repository_defaults_to_the_team_and_slug():
    assert answers().repository == f"{answers().team}/{answers().service_slug}"
    assert answers(repository_url="https://github.com/acme-corp/payments.api").repository == "acme-corp/payments.api"


def test_slugify():
    assert slugify("Payments API v2") == "payments-api-v2"
    assert slugify("42 Things") == "things"
    assert len(slugify("x" * 80)) == 40


# --- tiers and plans -----------------------------------------------------------------------------


def test_tier_boundaries():
    assert [tier_for(s).name for s in (93.1, 99.5, 99.89, 99.9, 99.95, 99.98, 99.99, 99.999)] == [
        "bronze",
        "bronze",
        "bronze",
        "silver",
        "gold",
        "gold",
        "platinum",
        "platinum",
    ]


def test_nat_per_az_from_99_9_in_prod_only():
    assert plan_service(answers(sla=99.5)).prod.network.nat_gateways == "single"
    plan = plan_service(answers(sla=99.9))
    assert plan.prod.network.nat_gateways == "per-az"
    assert plan.environments["staging"].network.nat_gateways == "single"
    assert "single-nat-gateway" in plan.environments["staging"].relaxations


def test_99_99_gets_a_cross_region_replica_in_the_dr_region():
    plan = plan_service(answers(sla=99.99, aws_region="eu-west-1"))
    assert plan.prod.database.replica_region == "eu-central-1"
    assert plan.prod.recovery.multi_region
    assert plan_service(answers(sla=99.99, dr_region="us-east-2")).prod.database.replica_region == "us-east-2"
    assert plan_service(answers(sla=99.95)).prod.database.replica_region == ""


def test_dev_relaxations_are_named_and_prod_has_none():
    plan = plan_service(answers())
    assert plan.prod.relaxations == ()
    dev = plan.environments["dev"]
    assert not dev.database.deletion_protection and "no-deletion-protection" in dev.relaxations
    assert plan.prod.database.deletion_protection and plan.prod.database.final_snapshot


def test_platform_decides_which_parts_are_planned():
    eks = plan_service(answers(platform="aws-eks", database="none")).prod
    assert eks.cluster is not None and eks.function is None and eks.database is None
    lam = plan_service(answers(platform="aws-lambda")).prod
    assert lam.cluster is None and lam.function is not None and lam.database is not None


def test_canary_is_bounded_by_the_page_burn_rate_and_the_latency_target():
    rollout = plan_service(answers(sla=99.9, latency_slo_ms=300)).prod.rollout
    assert rollout.max_error_ratio == pytest.approx(0.0144)
    assert rollout.max_latency_p99_seconds == 0.3
    assert rollout.canary_steps[-1] == 100
    assert rollout.full_rollout_seconds < 600
    assert rollout.rollback_decision_seconds < 120


def test_plan_round_trips_through_stack_config():
    for env in plan_service(answers(sla=99.99)).environments.values():
        assert from_config(json.loads(json.dumps(to_config(env)))) == env


def test_stack_config_errors_name_the_key():
    config = to_config(plan_service(answers()).prod)
    config["database"]["multi_az"] = "yes"
    with pytest.raises(PlanConfigError, match=r"plan\.database\.multi_az must be true or false"):
        from_config(config)
    config = to_config(plan_service(answers()).prod)
    config["network"]["zones"] = 3
    with pytest.raises(PlanConfigError, match=r"plan\.network\.zones is not a known setting"):
        from_config(config)


# --- a higher SLA never weakens any setting --------------------------------------------------------

# Settings where a smaller number is the stronger one; every other number must not decrease.
SMALLER_IS_STRONGER = {"rto_minutes", "rpo_minutes", "max_error_ratio", "monitoring_interval_seconds"}
# Text settings that have an order of strength, weakest first.
ORDERED_TEXT = {"nat_gateways": ("single", "per-az"), "failover": FAILOVER_ORDER}
# Cost or shape choices rather than strength (instance sizes, address plans, step layouts).
NEUTRAL = {
    "name",
    "tier",
    "cidr",
    "instance_class",
    "db_instance_class",
    "node_instance_types",
    "canary_steps",
    "pause_seconds",
    "canary_pause_seconds",
    "dr_region",
    "replica_region",
    "relaxations",
    "min_sla",
}


def _leaves(value, path=""):
    """(dotted path, value) for every setting of a plan or tier."""
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _leaves(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
    else:
        yield path, value


def _weaker(path, low, high) -> bool:
    """Is `high` (the value at the higher SLA) weaker than `low`?"""
    name = path.rsplit(".", 1)[-1]
    if name in NEUTRAL:
        return False
    if name in ORDERED_TEXT:
        order = ORDERED_TEXT[name]
        return order.index(high) < order.index(low)
    if isinstance(low, bool):
        return low and not high
    if isinstance(low, (int, float)):
        return high > low if name in SMALLER_IS_STRONGER else high < low
    return high != low  # text, tuples, tags: the SLA must not change them


@settings(max_examples=200, deadline=None)
@given(
    low=st.floats(min_value=93.1, max_value=99.999),
    high=st.floats(min_value=93.1, max_value=99.999),
    platform=st.sampled_from(["aws-eks", "aws-lambda"]),
    database=st.sampled_from(["postgres", "none"]),
)
def test_higher_sla_never_weakens_any_setting(low, high, platform, database):
    low, high = sorted((low, high))
    weaker_plan, stronger_plan = (
        plan_service(answers(sla=s, platform=platform, database=database)) for s in (low, high)
    )
    for env, weak_env in weaker_plan.environments.items():
        strong = dict(_leaves(stronger_plan.environments[env]))
        for path, value in _leaves(weak_env):
            assert not _weaker(path, value, strong[path]), f"{env}.{path}: {value} at {low} -> {strong[path]} at {high}"
    assert stronger_plan.availability.budget_minutes <= weaker_plan.availability.budget_minutes
    for weak_alert, strong_alert in zip(
        weaker_plan.availability.alerts, stronger_plan.availability.alerts, strict=True
    ):
        assert strong_alert.threshold <= weak_alert.threshold


def test_the_weakness_check_itself_catches_a_weakening():
    assert _weaker("database.backup_retention_days", 14, 7)
    assert _weaker("network.nat_gateways", "per-az", "single")
    assert _weaker("database.multi_az", True, False)
    assert _weaker("recovery.rto_minutes", 30, 60)
    assert not _weaker("recovery.rto_minutes", 60, 30)


def test_tiers_are_ordered_and_never_weaken():
    for lower, higher in zip(TIERS, TIERS[1:], strict=False):
        assert higher.min_sla > lower.min_sla
        for (path, low), (_, high) in zip(_leaves(lower), _leaves(higher), strict=True):
            assert not _weaker(path, low, high), f"{lower.name} -> {higher.name}: {path} {low} -> {high}"
        # A more careful canary starts with a smaller share of traffic.
        assert higher.canary_steps[0] <= lower.canary_steps[0]


@pytest.mark.parametrize("sla", SLA_CHOICES)
def test_the_dr_replica_is_multi_az_where_there_is_one_at_99_99(sla):
    # A promoted replica becomes the production database: at 99.99 it keeps a standby from its
    # first minute instead of running on one instance until someone converts it mid-incident.
    plan = plan_service(answers(sla=sla, database="postgres"))
    for env in plan.environments.values():
        assert env.database.replica_multi_az is (env.name == "prod" and sla >= 99.99)
        assert not env.database.replica_multi_az or env.database.replica_region
    assert _weaker("database.replica_multi_az", True, False)


def test_production_prometheus_keeps_the_whole_slo_period():
    # The 30-day SLI and the budget-remaining views read a full period of samples.
    from pulumi_components.reliability.slo import SLO_PERIOD_DAYS

    assert all(tier.prometheus_retention_days > SLO_PERIOD_DAYS for tier in TIERS)


def test_a_lambda_service_without_a_network_relaxes_nothing_network_shaped():
    plan = plan_service(answers(platform="aws-lambda", database="none", sla=99.99))
    for env in plan.environments.values():
        assert not {"single-nat-gateway", "fewer-availability-zones"} & set(env.relaxations)


# --- the edge: hostnames and the web ACL's rate limit ----------------------------------------------


def test_hostnames_are_derived_from_the_domain_per_environment():
    plan = plan_service(answers(domain="acme.io"))
    assert {env: p.edge.hostname for env, p in plan.environments.items()} == {
        "dev": "payments.dev.acme.io",
        "staging": "payments.staging.acme.io",
        "prod": "payments.acme.io",
    }
    assert {p.edge.zone for p in plan.environments.values()} == {"acme.io"}


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("example", "two or more dot-separated labels"),
        ("Example.com", "lowercase letters"),
        ("example.com.", "no trailing dot"),
        ("-bad.example.com", "not starting or ending with '-'"),
        ("x" * 50 + ".example.com", "at most 64"),
    ],
)
def test_a_domain_that_cannot_hold_the_hostnames_is_rejected_with_what_is_accepted(domain, message):
    with pytest.raises(AnswerError, match=re.escape(message)):
        answers(domain=domain)


def test_a_domain_is_judged_by_the_longest_hostname_of_the_chosen_environments():
    # 60 characters for prod alone; staging's name would be 68.
    domain = "d" * 51 + ".io"
    answers(domain=domain, environments=("prod",))
    with pytest.raises(AnswerError, match="payments.staging"):
        answers(domain=domain, environments=("staging", "prod"))


def test_the_waf_rate_limit_is_a_tenth_of_full_scale_capacity_per_client_over_the_window():
    from pulumi_components.reliability.plan import POD_REQUESTS_PER_SECOND, WAF_RATE_WINDOW_SECONDS

    for sla in (99.5, 99.9, 99.95, 99.99):
        plan = plan_service(answers(sla=sla))
        for env in plan.environments.values():
            capacity = env.workload.replicas_max * POD_REQUESTS_PER_SECOND
            assert env.edge.waf_rate_window_seconds == WAF_RATE_WINDOW_SECONDS == 300
            assert env.edge.waf_rate_limit == capacity * WAF_RATE_WINDOW_SECONDS // 10
        limits = [plan.environments[e].edge.waf_rate_limit for e in ("dev", "staging", "prod")]
        assert limits == sorted(limits), "a bigger environment never gets a tighter per-client limit"
    # Bronze production: 6 pods at 50 requests/s; one client may send 30/s, 9000 per 5 minutes.
    assert plan_service(answers(sla=99.5)).prod.edge.waf_rate_limit == 9000


def test_lambda_has_no_web_acl_to_size():
    plan = plan_service(answers(platform="aws-lambda"))
    assert {env.edge.waf_rate_limit for env in plan.environments.values()} == {0}
    assert plan.prod.edge.hostname == "payments.example.com"


def test_the_edge_round_trips_through_stack_config():
    prod = plan_service(answers(domain="acme.io")).prod
    data = to_config(prod)
    assert data["edge"]["hostname"] == "payments.acme.io"
    data["edge"]["hostname"] = "pay.acme.io"
    assert from_config(data).edge.hostname == "pay.acme.io"
    data["edge"]["waf_rate_limit"] = "many"
    with pytest.raises(PlanConfigError, match=r"plan.edge.waf_rate_limit must be a whole number"):
        from_config(data)
