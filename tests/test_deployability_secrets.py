"""secret-readers-decrypt: every principal that may read a secret may decrypt its key.

The negative cases build the defect the first real deploy met: the RDS-managed
master secret is encrypted with the database's own key, and the role External
Secrets reads it with (the pods' IRSA role), or the function's role, was given
secretsmanager:GetSecretValue but no kms:Decrypt on that key.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import pulumi
import pytest
from service_fixtures import run_service, service_args, service_plan

from pulumi_components import (
    Network,
    NetworkArgs,
    PostgresDatabase,
    PostgresDatabaseArgs,
    ServerlessFunction,
    ServerlessFunctionArgs,
    VpcPlacement,
)
from pulumi_components.deployability import StackView, check_stack
from pulumi_components.deployability.secrets import managed_secret_arn
from pulumi_components.kubernetes_service import DatabaseConnection, KubernetesService
from pulumi_components.testing import ACCOUNT_ID, CapturedResource, run_with_mocks

RULE = ["secret-readers-decrypt"]
KEY_ARN = f"arn:aws:mock:us-east-1:{ACCOUNT_ID}:key/app-secrets"
SECRET_ARN = f"arn:aws:mock:us-east-1:{ACCOUNT_ID}:secret/app-secret"
ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"


def findings(resources):
    return check_stack(StackView("svc", "prod", tuple(resources)), only=RULE)


def _database(plan):
    network = Network("svc", NetworkArgs(name="svc-prod", region="us-east-1", plan=plan.network, tags=plan.tags))
    return network, PostgresDatabase(
        "svc",
        PostgresDatabaseArgs(
            name="svc-prod",
            region="us-east-1",
            plan=plan.database,
            vpc_id=network.vpc.id,
            isolated_subnet_ids=network.subnet_ids["isolated"],
            log_retention_days=plan.log_retention_days,
            replica_network=None,
            tags=plan.tags,
        ),
    )


def eks_stack(pass_key: bool):
    """The database and the workload as the service program wires them; `pass_key=False` is the
    wiring before the fix: the secret's ARN without its key."""
    plan = service_plan("staging", platform="aws-eks", database="postgres")

    def program():
        _, database = _database(plan)
        connection = DatabaseConnection(
            host=database.address,
            secret_arn=database.secret_arn,
            secret_key_arn=database.secret_key_arn if pass_key else None,
            cidrs=[plan.network.cidr],
        )
        KubernetesService("svc", dataclasses.replace(service_args(plan, secret_arns=[]), database=connection))

    return run_with_mocks(program).resources


def lambda_stack(pass_key: bool):
    plan = service_plan("staging", platform="aws-lambda", database="postgres")

    def program():
        network, database = _database(plan)
        ServerlessFunction(
            "svc",
            ServerlessFunctionArgs(
                name="svc-staging",
                region="us-east-1",
                plan=plan.function,
                code=pulumi.AssetArchive({"handler.py": pulumi.StringAsset("def handle(e, c): return {}")}),
                handler="handler.handle",
                log_retention_days=plan.log_retention_days,
                vpc=VpcPlacement(network.vpc.id, network.subnet_ids["private"], plan.network.cidr),
                secret_arns=[database.secret_arn],
                secret_key_arns=[database.secret_key_arn] if pass_key else [],
                tags=plan.tags,
            ),
        )

    return run_with_mocks(program).resources


# --- the two readers the service program builds -----------------------------------------------


def test_the_workload_role_that_reads_the_database_secret_decrypts_it():
    assert not findings(eks_stack(pass_key=True))


def test_the_function_role_that_reads_the_database_secret_decrypts_it():
    assert not findings(lambda_stack(pass_key=True))


@pytest.mark.parametrize(("build", "role"), [(eks_stack, "svc-irsa"), (lambda_stack, "svc-role")])
def test_a_reader_without_the_key_is_reported(build, role):
    # The wiring before the fix: GetSecretValue on the RDS master secret, nothing on its key.
    (finding,) = findings(build(pass_key=False))
    assert finding.subject == f"aws:iam/role:Role {role}"
    assert "aws:rds/instance:Instance svc-instance (managed master secret)" in finding.message
    assert "aws:kms/key:Key svc-prod-db" in finding.message
    assert "none of its policies allows kms:Decrypt" in finding.message


def test_the_grant_is_narrowed_to_secrets_manager_and_that_secret():
    resources = eks_stack(pass_key=True)
    (policy,) = [r for r in resources if r.name == "svc-irsa-secrets"]
    (decrypt,) = [s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Sid"] == "DecryptSecrets"]
    (instance,) = [r for r in resources if r.type == "aws:rds/instance:Instance"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Resource"] == [instance.inputs["masterUserSecretKmsKeyId"]]
    assert decrypt["Condition"]["StringEquals"] == {
        "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
        "kms:EncryptionContext:SecretARN": [managed_secret_arn(instance)],
    }


# --- the rule in general: any secret, any reader, policies however attached ----------------------


def key(policy_principal=ROOT, **extra):
    statement = {"Effect": "Allow", "Principal": {"AWS": policy_principal}, "Action": "kms:*", "Resource": "*"}
    return CapturedResource(
        "aws:kms/key:Key", "app-secrets", {"policy": json.dumps({"Statement": [statement]}), **extra}
    )


def secret(kms_key_id=KEY_ARN):
    return CapturedResource("aws:secretsmanager/secret:Secret", "app-secret", {"kmsKeyId": kms_key_id})


def role():
    return CapturedResource("aws:iam/role:Role", "reader", {"assumeRolePolicy": "{}"})


def managed_policy(*statements):
    """A customer-managed policy attached to the role (aws:iam/policy + rolePolicyAttachment)."""
    return [
        CapturedResource("aws:iam/policy:Policy", "reader-policy", {"policy": json.dumps({"Statement": statements})}),
        CapturedResource(
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "reader-attach",
            {"role": "reader", "policyArn": f"arn:aws:mock:us-east-1:{ACCOUNT_ID}:policy/reader-policy"},
        ),
    ]


READ = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET_ARN}
DECRYPT = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN}


def test_an_attached_policy_that_reads_but_cannot_decrypt_is_reported():
    (finding,) = findings([key(), secret(), role(), *managed_policy(READ)])
    assert finding.subject == "aws:iam/role:Role reader"
    assert "aws:secretsmanager/secret:Secret app-secret" in finding.message


def test_an_attached_policy_that_reads_and_decrypts_passes():
    assert not findings([key(), secret(), role(), *managed_policy(READ, DECRYPT)])


def test_inline_policies_on_the_role_count_too():
    inline = CapturedResource(
        "aws:iam/role:Role",
        "reader",
        {"inlinePolicies": [{"name": "read", "policy": json.dumps({"Statement": [READ, DECRYPT]})}]},
    )
    assert not findings([key(), secret(), inline])
    read_only = {"inlinePolicies": [{"name": "read", "policy": json.dumps({"Statement": [READ]})}]}
    assert findings([key(), secret(), CapturedResource(inline.type, "reader", read_only)])


def test_a_key_policy_that_neither_names_the_role_nor_delegates_to_the_account_is_reported():
    other = f"arn:aws:iam::{ACCOUNT_ID}:role/someone-else"
    (finding,) = findings([key(policy_principal=other), secret(), role(), *managed_policy(READ, DECRYPT)])
    assert "key policy neither names this role" in finding.message


def test_a_key_policy_that_names_the_role_is_enough():
    named = f"arn:aws:iam::{ACCOUNT_ID}:role/reader"
    assert not findings([key(policy_principal=named), secret(), role(), *managed_policy(READ, DECRYPT)])


def test_a_decrypt_grant_limited_to_another_service_does_not_count():
    via_s3 = {**DECRYPT, "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
    assert findings([key(), secret(), role(), *managed_policy(READ, via_s3)])
    via_secrets = {**DECRYPT, "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}}
    assert not findings([key(), secret(), role(), *managed_policy(READ, via_secrets)])


def test_a_decrypt_grant_for_another_secret_does_not_count():
    other = {**DECRYPT, "Condition": {"StringEquals": {"kms:EncryptionContext:SecretARN": SECRET_ARN + "-other"}}}
    assert findings([key(), secret(), role(), *managed_policy(READ, other)])


def test_a_deny_overrides_the_grant():
    deny = {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}
    assert findings([key(), secret(), role(), *managed_policy(READ, DECRYPT, deny)])


def test_secrets_under_the_aws_managed_key_need_no_grant():
    for kms_key_id in ("", "alias/aws/secretsmanager"):
        assert not findings([secret(kms_key_id), role(), *managed_policy(READ)])


def test_a_key_named_by_its_alias_is_found():
    alias = CapturedResource("aws:kms/alias:Alias", "app-alias", {"name": "alias/app", "targetKeyId": KEY_ARN})
    other = f"arn:aws:iam::{ACCOUNT_ID}:role/someone-else"
    resources = [key(policy_principal=other), alias, secret("alias/app"), role(), *managed_policy(READ, DECRYPT)]
    (finding,) = findings(resources)
    assert "key policy" in finding.message


def test_a_role_that_reads_no_secret_is_not_judged():
    other_secret = {**READ, "Resource": f"arn:aws:mock:us-east-1:{ACCOUNT_ID}:secret/unrelated"}
    assert not findings([key(), secret(), role(), *managed_policy(other_secret)])


# --- external-secrets-readable ---------------------------------------------------------------------

READABLE = ["external-secrets-readable"]


@cache
def _workload():
    return tuple(run_service(service_args(service_plan("prod"))).resources)


def workload():
    # Cases change copies of the captured inputs (replace_inputs), never the shared run.
    return list(_workload())


def readable(resources):
    return check_stack(StackView("example", "prod", tuple(resources)), only=READABLE)


def replace_inputs(resources, name, change):
    out = []
    for resource in resources:
        if resource.name == name:
            resource = CapturedResource(resource.type, resource.name, change(json.loads(json.dumps(resource.inputs))))
        out.append(resource)
    return out


def test_every_external_secret_is_readable_by_its_store_role():
    assert not readable(workload())


def test_a_key_the_store_role_may_not_read_is_reported():
    def drop_app_secret(inputs):
        policy = json.loads(inputs["policy"])
        policy["Statement"][0]["Resource"] = [r for r in policy["Statement"][0]["Resource"] if "example-app" not in r]
        return {**inputs, "policy": json.dumps(policy)}

    (finding,) = readable(replace_inputs(workload(), "example-irsa-secrets", drop_app_secret))
    assert finding.subject == "kubernetes:external-secrets.io/v1:ExternalSecret example-secrets-0"
    assert "aws:iam/role:Role example-irsa" in finding.message and "example-app" in finding.message


def test_a_store_whose_service_account_has_no_role_is_reported():
    def unannotate(inputs):
        inputs["metadata"].pop("annotations")
        return inputs

    found = readable(replace_inputs(workload(), "example-sa", unannotate))
    assert len(found) == 2 and all("carries no eks.amazonaws.com/role-arn" in f.message for f in found)


def test_an_external_secret_without_its_store_is_reported():
    resources = [r for r in workload() if r.name != "example-secret-store"]
    assert all("SecretStore example/example is not in the stack" in f.message for f in readable(resources))
    assert len(readable(resources)) == 2


def test_a_key_given_by_name_is_matched_against_the_secret_arn():
    def by_name(inputs):
        inputs["spec"]["dataFrom"] = [{"extract": {"key": "example-app"}}]
        return inputs

    assert not readable(replace_inputs(workload(), "example-secrets-0", by_name))

    def other_name(inputs):
        inputs["spec"]["dataFrom"] = [{"extract": {"key": "someone-elses"}}]
        return inputs

    assert readable(replace_inputs(workload(), "example-secrets-0", other_name))
