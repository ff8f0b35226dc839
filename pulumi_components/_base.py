"""What every Groundwork component shares: its type token, naming, tags and arg checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi

PACKAGE = "groundwork"


class ComponentArgsError(ValueError):
    """Component arguments that cannot be built; raised before any resource exists."""


def type_token(name: str) -> str:
    # `<package>:index:<Name>` is the only module name Pulumi's component-provider
    # host accepts, so these components can later be served to other languages.
    return f"{PACKAGE}:index:{name}"


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ComponentArgsError(message)


def merge_tags(tags: Mapping[str, str], **extra: str) -> dict[str, str]:
    """The shared tags plus resource-specific ones (a Name, a Kubernetes role)."""
    return {**tags, **extra}


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a child resource: always parented, so it inherits providers and aliases."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def policy_json(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def service_trust(service: str) -> str:
    """Trust policy of a role that only the AWS service `service` (for example
    `lambda.amazonaws.com`) may assume."""
    return policy_json([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}])


def web_identity_trust(provider_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    """Trust policy of an IRSA role: only `namespace/service_account` of the cluster whose OIDC
    `issuer` (host and path, no scheme) is registered as `provider_arn` may assume it."""
    return policy_json(
        [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ]
    )


# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
