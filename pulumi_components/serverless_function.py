"""ServerlessFunction: a Lambda function behind an HTTP API, sized by the plan.

The function runs with a role that may write its own logs and traces, decrypt
with its own key and send to its own dead-letter queue, nothing more (plus
network interfaces when it joins the VPC to reach a database). Every deploy
publishes a version; the `live` alias points at the one serving traffic, so a
traffic-shifting deployment moves the alias and a rollback moves it back. The
HTTP API invokes the alias, logs every request and throttles at the plan's
rate. Given a custom domain, the API serves it (TLS 1.2 at least, with an issued
certificate) and its default execute-api endpoint is disabled, so every client
comes through the one name the team controls. API Gateway serves HTTPS only:
nothing listens on port 80, so plain HTTP is refused rather than redirected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ._base import LOG_RETENTION_DAYS, child, merge_tags, policy_json, require, service_trust, type_token
from .kms import kms_key, secret_decrypt_statement
from .reliability.plan import FunctionPlan

ALIAS = "live"
RUNTIMES = ("python3.12", "python3.13")
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
    }
)


@dataclass
class VpcPlacement:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    cidr: str  # the VPC's range: the function may reach it on the database port only
    database_port: int = 5432


@dataclass
class ApiDomain:
    """The HTTP API's public name and its issued ACM certificate (see PublicEndpoint)."""

    hostname: str
    certificate_arn: pulumi.Input[str]


@dataclass
class ServerlessFunctionArgs:
    name: str  # the function name, e.g. "payments-prod"
    region: str
    plan: FunctionPlan
    code: pulumi.Archive
    handler: str
    log_retention_days: int
    runtime: str = "python3.13"
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # no secrets: pass ARNs
    vpc: VpcPlacement | None = None  # set when the function uses a database in the VPC
    secret_arns: Sequence[pulumi.Input[str]] = ()  # secrets the function may read (the database's)
    # The customer-managed keys those secrets are encrypted with; reading a secret decrypts it.
    secret_key_arns: Sequence[pulumi.Input[str]] = ()
    domain: ApiDomain | None = None  # serve the API on this name only (execute-api endpoint off)
    tags: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        plan = self.plan
        require(128 <= plan.memory_mb <= 10240, f"function.memory_mb must be 128 to 10240; got {plan.memory_mb}")
        require(
            1 <= plan.timeout_seconds <= 29,
            f"function.timeout_seconds must be 1 to 29 (the HTTP API's limit); got {plan.timeout_seconds}",
        )
        require(
            plan.reserved_concurrency >= 1,
            f"function.reserved_concurrency must be at least 1; got {plan.reserved_concurrency}",
        )
        require(
            0 <= plan.provisioned_concurrency <= plan.reserved_concurrency,
            f"function.provisioned_concurrency must be 0 to reserved_concurrency; got {plan.provisioned_concurrency}",
        )
        require(
            0 < plan.api_throttle_rate <= plan.api_throttle_burst,
            f"function.api_throttle_rate and api_throttle_burst must satisfy 0 < rate <= burst; "
            f"got {plan.api_throttle_rate} and {plan.api_throttle_burst}",
        )
        require(
            self.runtime in RUNTIMES, f"function.runtime must be one of {', '.join(RUNTIMES)}; got {self.runtime!r}"
        )
        require(
            self.log_retention_days in LOG_RETENTION_DAYS,
            f"log_retention_days must be one of {LOG_RETENTION_DAYS}; got {self.log_retention_days}",
        )
        if self.vpc is not None:
            require(len(self.vpc.subnet_ids) >= 2, "network.az_count: a function in a VPC needs two AZs")
        require(
            not self.secret_key_arns or bool(self.secret_arns),
            "secret_key_arns: keys given for no secret; pass the secret_arns they encrypt",
        )


class ServerlessFunction(pulumi.ComponentResource):
    """Exposes `function`, `alias` (the `live` alias traffic shifting moves),
    `api` and `api_url` (the stage's execute-api URL), `url` (the custom domain's when given)
    and `api_domain`, `security_group` (in a VPC), `dead_letter_queue`,
    `role` and `log_group`."""

    function: aws.lambda_.Function
    alias: aws.lambda_.Alias
    api: aws.apigatewayv2.Api
    api_url: pulumi.Output[str]
    security_group: aws.ec2.SecurityGroup | None

    def __init__(self, name: str, args: ServerlessFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(type_token("ServerlessFunction"), name, None, opts)
        plan, tags = args.plan, args.tags

        self.key = kms_key(
            f"{args.name}-fn",
            description=f"Encrypts the environment, logs and dead letters of {args.name}",
            parent=self,
            tags=tags,
            service_principals=[f"logs.{args.region}.amazonaws.com"],
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{args.name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=self.key.arn,
            tags=tags,
            opts=child(self),
        )
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            name=f"{args.name}-dlq",
            kms_master_key_id=self.key.arn,
            message_retention_seconds=14 * 24 * 3600,
            tags=tags,
            opts=child(self),
        )
        self.security_group = self._security_group(name, args) if args.vpc else None
        self.role = self._role(name, args)

        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=args.name,
            role=self.role.arn,
            runtime=args.runtime,
            handler=args.handler,
            code=args.code,
            architectures=["arm64"],
            memory_size=plan.memory_mb,
            timeout=plan.timeout_seconds,
            reserved_concurrent_executions=plan.reserved_concurrency,
            publish=True,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            kms_key_arn=self.key.arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment)),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=self.dead_letter_queue.arn),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            vpc_config=(
                aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=list(args.vpc.subnet_ids), security_group_ids=[self.security_group.id]
                )
                if args.vpc
                else None
            ),
            tags=tags,
            opts=child(self, depends_on=[self.log_group]),
        )
        self.alias = aws.lambda_.Alias(
            f"{name}-live",
            name=ALIAS,
            function_name=self.function.name,
            function_version=self.function.version,
            description="The version serving traffic; deployments shift it",
            # Created on the first published version; from then on a release's traffic-shifting
            # deployment moves it (and moves it back on a rollback), never `pulumi up`.
            opts=child(self, ignore_changes=["functionVersion", "routingConfig"]),
        )
        if plan.provisioned_concurrency:
            aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-warm",
                function_name=self.function.name,
                qualifier=self.alias.name,
                provisioned_concurrent_executions=plan.provisioned_concurrency,
                opts=child(self),
            )
        self._http_api(name, args)
        self.register_outputs(
            {
                "function_name": self.function.name,
                "alias_arn": self.alias.arn,
                "api_url": self.api_url,
                "dead_letter_queue_url": self.dead_letter_queue.url,
            }
        )

    def _security_group(self, name: str, args: ServerlessFunctionArgs) -> aws.ec2.SecurityGroup:
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=f"{args.name}-function",
            description=f"Function {args.name}: no ingress; AWS APIs over HTTPS and the database",
            vpc_id=args.vpc.vpc_id,
            tags=merge_tags(args.tags, Name=f"{args.name}-function"),
            opts=child(self),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-https",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="AWS APIs (Secrets Manager, X-Ray) through NAT",
            tags=args.tags,
            opts=child(self),
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-database",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=args.vpc.database_port,
            to_port=args.vpc.database_port,
            cidr_ipv4=args.vpc.cidr,
            description="The database inside the VPC",
            tags=args.tags,
            opts=child(self),
        )
        return group

    def _role(self, name: str, args: ServerlessFunctionArgs) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust("lambda.amazonaws.com"),
            tags=args.tags,
            opts=child(self),
        )
        in_vpc = args.vpc is not None

        def document(log_arn: str, key_arn: str, queue_arn: str, secret_arns: list[str], secret_keys: list[str]) -> str:
            statements = [
                {
                    "Sid": "OwnLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_arn}:*",
                },
                # X-Ray accepts no resource narrower than "*".
                {
                    "Sid": "Traces",
                    "Effect": "Allow",
                    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    "Resource": "*",
                },
                {
                    "Sid": "OwnKey",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": key_arn,
                },
                {"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn},
            ]
            if secret_arns:
                statements.append(
                    {
                        "Sid": "DatabaseSecret",
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": secret_arns,
                    }
                )
                if secret_keys:
                    statements.append(secret_decrypt_statement(secret_keys, secret_arns, args.region))
            if in_vpc:
                # Lambda manages its network interfaces; EC2 does not scope these to a resource.
                statements.append(
                    {
                        "Sid": "VpcInterfaces",
                        "Effect": "Allow",
                        "Action": [
                            "ec2:CreateNetworkInterface",
                            "ec2:DescribeNetworkInterfaces",
                            "ec2:DeleteNetworkInterface",
                            "ec2:AssignPrivateIpAddresses",
                            "ec2:UnassignPrivateIpAddresses",
                        ],
                        "Resource": "*",
                    }
                )
            return policy_json(statements)

        aws.iam.RolePolicy(
            f"{name}-permissions",
            role=role.id,
            policy=pulumi.Output.all(
                self.log_group.arn,
                self.key.arn,
                self.dead_letter_queue.arn,
                pulumi.Output.all(*args.secret_arns),
                pulumi.Output.all(*args.secret_key_arns),
            ).apply(lambda a: document(a[0], a[1], a[2], [s for s in a[3] if s], [k for k in a[4] if k])),
            opts=child(self),
        )
        return role

    def _http_api(self, name: str, args: ServerlessFunctionArgs) -> None:
        plan, tags = args.plan, args.tags
        self.api = aws.apigatewayv2.Api(
            f"{name}-api",
            name=args.name,
            protocol_type="HTTP",
            disable_execute_api_endpoint=args.domain is not None,
            tags=tags,
            opts=child(self),
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-api-logs",
            name=f"/aws/apigateway/{args.name}",
            retention_in_days=args.log_retention_days,
            kms_key_id=self.key.arn,
            tags=tags,
            opts=child(self),
        )
        integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=self.alias.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=min(30000, (plan.timeout_seconds + 1) * 1000),
            opts=child(self),
        )
        aws.apigatewayv2.Route(
            f"{name}-route",
            api_id=self.api.id,
            route_key="$default",
            target=integration.id.apply(lambda i: f"integrations/{i}"),
            opts=child(self),
        )
        stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=plan.api_throttle_rate,
                throttling_burst_limit=plan.api_throttle_burst,
                detailed_metrics_enabled=True,
            ),
            tags=tags,
            opts=child(self),
        )
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            qualifier=self.alias.name,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=child(self),
        )
        self.stage = stage
        self.api_url = stage.invoke_url
        self.api_domain = self._custom_domain(name, args) if args.domain else None
        self.url: pulumi.Input[str] = f"https://{args.domain.hostname}" if args.domain else stage.invoke_url

    def _custom_domain(self, name: str, args: ServerlessFunctionArgs) -> aws.apigatewayv2.DomainName:
        """The API on its own name; `domain_name_configuration` holds the regional target and
        zone its DNS alias points at."""
        domain = aws.apigatewayv2.DomainName(
            f"{name}-domain",
            domain_name=args.domain.hostname,
            domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                certificate_arn=args.domain.certificate_arn,
                endpoint_type="REGIONAL",
                security_policy="TLS_1_2",
            ),
            tags=args.tags,
            opts=child(self),
        )
        aws.apigatewayv2.ApiMapping(
            f"{name}-domain-mapping",
            api_id=self.api.id,
            domain_name=domain.domain_name,
            stage=self.stage.name,
            opts=child(self),
        )
        return domain
