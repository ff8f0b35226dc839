"""SloAlarms: the SLO burn-rate policy of aws-lambda services as CloudWatch alarms, a dashboard, SNS.

The alerts are those of the generated `monitoring/alerts.yaml` (the alert
catalogue), so the names, severities, windows and thresholds are the same as
the Prometheus rules of aws-eks services:

- each burn-rate row becomes two metric-math alarms on the HTTP API's metrics
  (error ratio `5xx / Count`, or the slow ratio `1 - PR(:latency)/100`), one
  per window, and the catalogue's alert is a composite alarm
  `(long AND short) OR (long AND short)` over them;
- CloudWatch alarm periods are aligned buckets of at most one day, so a
  window longer than a day (the 3d ticket window) is evaluated over one day;
- critical alarms notify the page topic (routed to the on-call tool) in
  environments whose plan pages, the ticket topic (the team's e-mail)
  elsewhere; both topics are encrypted with a key CloudWatch may use.

`rollback_alarm_arns` are the page rows' short-window alarms. They read the
whole HTTP API, so a canary's errors are diluted by the version it replaces:
CodeDeploy does not gate on them but on LambdaDeployment's per-version alarms
(pass these as its `extra_alarm_arns` to stop a release on an SLO page too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ._base import child, merge_tags, policy_json, require, service_trust, type_token
from .kms import kms_key
from .reliability.plan import EnvironmentPlan
from .reliability.slo import duration_seconds
from .reliability.vocabulary import OncallTool, Severity

MAX_PERIOD_SECONDS = 86_400  # CloudWatch's longest alarm period
ONCALL_TOOLS = OncallTool.values()
# What SNS's default topic policy lets the owning account do, kept when the policy is replaced.
TOPIC_OWNER_ACTIONS = [
    "sns:GetTopicAttributes",
    "sns:SetTopicAttributes",
    "sns:AddPermission",
    "sns:RemovePermission",
    "sns:DeleteTopic",
    "sns:Subscribe",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
]
# HTTPS endpoints of the on-call tools' CloudWatch/SNS integrations; the key comes from a Pulumi secret.
INTEGRATION_URLS = {
    OncallTool.PAGERDUTY: "https://events.pagerduty.com/integration/{key}/enqueue",
    OncallTool.OPSGENIE: "https://api.opsgenie.com/v1/json/cloudwatch?apiKey={key}",
}


@dataclass
class SloAlarmsArgs:
    name: str  # resource names start with it: <service>-<env>
    plan: EnvironmentPlan
    catalogue: Sequence[Mapping[str, Any]]  # monitoring/alerts.yaml
    api_id: pulumi.Input[str]
    stage: pulumi.Input[str]
    function_name: pulumi.Input[str]
    oncall: str
    owner_email: str
    oncall_credential: pulumi.Input[str] | None = None  # PagerDuty/Opsgenie key (Pulumi secret)
    slack_team_id: str | None = None  # Slack via AWS Chatbot
    slack_channel_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        require(self.oncall in ONCALL_TOOLS, f"oncall must be one of {', '.join(ONCALL_TOOLS)}; got {self.oncall!r}")
        require(self.plan.function is not None, "plan.function: SLO alarms watch a Lambda service's HTTP API")
        require(bool(self.catalogue), "catalogue: monitoring/alerts.yaml lists no alerts")
        for alert in self.catalogue:
            require(alert.get("engine") == "cloudwatch", f"catalogue: {alert.get('name')} is not a CloudWatch alert")
            require(
                str(alert.get("runbook_url", "")).startswith("https://"),
                f"catalogue: {alert.get('name')} needs an absolute runbook_url a pager can open "
                "(monitoring/alerts.yaml is generated with it)",
            )
        if self.oncall in INTEGRATION_URLS and self.oncall_credential is None:
            pulumi.log.warn(f"oncall_credential is not set: pages reach {self.owner_email} by e-mail until it is")


class SloAlarms(pulumi.ComponentResource):
    alarms: dict[str, aws.cloudwatch.MetricAlarm]  # "<AlertName>-<row>-<window>"
    alerts: dict[str, aws.cloudwatch.CompositeAlarm | aws.cloudwatch.MetricAlarm]  # by catalogue name
    rollback_alarm_arns: list[pulumi.Output[str]]

    def __init__(self, name: str, args: SloAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("SloAlarms"), name, None, opts)
        self._name, self._args = name, args
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.key = kms_key(
            f"{name}-alarms",
            description=f"{args.name}: SNS topics of the SLO alarms",
            parent=self,
            tags=args.tags,
            # budgets: the environment's CostBudget alerts through the ticket topic
            service_principals=["cloudwatch.amazonaws.com", "sns.amazonaws.com", "budgets.amazonaws.com"],
        )
        self.page_topic = self._topic("page")
        self.ticket_topic = self._topic("ticket")
        self._ticket_publishers()
        self._route()
        self.alarms, self.alerts, self.rollback_alarm_arns = {}, {}, []
        for alert in args.catalogue:
            if alert.get("windows"):
                self._burn_alert(alert)
            else:
                self._function_alert(alert)
        self.dashboard = self._dashboard(region)
        self.register_outputs(
            {
                "page_topic_arn": self.page_topic.arn,
                "ticket_topic_arn": self.ticket_topic.arn,
                "alert_arns": {n: a.arn for n, a in self.alerts.items()},
                "rollback_alarm_arns": self.rollback_alarm_arns,
            }
        )

    # -- notification --------------------------------------------------------------------

    def _topic(self, kind: str) -> aws.sns.Topic:
        return aws.sns.Topic(
            f"{self._name}-{kind}",
            name=f"{self._args.name}-{kind}",
            kms_master_key_id=self.key.arn,
            tags=merge_tags(self._args.tags, purpose=f"slo-{kind}"),
            opts=child(self),
        )

    def _ticket_publishers(self) -> None:
        """CloudWatch alarms and AWS Budgets may publish to the ticket topic, for this account only
        (a topic policy replaces SNS's default one, so the account keeps managing the topic here)."""
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition

        def policy(topic_arn: str, account: str, partition_name: str) -> str:
            same_account = {"StringEquals": {"aws:SourceAccount": account}}
            return policy_json(
                [
                    {
                        "Sid": "AccountManages",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:{partition_name}:iam::{account}:root"},
                        "Action": TOPIC_OWNER_ACTIONS,
                        "Resource": topic_arn,
                    },
                    *(
                        {
                            "Sid": sid,
                            "Effect": "Allow",
                            "Principal": {"Service": service},
                            "Action": "sns:Publish",
                            "Resource": topic_arn,
                            "Condition": same_account,
                        }
                        for sid, service in (
                            ("AlarmsPublish", "cloudwatch.amazonaws.com"),
                            ("BudgetsPublish", "budgets.amazonaws.com"),
                        )
                    ),
                ]
            )

        aws.sns.TopicPolicy(
            f"{self._name}-ticket",
            arn=self.ticket_topic.arn,
            policy=pulumi.Output.all(self.ticket_topic.arn, identity.account_id, partition).apply(lambda a: policy(*a)),
            opts=child(self),
        )

    def _route(self) -> None:
        """Tickets go to the team's e-mail; pages to the on-call tool."""
        args = self._args
        aws.sns.TopicSubscription(
            f"{self._name}-ticket-email",
            topic=self.ticket_topic.arn,
            protocol="email",
            endpoint=args.owner_email,
            opts=child(self),
        )
        if args.oncall in INTEGRATION_URLS and args.oncall_credential is not None:
            url = pulumi.Output.secret(args.oncall_credential).apply(
                lambda key: INTEGRATION_URLS[args.oncall].format(key=key)
            )
            aws.sns.TopicSubscription(
                f"{self._name}-page-{args.oncall}",
                topic=self.page_topic.arn,
                protocol="https",
                endpoint=url,
                endpoint_auto_confirms=True,
                opts=child(self),
            )
        elif args.oncall == OncallTool.SLACK and args.slack_team_id and args.slack_channel_id:
            self._chatbot()
        else:
            aws.sns.TopicSubscription(
                f"{self._name}-page-email",
                topic=self.page_topic.arn,
                protocol="email",
                endpoint=args.owner_email,
                opts=child(self),
            )

    def _chatbot(self) -> None:
        args = self._args
        role = aws.iam.Role(
            f"{self._name}-chatbot",
            assume_role_policy=service_trust("chatbot.amazonaws.com"),
            tags=dict(args.tags),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{self._name}-chatbot-read",
            role=role.id,
            policy=policy_json(
                [{"Effect": "Allow", "Action": ["cloudwatch:Describe*", "cloudwatch:Get*"], "Resource": "*"}]
            ),
            opts=child(self),
        )
        aws.chatbot.SlackChannelConfiguration(
            f"{self._name}-slack",
            configuration_name=f"{args.name}-page",
            iam_role_arn=role.arn,
            slack_team_id=args.slack_team_id,
            slack_channel_id=args.slack_channel_id,
            sns_topic_arns=[self.page_topic.arn],
            tags=dict(args.tags),
            opts=child(self),
        )

    def _actions(self, severity: str) -> list[pulumi.Output[str]]:
        pages = severity == Severity.CRITICAL and self._args.plan.monitoring.pages
        return [(self.page_topic if pages else self.ticket_topic).arn]

    # -- alarms --------------------------------------------------------------------------

    def _api_metric(
        self, query_id: str, metric: str, stat: str, period: int
    ) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query_id,
            return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace="AWS/ApiGateway",
                metric_name=metric,
                dimensions={"ApiId": self._args.api_id, "Stage": self._args.stage},
                period=period,
                stat=stat,
            ),
        )

    def _ratio_queries(self, slo: str, period: int) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
        """The SLI's bad-request ratio over one period; 0 without traffic, never missing data."""
        if slo == "availability":
            queries = [
                self._api_metric("bad", "5xx", "Sum", period),
                self._api_metric("total", "Count", "Sum", period),
            ]
            expression = "IF(FILL(total, 0) > 0, FILL(bad, 0) / total, 0)"
        else:
            latency_ms = round(self._args.plan.rollout.max_latency_p99_seconds * 1000)
            queries = [
                self._api_metric("fast", "Latency", f"PR(:{latency_ms})", period),
                self._api_metric("total", "Count", "Sum", period),
            ]
            expression = "IF(FILL(total, 0) > 0, (100 - FILL(fast, 100)) / 100, 0)"
        return [
            *queries,
            aws.cloudwatch.MetricAlarmMetricQueryArgs(id="ratio", expression=expression, return_data=True),
        ]

    def _window_alarm(
        self, alert: Mapping[str, Any], row: Mapping[str, Any], window: str
    ) -> aws.cloudwatch.MetricAlarm:
        period = min(duration_seconds(window), MAX_PERIOD_SECONDS)
        key = f"{alert['name']}-{row['name']}-{window}"
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{key}",
            name=f"{self._args.name}-{key}",
            alarm_description=(
                f"{alert['slo']} bad-request ratio over {window} above {row['threshold']} "
                f"({row['burn_rate']}x the error budget); part of {alert['name']}"
            ),
            comparison_operator="GreaterThanThreshold",
            threshold=row["threshold"],
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            metric_queries=self._ratio_queries(alert["slo"], period),
            tags=merge_tags(self._args.tags, alert=alert["name"]),
            opts=child(self),
        )
        self.alarms[key] = alarm
        return alarm

    def _burn_alert(self, alert: Mapping[str, Any]) -> None:
        clauses = []
        for row in alert["windows"]:
            long = self._window_alarm(alert, row, row["long_window"])
            short = self._window_alarm(alert, row, row["short_window"])
            clauses.append(pulumi.Output.format('(ALARM("{0}") AND ALARM("{1}"))', long.name, short.name))
            if alert["severity"] == Severity.CRITICAL:
                self.rollback_alarm_arns.append(short.arn)
        self.alerts[alert["name"]] = aws.cloudwatch.CompositeAlarm(
            f"{self._name}-{alert['name']}",
            alarm_name=f"{self._args.name}-{alert['name']}",
            alarm_description=f"{alert['summary']}. {alert['description']} Runbook: {alert['runbook_url']}",
            alarm_rule=pulumi.Output.all(*clauses).apply(" OR ".join),
            alarm_actions=self._actions(alert["severity"]),
            ok_actions=self._actions(alert["severity"]),
            tags=merge_tags(self._args.tags, severity=alert["severity"]),
            opts=child(self),
        )

    def _function_alert(self, alert: Mapping[str, Any]) -> None:
        """FunctionThrottled: throttles in 5 consecutive minutes; FunctionConcurrencySaturation:
        concurrent executions over the catalogue's share of reserved concurrency."""
        args = self._args
        function = args.plan.function
        if alert["name"] == "FunctionThrottled":
            metric, stat, threshold, periods = "Throttles", "Sum", 0.0, 5
        elif alert["name"] == "FunctionConcurrencySaturation":
            from .reliability.alerts import LAMBDA_CONCURRENCY_RATIO

            metric, stat, periods = "ConcurrentExecutions", "Maximum", 5
            threshold = float(function.reserved_concurrency) * LAMBDA_CONCURRENCY_RATIO
        else:
            raise ValueError(f"catalogue: no CloudWatch alarm is defined for {alert['name']}")
        self.alerts[alert["name"]] = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{alert['name']}",
            name=f"{args.name}-{alert['name']}",
            alarm_description=f"{alert['summary']}. {alert['description']} Runbook: {alert['runbook_url']}",
            namespace="AWS/Lambda",
            metric_name=metric,
            dimensions={"FunctionName": args.function_name},
            statistic=stat,
            period=60,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator="GreaterThanThreshold",
            threshold=threshold,
            treat_missing_data="notBreaching",
            alarm_actions=self._actions(alert["severity"]),
            ok_actions=self._actions(alert["severity"]),
            tags=merge_tags(args.tags, severity=alert["severity"]),
            opts=child(self),
        )

    # -- dashboard -----------------------------------------------------------------------

    def _dashboard(self, region: pulumi.Output[str]) -> aws.cloudwatch.Dashboard:
        args = self._args

        def body(values: list[Any]) -> str:
            import json

            region_name, api_id, stage, function_name, *alert_arns = values
            api = ["AWS/ApiGateway", "Count", "ApiId", api_id, "Stage", stage]
            widgets = [
                _widget("Requests and 5xx", region_name, [api, ["...", "5xx", ".", ".", ".", "."]], 0),
                _widget(
                    "Latency p50 / p99 (ms)",
                    region_name,
                    [
                        ["AWS/ApiGateway", "Latency", "ApiId", api_id, "Stage", stage, {"stat": "p50"}],
                        ["...", {"stat": "p99"}],
                    ],
                    12,
                ),
                _widget(
                    "Function errors, throttles, concurrency",
                    region_name,
                    [
                        ["AWS/Lambda", "Errors", "FunctionName", function_name],
                        ["...", "Throttles", ".", "."],
                        ["...", "ConcurrentExecutions", ".", ".", {"stat": "Maximum"}],
                    ],
                    24,
                ),
                {
                    "type": "alarm",
                    "x": 0,
                    "y": 36,
                    "width": 24,
                    "height": 6,
                    "properties": {"title": "SLO alerts", "alarms": alert_arns},
                },
            ]
            return json.dumps({"widgets": widgets})

        return aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=f"{args.name}-slo",
            dashboard_body=pulumi.Output.all(
                region, args.api_id, args.stage, args.function_name, *(a.arn for a in self.alerts.values())
            ).apply(body),
            opts=child(self),
        )


def _widget(title: str, region: str, metrics: list[list[Any]], y: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": 0,
        "y": y,
        "width": 24,
        "height": 12,
        "properties": {"title": title, "region": region, "metrics": metrics, "stat": "Sum", "period": 300},
    }
