"""Build KubernetesService under Pulumi mocks for any answers, and read back the
Kubernetes objects it registered as plain manifests."""

from __future__ import annotations

from typing import Any

from pulumi_components.kubernetes_service import (
    DatabaseConnection,
    KubernetesService,
    KubernetesServiceArgs,
    PublicIngress,
)
from pulumi_components.lambda_deployment import LambdaDeploymentArgs
from pulumi_components.reliability import Answers, plan_service
from pulumi_components.testing import CapturedResource, ProgramRun, run_with_mocks

CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0123-4567"
WEB_ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/example-prod-edge/0123-4567"
EDGE = PublicIngress(
    hostname="example.example.com",
    certificate_arn=CERTIFICATE_ARN,
    web_acl_arn=WEB_ACL_ARN,
    access_log_bucket="example-prod-alb-logs-0001",
    access_log_prefix="example",
)
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/example@sha256:" + "ab" * 32
OIDC_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
OIDC_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:example-app-AbCdEf"
DB_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-AbCdEf"
DB_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def service_plan(env: str = "prod", **answers: Any):
    base = {"project_name": "Example", "service_slug": "example", "team": "platform", "owner_email": "p@example.com"}
    return plan_service(Answers.from_mapping({**base, **answers})).environments[env]


def service_args(plan, *, database: bool = True, **overrides: Any) -> KubernetesServiceArgs:
    values: dict[str, Any] = {
        "name": "example",
        "image": IMAGE,
        "plan": plan,
        "region": "us-east-1",
        "oidc_provider_arn": OIDC_ARN,
        "oidc_issuer": OIDC_ISSUER,
        "ingress_cidrs": [plan.network.cidr],
        "edge": EDGE,
        "config": {"LOG_LEVEL": "info"},
        "secret_arns": [SECRET_ARN],
        "database": DatabaseConnection(
            host="example.cluster-abc.us-east-1.rds.amazonaws.com",
            secret_arn=DB_SECRET_ARN,
            secret_key_arn=DB_KEY_ARN,
            cidrs=[plan.network.cidr],
        )
        if database
        else None,
        "tags": plan.tags,
    }
    return KubernetesServiceArgs(**{**values, **overrides})


def run_service(args: KubernetesServiceArgs) -> ProgramRun:
    return run_with_mocks(lambda: KubernetesService("example", args))


def is_kubernetes(resource: CapturedResource) -> bool:
    return resource.type.startswith("kubernetes:")


def _whole_numbers(value: Any) -> Any:
    # The mock monitor receives numbers as protobuf doubles: 80 arrives as 80.0.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def manifest(resource: CapturedResource) -> dict[str, Any]:
    """The object as it would be sent to the API server."""
    group_version, kind = resource.type.split(":", 1)[1].rsplit(":", 1)
    body = {key: value for key, value in resource.inputs.items() if key not in ("apiVersion", "kind")}
    return {
        "apiVersion": resource.inputs.get("apiVersion", group_version.removeprefix("core/")),
        "kind": resource.inputs.get("kind", kind),
        **_whole_numbers(body),
    }


def manifests(run: ProgramRun) -> list[dict[str, Any]]:
    return [manifest(r) for r in run.resources if is_kubernetes(r)]


def objects_of_kind(run: ProgramRun, kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests(run) if m["kind"] == kind]


def lambda_release_args(strategy: str, sla: float = 99.9, **overrides: Any) -> LambdaDeploymentArgs:
    """The LambdaDeployment args a prod stack of `example` gets for this strategy and SLA."""
    plan = service_plan("prod", platform="aws-lambda", deployment_strategy=strategy, sla=sla)
    values = dict(
        name="example-prod",
        function_name="example-prod",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:example-prod",
        alias_name="live",
        rollout=plan.rollout,
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        dead_letter_queue_arn="arn:aws:sqs:us-east-1:123456789012:example-prod-dlq",
        log_retention_days=plan.log_retention_days,
        tags=plan.tags,
    )
    return LambdaDeploymentArgs(**{**values, **overrides})
