"""Customer-managed KMS keys: rotation on, a policy that names who may use them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from ._base import child, policy_json


def kms_key(
    name: str,
    *,
    description: str,
    parent: pulumi.Resource,
    tags: Mapping[str, str],
    service_principals: Sequence[str] = (),
    provider: pulumi.ProviderResource | None = None,
) -> aws.kms.Key:
    """A rotating key administered by the account, usable by the given AWS services
    (for example `logs.us-east-1.amazonaws.com` for encrypted log groups). `provider`
    places the key in another region (keys are regional)."""
    invoke = pulumi.InvokeOutputOptions(parent=parent, provider=provider)
    identity = aws.get_caller_identity_output(opts=invoke)
    partition = aws.get_partition_output(opts=invoke)

    def policy(account_id: str, partition_name: str) -> str:
        statements = [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition_name}:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        if service_principals:
            statements.append(
                {
                    "Sid": "ServicesEncrypt",
                    "Effect": "Allow",
                    "Principal": {"Service": list(service_principals)},
                    "Action": [
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            )
        return policy_json(statements)

    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=pulumi.Output.all(identity.account_id, partition.partition).apply(lambda a: policy(*a)),
        tags=dict(tags),
        opts=child(parent, provider=provider),
    )
    aws.kms.Alias(
        f"{name}-alias", name=f"alias/{name}", target_key_id=key.key_id, opts=child(parent, provider=provider)
    )
    return key


def secret_decrypt_statement(key_arns: Sequence[str], secret_arns: Sequence[str], region: str) -> dict:
    """The IAM statement a reader of Secrets Manager secrets needs when they are encrypted with
    customer-managed keys: GetSecretValue makes Secrets Manager call kms:Decrypt as the caller.
    Narrowed as the Secrets Manager guide documents: only through Secrets Manager in `region`,
    and only for these secrets (each secret's ARN is its encryption context)."""
    return {
        "Sid": "DecryptSecrets",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": list(key_arns),
        "Condition": {
            "StringEquals": {
                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                "kms:EncryptionContext:SecretARN": list(secret_arns),
            }
        },
    }
