"""LambdaDeployment: CodeDeploy shifts the function's `live` alias the way the plan says.

`canary` sends the plan's first weight to the new version for one interval,
then everything; `rolling` shifts the same share as pods surge on Kubernetes
every interval; `blue-green` shifts all at once, but only after a pre-traffic
hook has called the new version's readiness route and found it ready.
Any alarm going off during a deployment stops it and CodeDeploy moves the
alias back. The alarms are the SLA's: the alias' error ratio above the
plan's `max_error_ratio` and its p99 duration above the latency SLO. Pass
`alarm_arns` to use alarms built elsewhere (the SLO burn-rate alarms) instead.

Pulumi creates the application, configuration and group; a release
(scripts/lambda_release.py) starts the deployment that moves the alias.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._base import LOG_RETENTION_DAYS, child, merge_tags, policy_json, require, service_trust, type_token
from .reliability.plan import LAMBDA_ALARM_DATAPOINTS, LAMBDA_ALARM_PERIOD_SECONDS, RolloutPlan

ALL_AT_ONCE = "CodeDeployDefault.LambdaAllAtOnce"
HOOK_PREFIX = "CodeDeployHook_"  # the prefix CodeDeploy's Lambda service role convention expects
HOOK_TIMEOUT_SECONDS = 60
HOOK_RUNTIME = "python3.12"
HOOK_CONCURRENCY = 2  # a deployment runs one hook at a time; two leave room for a retry

# The pre-traffic check: call the version CodeDeploy is about to shift to with an HTTP API
# event for the readiness route, and report Succeeded only on a 200.
HOOK_SOURCE = '''"""CodeDeploy BeforeAllowTraffic hook: is the target version ready to serve?"""

import json
import os

import boto3

codedeploy = boto3.client("codedeploy")
lambda_client = boto3.client("lambda")
READY_PATH = os.environ["READY_PATH"]


def target_version(deployment_id):
    deployment = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    content = json.loads(deployment["revision"]["appSpecContent"]["content"])
    (resource,) = content["Resources"][0].values()
    props = resource["Properties"]
    return props["Name"], str(props["TargetVersion"])


def ready(function, version):
    event = {
        "version": "2.0",
        "rawPath": READY_PATH,
        "rawQueryString": "",
        "headers": {"user-agent": "codedeploy-pre-traffic-hook"},
        "requestContext": {"http": {"method": "GET", "path": READY_PATH}},
        "isBase64Encoded": False,
    }
    reply = lambda_client.invoke(FunctionName=function, Qualifier=version, Payload=json.dumps(event).encode())
    if reply.get("FunctionError"):
        return False
    body = json.loads(reply["Payload"].read() or b"{}")
    return body.get("statusCode") == 200


def handle(event, context):
    deployment_id = event["DeploymentId"]
    status = "Failed"
    try:
        function, version = target_version(deployment_id)
        status = "Succeeded" if ready(function, version) else "Failed"
        print(json.dumps({"check": "pre-traffic", "function": function, "version": version, "status": status}))
    finally:
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id,
            lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
            status=status,
        )
    return status
'''


@dataclass
class LambdaDeploymentArgs:
    name: str  # resource prefix, e.g. "payments-prod"
    function_name: pulumi.Input[str]
    function_arn: pulumi.Input[str]  # unqualified
    alias_name: pulumi.Input[str]  # the `live` alias
    rollout: RolloutPlan
    kms_key_arn: pulumi.Input[str]  # encrypts the hook's logs (the function's key)
    log_retention_days: int
    dead_letter_queue_arn: pulumi.Input[str]  # CodeDeploy calls the hook asynchronously; failures land here
    ready_path: str = "/readyz"
    alarm_arns: Sequence[pulumi.Input[str]] | None = None  # None: build the SLA alarms here
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        rollout = self.rollout
        require(
            rollout.strategy in ("rolling", "canary", "blue-green"),
            f"rollout.strategy must be rolling, canary or blue-green; got {rollout.strategy!r}",
        )
        if rollout.strategy == "canary":
            require(
                0 < rollout.canary_steps[0] < 100,
                f"rollout.canary_steps: the first weight must be between 0 and 100; got {rollout.canary_steps[0]}",
            )
        if rollout.strategy == "rolling":
            require(
                0 < rollout.lambda_linear_percent < 100,
                f"rollout.max_surge_percent must be between 0 and 100; got {rollout.max_surge_percent}",
            )
        require(
            0 < rollout.max_error_ratio < 1,
            f"rollout.max_error_ratio must be between 0 and 1; got {rollout.max_error_ratio}",
        )
        require(
            self.log_retention_days in LOG_RETENTION_DAYS,
            f"log_retention_days must be one of {LOG_RETENTION_DAYS}; got {self.log_retention_days}",
        )
        require(self.alarm_arns is None or len(self.alarm_arns) > 0, "alarm_arns: give at least one alarm, or None")


class LambdaDeployment(pulumi.ComponentResource):
    application: aws.codedeploy.Application
    deployment_group: aws.codedeploy.DeploymentGroup
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: LambdaDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("LambdaDeployment"), name, None, opts)
        self._name, self._args = name, args
        self.application = aws.codedeploy.Application(
            f"{name}-codedeploy", name=args.name, compute_platform="Lambda", tags=args.tags, opts=child(self)
        )
        self.config_name = self._deployment_config()
        self.alarms = [] if args.alarm_arns is not None else self._sla_alarms()
        alarm_names = (
            [pulumi.Output.from_input(arn).apply(_alarm_name) for arn in args.alarm_arns]
            if args.alarm_arns is not None
            else [alarm.name for alarm in self.alarms]
        )
        self.hook = self._pre_traffic_hook() if args.rollout.strategy == "blue-green" else None
        role = self._service_role()
        self.deployment_group = aws.codedeploy.DeploymentGroup(
            f"{name}-group",
            app_name=self.application.name,
            deployment_group_name=f"{args.name}-live",
            service_role_arn=role.arn,
            deployment_config_name=self.config_name,
            deployment_style=aws.codedeploy.DeploymentGroupDeploymentStyleArgs(
                deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
            ),
            auto_rollback_configuration=aws.codedeploy.DeploymentGroupAutoRollbackConfigurationArgs(
                enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
            ),
            alarm_configuration=aws.codedeploy.DeploymentGroupAlarmConfigurationArgs(
                enabled=True, alarms=alarm_names, ignore_poll_alarm_failure=False
            ),
            tags=args.tags,
            opts=child(self),
        )
        self.register_outputs(
            {
                "application": self.application.name,
                "deployment_group": self.deployment_group.deployment_group_name,
                "deployment_config": self.config_name,
                "pre_traffic_hook": self.hook.name if self.hook else None,
            }
        )

    def _deployment_config(self) -> pulumi.Input[str]:
        rollout = self._args.rollout
        if rollout.strategy == "blue-green":
            return ALL_AT_ONCE
        minutes = rollout.lambda_shift_interval_minutes
        if rollout.strategy == "canary":
            routing = aws.codedeploy.DeploymentConfigTrafficRoutingConfigArgs(
                type="TimeBasedCanary",
                time_based_canary=aws.codedeploy.DeploymentConfigTrafficRoutingConfigTimeBasedCanaryArgs(
                    interval=minutes, percentage=rollout.canary_steps[0]
                ),
            )
            label = f"canary-{rollout.canary_steps[0]}pct-{minutes}min"
        else:
            routing = aws.codedeploy.DeploymentConfigTrafficRoutingConfigArgs(
                type="TimeBasedLinear",
                time_based_linear=aws.codedeploy.DeploymentConfigTrafficRoutingConfigTimeBasedLinearArgs(
                    interval=minutes, percentage=rollout.lambda_linear_percent
                ),
            )
            label = f"linear-{rollout.lambda_linear_percent}pct-{minutes}min"
        config = aws.codedeploy.DeploymentConfig(
            f"{self._name}-config",
            deployment_config_name=f"{self._args.name}-{label}",
            compute_platform="Lambda",
            traffic_routing_config=routing,
            opts=child(self),
        )
        return config.id

    def _sla_alarms(self) -> list[aws.cloudwatch.MetricAlarm]:
        args, rollout = self._args, self._args.rollout
        dimensions = {
            "FunctionName": args.function_name,
            "Resource": pulumi.Output.concat(args.function_name, ":", args.alias_name),
        }

        def metric(id_: str, name: str, stat: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=id_,
                return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace="AWS/Lambda",
                    metric_name=name,
                    dimensions=dimensions,
                    period=LAMBDA_ALARM_PERIOD_SECONDS,
                    stat=stat,
                ),
            )

        errors = aws.cloudwatch.MetricAlarm(
            f"{self._name}-error-ratio",
            name=f"{args.name}-deploy-error-ratio",
            alarm_description=(
                f"Errors per invocation of the live alias above {rollout.max_error_ratio} "
                "(the SLA's fast-burn page rate): stops a deployment and rolls the alias back"
            ),
            comparison_operator="GreaterThanThreshold",
            threshold=rollout.max_error_ratio,
            evaluation_periods=LAMBDA_ALARM_DATAPOINTS,
            datapoints_to_alarm=LAMBDA_ALARM_DATAPOINTS,
            treat_missing_data="notBreaching",
            metric_queries=[
                metric("errors", "Errors", "Sum"),
                metric("invocations", "Invocations", "Sum"),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="ratio",
                    expression="IF(invocations > 0, errors / invocations, 0)",
                    label="error ratio",
                    return_data=True,
                ),
            ],
            tags=merge_tags(args.tags, purpose="deployment-rollback"),
            opts=child(self),
        )
        latency = aws.cloudwatch.MetricAlarm(
            f"{self._name}-latency-p99",
            name=f"{args.name}-deploy-latency-p99",
            alarm_description=(
                f"p99 duration of the live alias above the {rollout.max_latency_p99_seconds * 1000:g} ms "
                "latency SLO: stops a deployment and rolls the alias back"
            ),
            namespace="AWS/Lambda",
            metric_name="Duration",
            dimensions=dimensions,
            extended_statistic="p99",
            period=LAMBDA_ALARM_PERIOD_SECONDS,
            comparison_operator="GreaterThanThreshold",
            threshold=rollout.max_latency_p99_seconds * 1000,  # Duration is in milliseconds
            evaluation_periods=LAMBDA_ALARM_DATAPOINTS,
            datapoints_to_alarm=LAMBDA_ALARM_DATAPOINTS,
            treat_missing_data="notBreaching",
            tags=merge_tags(args.tags, purpose="deployment-rollback"),
            opts=child(self),
        )
        return [errors, latency]

    def _pre_traffic_hook(self) -> aws.lambda_.Function:
        args = self._args
        function_name = f"{HOOK_PREFIX}{args.name}-pre-traffic"
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-hook-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            tags=args.tags,
            opts=child(self),
        )
        role = aws.iam.Role(
            f"{self._name}-hook-role",
            assume_role_policy=service_trust("lambda.amazonaws.com"),
            tags=args.tags,
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-hook-policy",
            role=role.id,
            policy=pulumi.Output.all(
                args.function_arn, log_group.arn, args.dead_letter_queue_arn, args.kms_key_arn
            ).apply(
                lambda a: policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["codedeploy:GetDeployment", "codedeploy:PutLifecycleEventHookExecutionStatus"],
                            "Resource": "*",  # deployment ids are not ARNs; the group is created after the hook
                        },
                        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": f"{a[0]}:*"},
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": f"{a[1]}:*",
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                            "Resource": "*",
                        },
                        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": a[2]},
                        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": a[3]},
                    ]
                )
            ),
            opts=child(self),
        )
        return aws.lambda_.Function(
            f"{self._name}-pre-traffic",
            name=function_name,
            role=role.arn,
            runtime=HOOK_RUNTIME,
            handler="hook.handle",
            code=pulumi.AssetArchive({"hook.py": pulumi.StringAsset(HOOK_SOURCE)}),
            timeout=HOOK_TIMEOUT_SECONDS,
            reserved_concurrent_executions=HOOK_CONCURRENCY,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables={"READY_PATH": args.ready_path}),
            kms_key_arn=args.kms_key_arn,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=args.dead_letter_queue_arn),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
            tags=args.tags,
            opts=child(self, depends_on=[log_group]),
        )

    def _service_role(self) -> aws.iam.Role:
        """What CodeDeploy may do: move this alias, read the alarms, run this hook."""
        args = self._args
        role = aws.iam.Role(
            f"{self._name}-codedeploy-role",
            assume_role_policy=service_trust("codedeploy.amazonaws.com"),
            tags=args.tags,
            opts=child(self),
        )
        hook_arn = self.hook.arn if self.hook else None

        def document(function_arn: str, alias: str, hook: str | None) -> str:
            statements = [
                {
                    "Effect": "Allow",
                    "Action": ["lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"],
                    "Resource": [f"{function_arn}:{alias}", function_arn],
                },
                {"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms", "Resource": "*"},
            ]
            if hook:
                statements.append({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": hook})
            return policy_json(statements)

        aws.iam.RolePolicy(
            f"{self._name}-codedeploy-policy",
            role=role.id,
            policy=pulumi.Output.all(args.function_arn, args.alias_name, hook_arn).apply(lambda a: document(*a)),
            opts=child(self),
        )
        return role


def _alarm_name(arn: str) -> str:
    """CodeDeploy names alarms; CloudWatch alarm ARNs end in `:alarm:<name>`."""
    return arn.split(":alarm:", 1)[1] if ":alarm:" in arn else arn
