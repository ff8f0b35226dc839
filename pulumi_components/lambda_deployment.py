"""LambdaDeployment: CodeDeploy shifts the function's `live` alias the way the plan says.

`canary` sends the plan's first weight to the new version for one interval,
then everything; `rolling` shifts the same share as pods surge on Kubernetes
every interval; `blue-green` shifts all at once, but only after a pre-traffic
hook has called the new version's readiness route and found it ready.
Any alarm going off during a deployment stops it and CodeDeploy moves the
alias back.

The alarms judge each version on its own requests. Lambda's alias metrics mix
the versions (at a 1% canary the new version's errors are divided by a
hundred) and count only exceptions, not the 5xx the handler returns. So the
handler writes one embedded-metric-format line per request with the version
that served it (`app/service/emf.py`), and two Metrics Insights alarms group
those by version: any version's error ratio above the plan's
`max_error_ratio` (the SLA's fast-burn page rate), or more than 1% of its
requests slower than the latency SLO (its p99 above it). The query names no
version, so the same alarms follow every deployment; each version is a
contributor of a multi-time-series alarm, which is in ALARM when one is:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Metrics_Insights_Alarm.html
CodeDeploy's hooks cannot do this: BeforeAllowTraffic runs before any shift
and AfterAllowTraffic after the last, so nothing but an alarm watches the
canary step. `extra_alarm_arns` adds alarms built elsewhere.

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
from .reliability.vocabulary import DeploymentStrategy

ALL_AT_ONCE = "CodeDeployDefault.LambdaAllAtOnce"
HOOK_PREFIX = "CodeDeployHook_"  # the prefix CodeDeploy's Lambda service role convention expects
HOOK_TIMEOUT_SECONDS = 60
HOOK_RUNTIME = "python3.12"
HOOK_CONCURRENCY = 2  # a deployment runs one hook at a time; two leave room for a retry
# What the handler writes (app/service/emf.py): namespace, dimensions and the 0/1 metrics whose
# average over a period is a ratio of that version's requests.
EMF_NAMESPACE = "Service/Requests"
EMF_DIMENSIONS = ("FunctionName", "Version")
SERVER_ERROR_METRIC, SLOW_REQUEST_METRIC = "ServerError", "SlowRequest"
LATENCY_QUANTILE = 0.99  # the latency SLO is a p99: more than 1% of requests above it breaches it

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
    extra_alarm_arns: Sequence[pulumi.Input[str]] = ()  # watched too, beside the per-version alarms
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        rollout = self.rollout
        require(
            rollout.strategy in DeploymentStrategy.values(),
            f"rollout.strategy must be one of {', '.join(DeploymentStrategy.values())}; got {rollout.strategy!r}",
        )
        if rollout.strategy == DeploymentStrategy.CANARY:
            require(
                0 < rollout.canary_steps[0] < 100,
                f"rollout.canary_steps: the first weight must be between 0 and 100; got {rollout.canary_steps[0]}",
            )
        if rollout.strategy == DeploymentStrategy.ROLLING:
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
        require(
            all(":alarm:" in arn for arn in self.extra_alarm_arns if isinstance(arn, str)),
            "extra_alarm_arns: give CloudWatch alarm ARNs (arn:aws:cloudwatch:<region>:<account>:alarm:<name>)",
        )


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
        self.alarms = self._version_alarms()
        alarm_names = [alarm.name for alarm in self.alarms] + [
            pulumi.Output.from_input(arn).apply(_alarm_name) for arn in args.extra_alarm_arns
        ]
        self.hook = self._pre_traffic_hook() if args.rollout.strategy == DeploymentStrategy.BLUE_GREEN else None
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
        if rollout.strategy == DeploymentStrategy.BLUE_GREEN:
            return ALL_AT_ONCE
        minutes = rollout.lambda_shift_interval_minutes
        if rollout.strategy == DeploymentStrategy.CANARY:
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

    def _version_alarms(self) -> list[aws.cloudwatch.MetricAlarm]:
        rollout = self._args.rollout
        errors = self._version_alarm(
            "error-ratio",
            SERVER_ERROR_METRIC,
            rollout.max_error_ratio,
            f"A version's share of 5xx responses (returned or raised) above {rollout.max_error_ratio} "
            "(the SLA's fast-burn page rate)",
        )
        latency = self._version_alarm(
            "latency-p99",
            SLOW_REQUEST_METRIC,
            round(1 - LATENCY_QUANTILE, 10),
            f"A version's p99 above the {rollout.max_latency_p99_seconds * 1000:g} ms latency SLO "
            f"(more than {1 - LATENCY_QUANTILE:.0%} of its requests slower)",
        )
        return [errors, latency]

    def _version_alarm(self, key: str, metric: str, threshold: float, what: str) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=f"{args.name}-deploy-{key}",
            alarm_description=(
                f"{what}, over {LAMBDA_ALARM_PERIOD_SECONDS} s periods, each version judged on its own requests: "
                "stops a deployment and moves the alias back"
            ),
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            evaluation_periods=LAMBDA_ALARM_DATAPOINTS,
            datapoints_to_alarm=LAMBDA_ALARM_DATAPOINTS,
            treat_missing_data="notBreaching",  # a version without requests has nothing to judge
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="by_version",
                    expression=pulumi.Output.from_input(args.function_name).apply(
                        lambda function: version_query(metric, function)
                    ),
                    period=LAMBDA_ALARM_PERIOD_SECONDS,
                    label=f"{metric} ratio by version",
                    return_data=True,
                )
            ],
            tags=merge_tags(args.tags, purpose="deployment-rollback"),
            opts=child(self),
        )

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


def version_query(metric: str, function_name: str) -> str:
    """Metrics Insights: the average of a 0/1 metric per version of this function, worst first."""
    require(
        function_name.replace("-", "").replace("_", "").isalnum(),
        f"function_name: letters, digits, - and _ only; got {function_name!r}",
    )
    namespace, dimensions = EMF_NAMESPACE, ", ".join(EMF_DIMENSIONS)
    return (
        f'SELECT AVG({metric}) FROM SCHEMA("{namespace}", {dimensions}) '
        f"WHERE FunctionName = '{function_name}' GROUP BY {EMF_DIMENSIONS[1]} ORDER BY AVG() DESC"
    )


def _alarm_name(arn: str) -> str:
    """CodeDeploy names alarms; CloudWatch alarm ARNs end in `:alarm:<name>`."""
    return arn.split(":alarm:", 1)[1] if ":alarm:" in arn else arn
