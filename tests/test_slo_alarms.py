"""SloAlarms under Pulumi mocks: the catalogue's alerts as CloudWatch burn-rate alarms for aws-lambda."""

from __future__ import annotations

import json

import pytest
import yaml
from monitoring_repos import repo

from pulumi_components import ComponentArgsError
from pulumi_components.reliability import from_config
from pulumi_components.reliability.slo import duration_seconds
from pulumi_components.slo_alarms import SloAlarms, SloAlarmsArgs
from pulumi_components.testing import ACCOUNT_ID, resolve, run_with_mocks, stack_config

COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
METRIC = "aws:cloudwatch/metricAlarm:MetricAlarm"


def catalogue(level: str) -> list[dict]:
    root = repo(platform="aws-lambda", monitoring_level=level)
    return yaml.safe_load((root / "monitoring" / "alerts.yaml").read_text())


def args(level: str = "standard", env: str = "prod", oncall: str = "pagerduty", **extra) -> SloAlarmsArgs:
    root = repo(platform="aws-lambda", monitoring_level=level)
    plan = from_config(stack_config(root / f"Pulumi.{env}.yaml")["example-service:plan"])
    values = dict(
        name=f"example-service-{env}",
        plan=plan,
        catalogue=catalogue(level),
        api_id="a1b2c3",
        stage="$default",
        function_name="example-service-prod",
        oncall=oncall,
        owner_email="platform@example.com",
        oncall_credential="routing-key",
        tags={"service": "example-service", "environment": env},
    )
    return SloAlarmsArgs(**{**values, **extra})


def build(**kwargs):
    holder = {}

    def program():
        holder["component"] = SloAlarms("example-service", args(**kwargs))

    return run_with_mocks(program), holder


@pytest.mark.parametrize("level", ["basic", "standard"])
def test_every_catalogue_alert_is_an_alarm_named_after_it(level):
    run, _ = build(level=level)
    names = {r.inputs.get("alarmName") or r.inputs.get("name") for r in run.of_type(COMPOSITE)}
    names |= {r.inputs["name"] for r in run.of_type(METRIC) if r.inputs["name"].count("-") <= 3}
    expected = {f"example-service-prod-{alert['name']}" for alert in catalogue(level)}
    assert expected <= names
    top_level = {r.inputs["alarmName"] for r in run.of_type(COMPOSITE)}
    top_level |= {r.inputs["name"] for r in run.of_type(METRIC) if r.inputs.get("alarmActions")}
    assert top_level == expected


def test_burn_windows_and_thresholds_come_from_the_catalogue():
    run, _ = build()
    alarms = {r.inputs["name"]: r for r in run.of_type(METRIC)}
    composites = {r.inputs["alarmName"]: r for r in run.of_type(COMPOSITE)}
    for alert in catalogue("standard"):
        if not alert.get("windows"):
            continue
        rule = composites[f"example-service-prod-{alert['name']}"].inputs["alarmRule"]
        for row in alert["windows"]:
            for window in (row["long_window"], row["short_window"]):
                name = f"example-service-prod-{alert['name']}-{row['name']}-{window}"
                assert f'ALARM("{name}")' in rule
                alarm = alarms[name]
                assert alarm.inputs["threshold"] == row["threshold"]
                (ratio,) = [q for q in alarm.inputs["metricQueries"] if q.get("returnData")]
                assert "IF(FILL(total, 0) > 0" in ratio["expression"], "zero traffic reads 0, not missing data"
                periods = {q["metric"]["period"] for q in alarm.inputs["metricQueries"] if q.get("metric")}
                assert periods == {min(duration_seconds(window), 86_400)}
        assert rule.count(" OR ") == len(alert["windows"]) - 1


def test_latency_alarms_use_the_percentile_rank_of_the_latency_target():
    run, _ = build()
    latency = [r for r in run.of_type(METRIC) if "LatencyBudgetBurn" in r.inputs["name"]]
    stats = {q["metric"]["stat"] for r in latency for q in r.inputs["metricQueries"] if q.get("metric")}
    assert stats == {"PR(:500)", "Sum"}


@pytest.mark.parametrize("env,pages", [("prod", True), ("dev", False)])
def test_pages_only_from_production(env, pages):
    run, holder = build(env=env)
    topics = {r.name: r for r in run.of_type("aws:sns/topic:Topic")}
    page = next(r for r in run.of_type(COMPOSITE) if r.inputs["alarmName"].endswith("AvailabilityBudgetBurnPage"))
    (action,) = page.inputs["alarmActions"]
    assert action.endswith("-page") == pages and action.endswith("-ticket") != pages
    assert all(t.inputs.get("kmsMasterKeyId") for t in topics.values()), "topics are encrypted"


@pytest.mark.parametrize("oncall,protocol", [("pagerduty", "https"), ("opsgenie", "https"), ("email", "email")])
def test_pages_reach_the_oncall_tool(oncall, protocol):
    run, _ = build(oncall=oncall)
    subscriptions = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    page = [s for s in subscriptions if s.name.startswith("example-service-page")]
    assert [s.inputs["protocol"] for s in page] == [protocol]


def test_slack_pages_through_chatbot():
    run, _ = build(oncall="slack", slack_team_id="T0123", slack_channel_id="C0456")
    (chatbot,) = run.of_type("aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration")
    assert chatbot.inputs["slackChannelId"] == "C0456"


def test_rollback_alarms_are_the_page_short_windows():
    _, holder = build()
    assert len(holder["component"].rollback_alarm_arns) == 4  # availability and latency, 5m and 30m


def test_dashboard_is_valid_json_with_the_alerts():
    run, _ = build()
    (dashboard,) = run.of_type("aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == len(catalogue("standard"))


def test_an_eks_catalogue_is_refused():
    eks = yaml.safe_load((repo(platform="aws-eks") / "monitoring" / "alerts.yaml").read_text())
    with pytest.raises(ComponentArgsError, match="catalogue: .* is not a CloudWatch alert"):
        args(catalogue=eks).validate()


def test_every_alert_description_links_its_runbook_on_github():
    run, _ = build(level="standard")
    alerts = [r for r in (*run.of_type(COMPOSITE), *run.of_type(METRIC)) if "Runbook:" in r.inputs["alarmDescription"]]
    assert {r.inputs.get("alarmName") or r.inputs["name"] for r in alerts} == {
        f"example-service-prod-{alert['name']}" for alert in catalogue("standard")
    }
    for alarm in alerts:
        name = (alarm.inputs.get("alarmName") or alarm.inputs["name"]).removeprefix("example-service-prod-")
        url = f"https://github.com/platform/example-service/blob/main/docs/runbooks/{name}.md"
        assert alarm.inputs["alarmDescription"].endswith(f"Runbook: {url}")


def test_a_catalogue_without_absolute_runbook_links_is_refused():
    relative = [{**alert, "runbook_url": alert["runbook"]} for alert in catalogue("basic")]
    with pytest.raises(ComponentArgsError, match="needs an absolute runbook_url"):
        args(level="basic", catalogue=relative).validate()


def test_cloudwatch_and_budgets_may_publish_tickets_for_this_account_only():
    run, _ = build()
    (policy,) = [r for r in run.resources if r.type == "aws:sns/topicPolicy:TopicPolicy"]
    statements = {s["Sid"]: s for s in json.loads(resolve(policy.inputs["policy"]))["Statement"]}
    for sid, service in (("AlarmsPublish", "cloudwatch.amazonaws.com"), ("BudgetsPublish", "budgets.amazonaws.com")):
        assert statements[sid]["Principal"] == {"Service": service}
        assert statements[sid]["Action"] == "sns:Publish"
        assert statements[sid]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    assert statements["AccountManages"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    (key,) = [r for r in run.resources if r.type == "aws:kms/key:Key"]
    (services,) = [s for s in json.loads(resolve(key.inputs["policy"]))["Statement"] if s["Sid"] == "ServicesEncrypt"]
    assert "budgets.amazonaws.com" in services["Principal"]["Service"]  # it encrypts what it publishes
