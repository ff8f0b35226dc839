"""Rules of a Lambda release: what CodeDeploy stops a deployment on must see the new version.

CodeDeploy's alarm list is fixed per deployment group and it polls only the alarms' state.
Lambda's function metrics (FunctionName) and alias metrics (FunctionName + Resource) add up
every version the alias serves, so at a 1% canary a failing version moves them by a hundredth
of its error ratio; and Lambda's Errors counts raised exceptions, not the 5xx a handler
returns. A group gates on the new version only through an alarm that groups by version.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import StackView, stack_rule
from .rules_common import as_list, subject

GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
APPLICATION = "aws:codedeploy/application:Application"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION = "aws:lambda/function:Function"
HOOK_PREFIX = "CodeDeployHook_"
# A Metrics Insights query that judges each version apart, and the function it reads.
PER_VERSION = re.compile(r"GROUP BY\s+(Version|ExecutedVersion)\b", re.IGNORECASE)
FUNCTION_FILTER = re.compile(r"FunctionName\s*=\s*'([^']*)'")


def _lambda_groups(stack: StackView) -> list[Any]:
    lambda_apps = {
        app.inputs.get("name") for app in stack.of_type(APPLICATION) if app.inputs.get("computePlatform") == "Lambda"
    }
    return [group for group in stack.of_type(GROUP) if group.inputs.get("appName") in lambda_apps]


def _mixed_metrics(alarm: Mapping[str, Any]) -> Iterator[str]:
    """The AWS/Lambda metrics an alarm reads without the ExecutedVersion dimension."""
    metrics = [alarm] + [q.get("metric") or {} for q in as_list(alarm.get("metricQueries"))]
    for metric in metrics:
        if metric.get("namespace") == "AWS/Lambda" and "ExecutedVersion" not in (metric.get("dimensions") or {}):
            yield str(metric.get("metricName"))


def _version_queries(alarm: Mapping[str, Any]) -> list[str]:
    return [
        q["expression"]
        for q in as_list(alarm.get("metricQueries"))
        if isinstance(q.get("expression"), str) and PER_VERSION.search(q["expression"])
    ]


@stack_rule(
    "lambda-rollback-per-version",
    "A Lambda deployment group stops on alarms that judge the new version on its own: alarms on "
    "Lambda's function or alias metrics mix in the old version's traffic, so a canary's errors are diluted.",
)
def rollback_alarms_see_the_new_version(stack: StackView) -> Iterator[tuple[str, str]]:
    alarms = {a.inputs.get("name"): a.inputs for a in stack.of_type(ALARM)}
    functions = {f.inputs.get("name") for f in stack.of_type(FUNCTION)} - {None}
    functions = {name for name in functions if not str(name).startswith(HOOK_PREFIX)}
    for group in _lambda_groups(stack):
        config = group.inputs.get("alarmConfiguration") or {}
        events = (group.inputs.get("autoRollbackConfiguration") or {}).get("events") or []
        if not config.get("enabled") or "DEPLOYMENT_STOP_ON_ALARM" not in events:
            yield subject(group), "no alarm stops a deployment: enable alarmConfiguration and DEPLOYMENT_STOP_ON_ALARM"
            continue
        watched = [alarms[name] for name in as_list(config.get("alarms")) if name in alarms]
        for alarm in watched:
            for metric in _mixed_metrics(alarm):
                yield (
                    subject(group),
                    f"alarm {alarm.get('name')} reads AWS/Lambda {metric} of every version together; "
                    "group by version instead (a Metrics Insights query ... GROUP BY Version)",
                )
        queries = [query for alarm in watched for query in _version_queries(alarm)]
        if not queries:
            yield subject(group), "no alarm it stops on groups by version: a canary's errors are diluted"
        for query in queries:
            match = FUNCTION_FILTER.search(query)
            if functions and (match is None or match[1] not in functions):
                named = match[1] if match else "no function"
                yield (
                    subject(group),
                    f"per-version alarm reads {named}, not a function of this stack ({', '.join(sorted(functions))})",
                )
