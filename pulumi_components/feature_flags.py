"""FeatureFlags: an environment's AWS AppConfig feature flags, readable by the workload only.

- an application and an environment both named `<service>-<env>`, the environment's monitors
  being the rollback alarms (AppConfig rolls a flag deployment back when one fires during it or
  its bake time), a configuration profile `<service>-<env>-flags` of type
  `AWS.AppConfig.FeatureFlags`, and a hosted configuration version holding the repository's flags
  (`app/flags.json`) with their initial values;
- a linear deployment strategy (a flag reaches the fleet in steps, baked before it completes) and
  the deployment of that version;
- an IAM policy on each reader role: `appconfig:StartConfigurationSession` and
  `appconfig:GetLatestConfiguration` on this profile in this environment, nothing else.

The app reads the profile by name (`APPCONFIG_APPLICATION`, `APPCONFIG_ENVIRONMENT`,
`APPCONFIG_PROFILE`; `reader_environment()`), so the workload needs no output of this component.
A flag's value then changes in AppConfig, without a deploy (docs/feature-flags.md): Pulumi
compares its own inputs, so a later `pulumi up` does not revert it unless `app/flags.json` changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ._base import child, policy_json, require, service_trust, type_token

PROFILE_SUFFIX = "flags"  # the profile is `<service>-<env>-flags`
PROFILE_TYPE = "AWS.AppConfig.FeatureFlags"
# AppConfig's flag keys (the AWS.AppConfig.FeatureFlags schema's key pattern).
FLAG_KEY = re.compile(r"^[a-z][a-zA-Z\d_-]{0,63}$")
READ_ACTIONS = ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"]
# Turning a flag on reaches the fleet in five 20% steps over 10 minutes, then bakes 10 minutes
# watched by the rollback alarms; a kill switch uses AppConfig.AllAtOnce (docs/feature-flags.md).
ROLLOUT_MINUTES = 10
BAKE_MINUTES = 10
GROWTH_PERCENT = 20


@dataclass(frozen=True)
class Flag:
    description: str
    enabled: bool


def flags_from_file(data: Mapping[str, Any]) -> dict[str, Flag]:
    """The flags of `app/flags.json`: `{"<key>": {"description": str, "enabled": bool}}`."""
    flags = {}
    for key, spec in data.items():
        require(FLAG_KEY.match(key) is not None, f"flag {key!r}: keys match {FLAG_KEY.pattern} (AppConfig's rule)")
        require(
            isinstance(spec, Mapping) and set(spec) == {"description", "enabled"} and isinstance(spec["enabled"], bool),
            f"flag {key!r} must be {{'description': <text>, 'enabled': true|false}}; got {spec!r}",
        )
        flags[key] = Flag(str(spec["description"]), spec["enabled"])
    return flags


def flag_document(flags: Mapping[str, Flag]) -> str:
    """The hosted configuration in AppConfig's feature-flag format (schema version 1)."""
    return json.dumps(
        {
            "version": "1",
            "flags": {key: {"name": key, "description": flag.description[:1024]} for key, flag in flags.items()},
            "values": {key: {"enabled": flag.enabled} for key, flag in flags.items()},
        },
        sort_keys=True,
    )


def application_name(name: str) -> str:
    return name  # <service>-<env>


def reader_environment(name: str) -> dict[str, str]:
    """What the app reads its flags by (service/flags.py): names, so the workload does not wait on
    this component. Every name starts with `<service>-<env>`, as all of the stack's do."""
    return {
        "APPCONFIG_APPLICATION": application_name(name),
        "APPCONFIG_ENVIRONMENT": name,
        "APPCONFIG_PROFILE": f"{name}-{PROFILE_SUFFIX}",
    }


@dataclass
class FeatureFlagsArgs:
    name: str  # <service>-<env>
    flags: Mapping[str, Flag]
    rollback_alarm_arns: Sequence[pulumi.Input[str]]
    reader_role_names: Sequence[pulumi.Input[str]]  # the workload's identity
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        require(bool(self.flags), "flags: app/flags.json defines no flag")
        for key in self.flags:
            require(FLAG_KEY.match(key) is not None, f"flag {key!r}: keys match {FLAG_KEY.pattern}")
        require(bool(self.rollback_alarm_arns), "rollback_alarm_arns: a flag deployment needs an alarm to roll back on")
        require(bool(self.reader_role_names), "reader_role_names: name the workload's role, or nothing reads the flags")


class FeatureFlags(pulumi.ComponentResource):
    def __init__(self, name: str, args: FeatureFlagsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("FeatureFlags"), name, None, opts)
        tags = dict(args.tags)
        self.application = aws.appconfig.Application(
            f"{name}-flags", name=application_name(args.name), tags=tags, opts=child(self)
        )
        monitor_role = self._monitor_role(name, tags)
        self.environment = aws.appconfig.Environment(
            f"{name}-flags",
            application_id=self.application.id,
            name=args.name,
            monitors=[
                aws.appconfig.EnvironmentMonitorArgs(alarm_arn=arn, alarm_role_arn=monitor_role.arn)
                for arn in args.rollback_alarm_arns
            ],
            tags=tags,
            opts=child(self),
        )
        self.profile = aws.appconfig.ConfigurationProfile(
            f"{name}-flags",
            application_id=self.application.id,
            name=f"{args.name}-{PROFILE_SUFFIX}",
            location_uri="hosted",
            type=PROFILE_TYPE,
            tags=tags,
            opts=child(self),
        )
        self.version = aws.appconfig.HostedConfigurationVersion(
            f"{name}-flags",
            application_id=self.application.id,
            configuration_profile_id=self.profile.configuration_profile_id,
            content_type="application/json",
            content=flag_document(args.flags),
            description="app/flags.json as committed",
            opts=child(self),
        )
        self.strategy = aws.appconfig.DeploymentStrategy(
            f"{name}-flags",
            name=f"{args.name}-flags-linear",
            deployment_duration_in_minutes=ROLLOUT_MINUTES,
            final_bake_time_in_minutes=BAKE_MINUTES,
            growth_factor=GROWTH_PERCENT,
            growth_type="LINEAR",
            replicate_to="NONE",
            tags=tags,
            opts=child(self),
        )
        self.deployment = aws.appconfig.Deployment(
            f"{name}-flags",
            application_id=self.application.id,
            environment_id=self.environment.environment_id,
            configuration_profile_id=self.profile.configuration_profile_id,
            configuration_version=self.version.version_number.apply(str),
            deployment_strategy_id=self.strategy.id,
            description="app/flags.json as committed",
            tags=tags,
            opts=child(self),
        )
        for index, role in enumerate(args.reader_role_names):
            aws.iam.RolePolicy(f"{name}-flags-read-{index}", role=role, policy=self._read_policy(), opts=child(self))
        self.register_outputs(
            {"application_id": self.application.id, "profile_id": self.profile.configuration_profile_id}
        )

    def _read_policy(self) -> pulumi.Output[str]:
        """Reading this environment's flag profile and nothing else (the AppConfig Data actions'
        resource is `application/<id>/environment/<id>/configuration/<id>`)."""
        return pulumi.Output.all(
            self.application.arn, self.environment.environment_id, self.profile.configuration_profile_id
        ).apply(
            lambda a: policy_json(
                [
                    {
                        "Sid": "ReadFeatureFlags",
                        "Effect": "Allow",
                        "Action": READ_ACTIONS,
                        "Resource": f"{a[0]}/environment/{a[1]}/configuration/{a[2]}",
                    }
                ]
            )
        )

    def _monitor_role(self, name: str, tags: dict[str, str]) -> aws.iam.Role:
        """The role AppConfig assumes to read the rollback alarms' state."""
        role = aws.iam.Role(
            f"{name}-flags-monitor",
            assume_role_policy=service_trust("appconfig.amazonaws.com"),
            tags=tags,
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flags-monitor",
            role=role.id,
            # DescribeAlarms has no resource-level permissions: AWS's AppConfig guide grants it on "*".
            policy=policy_json([{"Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms"], "Resource": "*"}]),
            opts=child(self),
        )
        return role


def load_balancer_error_alarm(
    name: str,
    load_balancer_hostname: pulumi.Input[str],
    max_error_ratio: float,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions | None = None,
) -> aws.cloudwatch.MetricAlarm:
    """The 5xx ratio of the ALB the load balancer controller created for the workload, above the
    canary's page-rate gate for two of three minutes: the rollback alarm of EKS flag deployments
    (Prometheus, which the SLO alerts read, is not a CloudWatch alarm AppConfig can watch). The ALB
    is found by its name, the first label of its DNS name (`<name>-<number>.<region>.elb...`)."""
    suffix = pulumi.Output.from_input(load_balancer_hostname).apply(_load_balancer_arn_suffix)

    def metric(query_id: str, metric_name: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query_id,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace="AWS/ApplicationELB",
                metric_name=metric_name,
                dimensions={"LoadBalancer": suffix},
                period=60,
                stat="Sum",
            ),
        )

    return aws.cloudwatch.MetricAlarm(
        f"{name}-flags-rollback",
        alarm_description="Feature flag deployments roll back when the service's 5xx ratio breaks the page rate",
        comparison_operator="GreaterThanThreshold",
        evaluation_periods=3,
        datapoints_to_alarm=2,
        threshold=max_error_ratio,
        treat_missing_data="notBreaching",
        metric_queries=[
            metric("errors", "HTTPCode_Target_5XX_Count"),
            metric("requests", "RequestCount"),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="ratio", expression="IF(requests > 0, errors / requests, 0)", return_data=True
            ),
        ],
        tags=dict(tags),
        opts=opts,
    )


def _load_balancer_arn_suffix(hostname: str) -> str:
    lb_name = hostname.split(".")[0].rsplit("-", 1)[0]
    return aws.lb.get_load_balancer(name=lb_name).arn_suffix
