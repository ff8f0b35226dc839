"""lambda-rollback-per-version: a Lambda deployment group stops on alarms that see the new version.

The negative cases are the alarms this template used to build (Lambda's alias metrics, which mix
both versions), a per-version alarm on another function, a group that stops on no alarm, and a
group watching only alarms that do not group by version."""

from __future__ import annotations

import copy
import dataclasses
from functools import cache

from service_fixtures import lambda_release_args

from pulumi_components import LambdaDeployment
from pulumi_components.deployability import StackView, check_stack
from pulumi_components.testing import CapturedResource, run_with_mocks

RULE = ["lambda-rollback-per-version"]
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
FUNCTION = CapturedResource("aws:lambda/function:Function", "example-prod-function", {"name": "example-prod"})


@cache
def deployment() -> tuple:
    args = lambda_release_args("canary", 99.99)
    return tuple(run_with_mocks(lambda: LambdaDeployment("example-prod", args)).resources) + (FUNCTION,)


def findings(resources) -> list[str]:
    return [f.message for f in check_stack(StackView("example", "prod", tuple(resources)), only=RULE)]


def mutate(resource_type: str, change) -> list:
    """The deployment's resources with `change(inputs)` applied to every resource of that type."""
    out = []
    for resource in deployment():
        if resource.type == resource_type:
            inputs = copy.deepcopy(resource.inputs)
            change(inputs)
            resource = dataclasses.replace(resource, inputs=inputs)
        out.append(resource)
    return out


def test_the_deployment_passes():
    assert findings(deployment()) == []


def test_alias_metrics_are_reported():
    def alias_ratio(inputs):
        dims = {"FunctionName": "example-prod", "Resource": "example-prod:live"}
        inputs["metricQueries"] = [
            {"id": "errors", "metric": {"namespace": "AWS/Lambda", "metricName": "Errors", "dimensions": dims}},
            {
                "id": "invocations",
                "metric": {"namespace": "AWS/Lambda", "metricName": "Invocations", "dimensions": dims},
            },
            {"id": "ratio", "expression": "errors / invocations", "returnData": True},
        ]

    messages = findings(mutate(ALARM, alias_ratio))
    assert any("reads AWS/Lambda Errors of every version together" in m for m in messages)
    assert any("no alarm it stops on groups by version" in m for m in messages)


def test_a_per_version_alarm_on_another_function_is_reported():
    def other(inputs):
        for query in inputs["metricQueries"]:
            query["expression"] = query["expression"].replace("'example-prod'", "'example-staging'")

    (message, _) = findings(mutate(ALARM, other))
    assert "reads example-staging, not a function of this stack (example-prod)" in message


def test_a_group_that_stops_on_no_alarm_is_reported():
    def disabled(inputs):
        inputs["alarmConfiguration"]["enabled"] = False

    assert findings(mutate(GROUP, disabled)) == [
        "no alarm stops a deployment: enable alarmConfiguration and DEPLOYMENT_STOP_ON_ALARM"
    ]


def test_a_group_watching_only_alarms_from_elsewhere_is_reported():
    def external(inputs):
        inputs["alarmConfiguration"]["alarms"] = ["example-prod-availability-page-5m"]

    assert findings(mutate(GROUP, external)) == [
        "no alarm it stops on groups by version: a canary's errors are diluted"
    ]
