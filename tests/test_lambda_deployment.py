"""LambdaDeployment under Pulumi mocks: CodeDeploy shifts the live alias per strategy,
and the SLA's alarms, reading each version on its own, roll it back."""

from __future__ import annotations

import ast
import json

import pytest
from service_fixtures import lambda_release_args

from pulumi_components import ComponentArgsError
from pulumi_components.lambda_deployment import (
    EMF_DIMENSIONS,
    EMF_NAMESPACE,
    HOOK_SOURCE,
    SERVER_ERROR_METRIC,
    SLOW_REQUEST_METRIC,
    LambdaDeployment,
    LambdaDeploymentArgs,
    version_query,
)
from pulumi_components.testing import run_with_mocks

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:example-prod"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION = "aws:lambda/function:Function"


def deployment_args(strategy: str, sla: float = 99.9, **overrides) -> LambdaDeploymentArgs:
    return lambda_release_args(strategy, sla, **overrides)


def run(args: LambdaDeploymentArgs):
    return run_with_mocks(lambda: LambdaDeployment("example-prod", args))


@pytest.fixture(scope="module")
def runs():
    return {strategy: run(deployment_args(strategy)) for strategy in ("rolling", "canary", "blue-green")}


def test_canary_sends_the_first_weight_for_one_interval(runs):
    rollout = deployment_args("canary").rollout
    (config,) = runs["canary"].of_type(CONFIG)
    routing = config.inputs["trafficRoutingConfig"]
    assert routing["type"] == "TimeBasedCanary"
    assert routing["timeBasedCanary"] == {"interval": 2, "percentage": 5}
    assert rollout.canary_steps[0] == 5 and rollout.lambda_shift_interval_minutes == 2
    (group,) = runs["canary"].of_type(GROUP)
    assert group.inputs["deploymentConfigName"] == config.name + "-id"


def test_platinum_canary_rounds_its_pause_up_to_whole_minutes():
    (config,) = run(deployment_args("canary", sla=99.99)).of_type(CONFIG)
    assert config.inputs["trafficRoutingConfig"]["timeBasedCanary"] == {"interval": 2, "percentage": 1}


def test_rolling_shifts_linearly_by_the_surge_share(runs):
    (config,) = runs["rolling"].of_type(CONFIG)
    routing = config.inputs["trafficRoutingConfig"]
    assert routing["type"] == "TimeBasedLinear"
    assert routing["timeBasedLinear"] == {"interval": 2, "percentage": 25}


def test_blue_green_is_all_at_once_behind_a_pre_traffic_check(runs):
    assert not runs["blue-green"].of_type(CONFIG)
    (group,) = runs["blue-green"].of_type(GROUP)
    assert group.inputs["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    (hook,) = runs["blue-green"].of_type(FUNCTION)
    assert hook.inputs["name"].startswith("CodeDeployHook_")
    assert hook.inputs["environment"]["variables"] == {"READY_PATH": "/readyz"}
    assert hook.inputs["tracingConfig"] == {"mode": "Active"}
    assert hook.inputs["reservedConcurrentExecutions"] >= 1
    assert hook.inputs["deadLetterConfig"]["targetArn"].endswith(":example-prod-dlq")
    policy = json.loads(runs["blue-green"].of_type("aws:iam/rolePolicy:RolePolicy")[-1].inputs["policy"])
    invokes = [s for s in policy["Statement"] if s["Action"] == "lambda:InvokeFunction"]
    assert invokes and invokes[0]["Resource"].endswith("CodeDeployHook_example-prod-pre-traffic")
    assert not runs["canary"].of_type(FUNCTION)


class FakeAws:
    """boto3 stand-in: CodeDeploy returns an AppSpec like scripts/lambda_release.py writes,
    Lambda answers the readiness call with `status`."""

    def __init__(self, status: int | None, function_error: bool = False):
        self.status, self.function_error = status, function_error
        self.reported: list[dict] = []
        self.invoked: list[dict] = []

    def client(self, service: str):
        return self

    def get_deployment(self, deploymentId):
        spec = {"Resources": [{"live": {"Properties": {"Name": "example-prod", "TargetVersion": 7}}}]}
        return {"deploymentInfo": {"revision": {"appSpecContent": {"content": json.dumps(spec)}}}}

    def invoke(self, FunctionName, Qualifier, Payload):
        import io

        self.invoked.append({"function": FunctionName, "version": Qualifier, "event": json.loads(Payload)})
        reply = {"Payload": io.BytesIO(json.dumps({"statusCode": self.status}).encode())}
        return {**reply, "FunctionError": "Unhandled"} if self.function_error else reply

    def put_lifecycle_event_hook_execution_status(self, **kwargs):
        self.reported.append(kwargs)


@pytest.mark.parametrize(
    ("status", "function_error", "verdict"),
    [(200, False, "Succeeded"), (503, False, "Failed"), (200, True, "Failed")],
)
def test_the_pre_traffic_hook_reports_the_new_versions_readiness(monkeypatch, status, function_error, verdict):
    import sys
    import types

    fake = FakeAws(status, function_error)
    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=fake.client))
    monkeypatch.setenv("READY_PATH", "/readyz")
    namespace: dict = {}
    exec(compile(ast.parse(HOOK_SOURCE), "hook.py", "exec"), namespace)  # noqa: S102 (our own source)
    result = namespace["handle"]({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "h-1"}, None)
    assert result == verdict
    assert fake.reported == [{"deploymentId": "d-1", "lifecycleEventHookExecutionId": "h-1", "status": verdict}]
    (call,) = fake.invoked
    assert (call["function"], call["version"], call["event"]["rawPath"]) == ("example-prod", "7", "/readyz")


@pytest.mark.parametrize("strategy", ["rolling", "canary", "blue-green"])
def test_alarms_on_the_sla_thresholds_roll_back(runs, strategy):
    rollout = deployment_args(strategy).rollout
    (group,) = runs[strategy].of_type(GROUP)
    assert group.inputs["autoRollbackConfiguration"] == {
        "enabled": True,
        "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    assert group.inputs["deploymentStyle"] == {
        "deploymentOption": "WITH_TRAFFIC_CONTROL",
        "deploymentType": "BLUE_GREEN",
    }
    alarms = {a.inputs["name"]: a.inputs for a in runs[strategy].of_type(ALARM)}
    assert set(group.inputs["alarmConfiguration"]["alarms"]) == set(alarms)
    errors = alarms["example-prod-deploy-error-ratio"]
    assert errors["threshold"] == pytest.approx(rollout.max_error_ratio) == pytest.approx(0.0144)
    (query,) = errors["metricQueries"]
    assert query["returnData"] is True and query["period"] == 60
    assert query["expression"] == (
        'SELECT AVG(ServerError) FROM SCHEMA("Service/Requests", FunctionName, Version) '
        "WHERE FunctionName = 'example-prod' GROUP BY Version ORDER BY AVG() DESC"
    )
    assert (errors["evaluationPeriods"], errors["datapointsToAlarm"]) == (1, 1)
    assert errors["treatMissingData"] == "notBreaching"
    latency = alarms["example-prod-deploy-latency-p99"]
    assert latency["threshold"] == pytest.approx(0.01)  # p99 above the SLO: over 1% of requests slower
    assert "AVG(SlowRequest)" in latency["metricQueries"][0]["expression"]
    assert "500 ms" in latency["alarmDescription"]
    assert latency["tags"]["service"] == "example"


def test_no_alarm_reads_the_alias_metrics_that_mix_versions(runs):
    """Lambda's alias metrics (FunctionName + Resource) average the canary with the old version."""
    for alarm in runs["canary"].of_type(ALARM):
        assert "namespace" not in alarm.inputs and "dimensions" not in alarm.inputs
        assert all("metric" not in q for q in alarm.inputs["metricQueries"])


def test_the_alarms_read_what_the_handler_writes():
    """The names the queries use are those app/service/emf.py puts in its EMF lines."""
    from lambda_gate import handler_emf

    emf = handler_emf()
    assert emf.NAMESPACE == EMF_NAMESPACE and emf.DIMENSIONS == EMF_DIMENSIONS
    assert (emf.SERVER_ERROR, emf.SLOW_REQUEST) == (SERVER_ERROR_METRIC, SLOW_REQUEST_METRIC)


def test_version_query_refuses_a_name_that_would_break_the_query():
    with pytest.raises(ComponentArgsError, match="function_name"):
        version_query("ServerError", "x' OR FunctionName != '")


def test_alarms_built_elsewhere_are_watched_too():
    slo = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:example-prod-availability-page-fast"
    result = run(deployment_args("canary", extra_alarm_arns=[slo]))
    (group,) = result.of_type(GROUP)
    assert group.inputs["alarmConfiguration"]["alarms"] == [
        "example-prod-deploy-error-ratio",
        "example-prod-deploy-latency-p99",
        "example-prod-availability-page-fast",
    ]


def test_codedeploy_may_only_move_this_alias(runs):
    policies = [json.loads(p.inputs["policy"]) for p in runs["canary"].of_type("aws:iam/rolePolicy:RolePolicy")]
    (policy,) = policies
    alias = [s for s in policy["Statement"] if "lambda:UpdateAlias" in s["Action"]][0]
    assert alias["Resource"] == [f"{FUNCTION_ARN}:live", FUNCTION_ARN]


def test_bad_args_name_the_setting():
    with pytest.raises(ComponentArgsError, match="log_retention_days"):
        LambdaDeployment("x", deployment_args("canary", log_retention_days=10))
    with pytest.raises(ComponentArgsError, match="extra_alarm_arns"):
        LambdaDeployment("x", deployment_args("canary", extra_alarm_arns=["example-prod-availability-page-fast"]))
