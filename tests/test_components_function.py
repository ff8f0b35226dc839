"""ServerlessFunction under Pulumi mocks: what it creates for every SLA tier and environment."""

from __future__ import annotations

import dataclasses
import json

import pulumi
import pytest

from pulumi_components import (
    ApiDomain,
    ComponentArgsError,
    ServerlessFunction,
    ServerlessFunctionArgs,
    VpcPlacement,
)
from pulumi_components.guardrails import Context, check_resources
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.answers import SLA_CHOICES
from pulumi_components.testing import resolve, run_with_mocks

FUNCTION = "aws:lambda/function:Function"


def env_plan(sla: float, env: str, database: str = "none"):
    answers = Answers(
        project_name="Pay",
        service_slug="pay",
        team="core",
        owner_email="core@example.com",
        platform="aws-lambda",
        database=database,
        sla=sla,
    )
    return plan_service(answers).environments[env]


def build(plan, in_vpc=False, runtime="python3.13", domain=None, **function_overrides):
    made = {}
    function_plan = dataclasses.replace(plan.function, **function_overrides)

    def program():
        made["fn"] = ServerlessFunction(
            "pay",
            ServerlessFunctionArgs(
                name="pay-env",
                region="us-east-1",
                plan=function_plan,
                code=pulumi.AssetArchive({"handler.py": pulumi.StringAsset("def handle(e, c): return {}")}),
                handler="handler.handle",
                runtime=runtime,
                log_retention_days=plan.log_retention_days,
                environment={"SERVICE": "pay", "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:db"},
                vpc=VpcPlacement("vpc-1", ["subnet-a", "subnet-b"], "10.30.0.0/16") if in_vpc else None,
                secret_arns=["arn:aws:secretsmanager:us-east-1:1:secret:db"] if in_vpc else [],
                domain=domain,
                tags=plan.tags,
            ),
        )

    return run_with_mocks(program), made["fn"]


@pytest.mark.parametrize("sla", SLA_CHOICES)
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_function_follows_the_plan(sla, env):
    plan = env_plan(sla, env)
    run, fn = build(plan)
    (function,) = run.of_type(FUNCTION)
    assert function.inputs["reservedConcurrentExecutions"] == plan.function.reserved_concurrency
    assert function.inputs["memorySize"] == plan.function.memory_mb
    assert function.inputs["timeout"] == plan.function.timeout_seconds
    warm = run.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert [w.inputs["provisionedConcurrentExecutions"] for w in warm] == (
        [plan.function.provisioned_concurrency] if plan.function.provisioned_concurrency else []
    )
    (stage,) = run.of_type("aws:apigatewayv2/stage:Stage")
    route = stage.inputs["defaultRouteSettings"]
    assert route["throttlingRateLimit"] == plan.function.api_throttle_rate
    assert route["throttlingBurstLimit"] == plan.function.api_throttle_burst
    assert {g.inputs["retentionInDays"] for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")} == {
        plan.log_retention_days
    }
    violations = check_resources(run.resources, Context.from_plan(plan))
    assert not violations, "\n".join(map(str, violations))


def test_secure_and_observable_defaults():
    run, fn = build(env_plan(99.9, "prod"))
    (function,) = run.of_type(FUNCTION)
    assert function.inputs["tracingConfig"] == {"mode": "Active"}
    assert function.inputs["kmsKeyArn"].endswith("/pay-env-fn")
    assert function.inputs["deadLetterConfig"]["targetArn"].endswith("/pay-dlq")
    assert function.inputs["publish"] is True
    assert "vpcConfig" not in function.inputs
    (queue,) = run.of_type("aws:sqs/queue:Queue")
    assert queue.inputs["kmsMasterKeyId"].endswith("/pay-env-fn")
    (stage,) = run.of_type("aws:apigatewayv2/stage:Stage")
    assert stage.inputs["accessLogSettings"]["destinationArn"].endswith("/pay-api-logs")
    assert "$context.status" in stage.inputs["accessLogSettings"]["format"]


def test_the_api_invokes_the_live_alias():
    run, fn = build(env_plan(99.9, "prod"))
    (alias,) = run.of_type("aws:lambda/alias:Alias")
    assert alias.inputs["name"] == "live" and alias.inputs["functionVersion"] == "1"
    (integration,) = run.of_type("aws:apigatewayv2/integration:Integration")
    assert integration.inputs["integrationUri"].endswith(":function:pay-env:live/invocations")
    (permission,) = run.of_type("aws:lambda/permission:Permission")
    assert permission.inputs["qualifier"] == "live"
    assert permission.inputs["sourceArn"].endswith("/*/*")
    assert resolve(fn.api_url).startswith("https://")


def test_on_a_custom_domain_the_api_serves_it_alone_at_tls_1_2():
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/pay"
    run, fn = build(env_plan(99.9, "prod"), domain=ApiDomain(hostname="pay.acme.io", certificate_arn=certificate))
    (api,) = run.of_type("aws:apigatewayv2/api:Api")
    assert api.inputs["disableExecuteApiEndpoint"] is True  # one way in: the team's name
    (domain,) = run.of_type("aws:apigatewayv2/domainName:DomainName")
    assert domain.inputs["domainName"] == "pay.acme.io"
    assert domain.inputs["domainNameConfiguration"] == {
        "certificateArn": certificate,
        "endpointType": "REGIONAL",
        "securityPolicy": "TLS_1_2",
    }
    (mapping,) = run.of_type("aws:apigatewayv2/apiMapping:ApiMapping")
    assert (mapping.inputs["domainName"], mapping.inputs["stage"]) == ("pay.acme.io", "$default")
    assert fn.url == "https://pay.acme.io"
    assert resolve(fn.api_domain.domain_name_configuration.target_domain_name).endswith(
        ".execute-api.us-east-1.amazonaws.com"
    )


def test_without_a_custom_domain_the_execute_api_endpoint_stays_on():
    run, fn = build(env_plan(99.9, "prod"))
    (api,) = run.of_type("aws:apigatewayv2/api:Api")
    assert api.inputs.get("disableExecuteApiEndpoint") is False
    assert not run.of_type("aws:apigatewayv2/domainName:DomainName") and fn.api_domain is None


def test_the_role_grants_only_what_the_function_uses():
    run, _ = build(env_plan(99.9, "prod"), in_vpc=True)
    (policy,) = run.of_type("aws:iam/rolePolicy:RolePolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert set(statements) == {"OwnLogs", "Traces", "OwnKey", "DeadLetters", "DatabaseSecret", "VpcInterfaces"}
    assert statements["DatabaseSecret"]["Resource"] == ["arn:aws:secretsmanager:us-east-1:1:secret:db"]
    wildcard = [sid for sid, s in statements.items() if s["Resource"] == "*"]
    assert sorted(wildcard) == ["Traces", "VpcInterfaces"]  # services that accept no narrower resource


def test_in_a_vpc_it_reaches_only_https_and_the_database():
    run, _ = build(env_plan(99.9, "prod", database="postgres"), in_vpc=True)
    (function,) = run.of_type(FUNCTION)
    assert function.inputs["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b"]
    egress = {
        (r.inputs["fromPort"], r.inputs["cidrIpv4"])
        for r in run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    }
    assert egress == {(443, "0.0.0.0/0"), (5432, "10.30.0.0/16")}
    assert not run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"timeout_seconds": 60}, r"function\.timeout_seconds must be 1 to 29"),
        ({"memory_mb": 64}, r"function\.memory_mb"),
        ({"reserved_concurrency": 0}, r"function\.reserved_concurrency"),
        ({"provisioned_concurrency": 900}, r"function\.provisioned_concurrency"),
        ({"api_throttle_rate": 0}, r"function\.api_throttle_rate"),
        ({"runtime": "python2.7"}, r"function\.runtime"),
    ],
)
def test_bad_function_config_names_the_key(override, message):
    with pytest.raises(ComponentArgsError, match=message):
        build(env_plan(99.9, "prod"), **override)


def test_releases_own_the_alias_after_creation():
    ignored = {}

    def record(args: pulumi.ResourceTransformationArgs):
        if args.type_ == "aws:lambda/alias:Alias":
            ignored[args.name] = list(args.opts.ignore_changes or [])

    def program():
        pulumi.runtime.register_stack_transformation(record)
        plan = env_plan(99.9, "prod")
        ServerlessFunction(
            "pay",
            ServerlessFunctionArgs(
                name="pay-env",
                region="us-east-1",
                plan=plan.function,
                code=pulumi.AssetArchive({}),
                handler="handler.handle",
                log_retention_days=plan.log_retention_days,
                tags=plan.tags,
            ),
        )

    run_with_mocks(program)
    # `pulumi up` publishes versions; only a traffic-shifting deployment moves `live`.
    assert ignored == {"pay-live": ["functionVersion", "routingConfig"]}


def test_secret_keys_come_with_the_secrets_they_encrypt():
    plan = env_plan(99.9, "prod")
    with pytest.raises(ComponentArgsError, match=r"secret_key_arns: keys given for no secret"):
        ServerlessFunctionArgs(
            name="pay-env",
            region="us-east-1",
            plan=plan.function,
            code=pulumi.AssetArchive({}),
            handler="handler.handle",
            log_retention_days=plan.log_retention_days,
            secret_key_arns=["arn:aws:kms:us-east-1:1:key/k"],
        ).validate()
