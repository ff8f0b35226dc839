"""The alert catalogue: stable names, exactly the alerts of each level, thresholds read from the model."""

from __future__ import annotations

import importlib.util
import itertools
import re
from dataclasses import replace

import pytest
from conftest import ROOT

from pulumi_components.reliability import ALL_ALERT_NAMES, Answers, alert_catalogue, alert_names, plan_service
from pulumi_components.reliability.promtool_tests import CASES, alert_cases
from pulumi_components.reliability.vocabulary import AlertTest

BASE = {"project_name": "Example", "service_slug": "svc", "team": "platform", "owner_email": "p@example.com"}

EXPECTED = {
    ("aws-eks", "basic"): {
        "AvailabilityBudgetBurnPage",
        "AvailabilityBudgetBurnTicket",
        "AvailabilityErrorBudgetLow",
        "ServiceAbsent",
        "ServiceDown",
        "NoPodsServing",
        "PodCrashLooping",
    },
    ("aws-lambda", "basic"): {"AvailabilityBudgetBurnPage", "AvailabilityBudgetBurnTicket", "FunctionThrottled"},
}
EXPECTED[("aws-eks", "standard")] = EXPECTED[("aws-eks", "basic")] | {
    "LatencyBudgetBurnPage",
    "LatencyBudgetBurnTicket",
    "ServiceCPUSaturation",
    "ServiceMemorySaturation",
    "DiskSpaceLow",
    "SyntheticProbeFailing",
}
EXPECTED[("aws-eks", "comprehensive")] = EXPECTED[("aws-eks", "standard")] | {"ErrorLogsElevated"}
EXPECTED[("aws-lambda", "standard")] = EXPECTED[("aws-lambda", "basic")] | {
    "LatencyBudgetBurnPage",
    "LatencyBudgetBurnTicket",
    "FunctionConcurrencySaturation",
}
EXPECTED[("aws-lambda", "comprehensive")] = EXPECTED[("aws-lambda", "standard")]


def plan(**answers):
    return plan_service(Answers.from_mapping({**BASE, **answers}))


@pytest.mark.parametrize(
    "platform,level,database",
    list(itertools.product(("aws-eks", "aws-lambda"), ("basic", "standard", "comprehensive"), ("postgres", "none"))),
)
def test_each_level_has_exactly_its_alerts(platform, level, database):
    names = alert_names(plan(platform=platform, monitoring_level=level, database=database))
    expected = set(EXPECTED[(platform, level)])
    if platform == "aws-eks" and level != "basic" and database == "postgres":
        expected.add("DatabaseUnavailable")
    assert set(names) == expected
    assert len(names) == len(set(names))
    assert set(names) <= set(ALL_ALERT_NAMES)


def test_every_alert_is_complete():
    for platform in ("aws-eks", "aws-lambda"):
        for alert in alert_catalogue(plan(platform=platform, monitoring_level="comprehensive")):
            assert alert.severity in {"critical", "warning", "info"}
            assert alert.summary and "{{" not in alert.summary, "summaries are static"
            assert alert.description and alert.source
            assert alert.fires_when and "{{" not in alert.fires_when, "the guide's condition is static"
            assert alert.runbook == f"docs/runbooks/{alert.name}.md"
            assert alert.runbook_url == f"https://github.com/platform/svc/blob/main/docs/runbooks/{alert.name}.md"
            assert bool(alert.expr) == (platform == "aws-eks"), alert.name


@pytest.mark.parametrize("sla", [93.1, 99.5, 99.9, 99.95, 99.99, 99.999])
def test_burn_alerts_use_the_model_thresholds(sla):
    p = plan(sla=sla, monitoring_level="standard")
    by_name = {a.name: a for a in alert_catalogue(p)}
    for objective in (p.availability, p.latency):
        cap = objective.sli.capitalize()
        page, ticket = by_name[f"{cap}BudgetBurnPage"], by_name[f"{cap}BudgetBurnTicket"]
        assert page.burn_rows == objective.alerts[:2] and ticket.burn_rows == objective.alerts[2:]
        for row in objective.alerts:
            alert = page if row.severity == "critical" else ticket
            assert f"ratio_rate{row.long_window}" in alert.expr and f"> {row.threshold!r}" in alert.expr
            assert row.threshold <= 1, "the questionnaire refuses SLAs whose page can never fire"


def test_names_do_not_depend_on_the_sla_or_slug():
    a = alert_names(plan(sla=99.5, monitoring_level="comprehensive"))
    b = alert_names(plan(sla=99.99, service_slug="other", monitoring_level="comprehensive"))
    assert a == b


def test_monitoring_volumes_follow_retention():
    from pulumi_components.reliability.plan import LOKI_GB_PER_DAY, PROMETHEUS_GB_PER_DAY

    for sla in (99.5, 99.9, 99.99):
        for env in plan(sla=sla).environments.values():
            m = env.monitoring
            assert m.prometheus_storage_gb >= m.prometheus_retention_days * PROMETHEUS_GB_PER_DAY
            assert m.loki_storage_gb >= m.log_retention_days * LOKI_GB_PER_DAY


def _guide_hooks():
    """docs/hooks.py, the MkDocs hook that renders the guide's alert table from the catalogue."""
    spec = importlib.util.spec_from_file_location("guide_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_guide_lists_every_alert():
    hooks = _guide_hooks()
    guide = (ROOT / "docs" / "observability.md").read_text()
    assert hooks.ALERT_MARKER in guide, "the guide's alert table is rendered from the catalogue"
    rows = {
        match[0]: match[1:]
        for match in re.findall(
            r"^\| `(\w+)` \| (\w+) \| (\w+) \| ([^|]+) \| [^|]+ \|$", hooks.on_page_markdown(guide), flags=re.M
        )
    }
    assert list(rows) == sorted(ALL_ALERT_NAMES, key=lambda name: hooks.LEVELS.index(rows[name][1]))
    assert rows["AvailabilityBudgetBurnPage"] == ("critical", "basic", "both")
    assert rows["FunctionThrottled"] == ("warning", "basic", "aws-lambda")
    assert rows["DatabaseUnavailable"] == ("critical", "standard", "aws-eks, with postgres")
    assert rows["SyntheticProbeFailing"][2].startswith("aws-eks, own cluster")
    assert rows["ErrorLogsElevated"] == ("warning", "comprehensive", "aws-eks")
    every = {
        name
        for p, level, database in itertools.product(
            ("aws-eks", "aws-lambda"), ("basic", "standard", "comprehensive"), ("postgres", "none")
        )
        for name in alert_names(plan(platform=p, monitoring_level=level, database=database))
    }
    assert every == set(ALL_ALERT_NAMES), "ALL_ALERT_NAMES is exactly what some answers produce"


def test_a_prometheus_alert_without_its_steady_input_is_refused():
    crash = next(a for a in alert_catalogue(plan()) if a.name == "PodCrashLooping")
    assert crash.steady and len(alert_cases(plan(), crash)) == 2
    with pytest.raises(ValueError, match="PodCrashLooping: a Prometheus alert needs its steady-state input series"):
        alert_cases(plan(), replace(crash, steady=None))


def test_every_test_shape_has_its_cases_and_a_new_alert_of_a_known_shape_needs_no_test_code():
    assert set(CASES) == set(AlertTest)
    alerts = {a.name: a for a in alert_catalogue(plan(monitoring_level="comprehensive"))}
    assert {a.test for a in alerts.values() if a.burn_rows} == {AlertTest.BURN_RATE}
    assert alerts["AvailabilityErrorBudgetLow"].test is AlertTest.BUDGET_LEFT
    assert alerts["NoPodsServing"].test is AlertTest.NO_PODS
    # Another alert of a known shape: its entry alone decides its cases (names, SLO, labels).
    latency = replace(alerts["AvailabilityErrorBudgetLow"], name="LatencyErrorBudgetLow", slo="latency")
    cases = alert_cases(plan(), latency)
    assert [c["alert_rule_test"][0]["alertname"] for c in cases] == ["LatencyErrorBudgetLow"] * 2
    assert all(any("_bucket{" in s["series"] for s in c["input_series"]) for c in cases)
    canary = replace(alerts["NoPodsServing"], name="CanaryNoPodsServing")
    assert [c["name"].split()[0] for c in alert_cases(plan(), canary)] == ["CanaryNoPodsServing"] * 2


def test_runbook_links_follow_the_repository_answer():
    p = plan(repository_url="https://github.com/acme/payments-api", monitoring_level="comprehensive")
    for alert in alert_catalogue(p):
        assert alert.runbook_url == f"https://github.com/acme/payments-api/blob/main/docs/runbooks/{alert.name}.md"
