"""Secrets: whoever reads a secret may read it and decrypt it.

Two rules. `external-secrets-readable`: every key an ExternalSecret names is
readable (secretsmanager:GetSecretValue) by the role its SecretStore
authenticates as, the IRSA role of the store's service account.
`secret-readers-decrypt`, below: every role that may read a secret may decrypt it.

GetSecretValue makes Secrets Manager call kms:Decrypt on the secret's key as the
caller. With the AWS-managed `aws/secretsmanager` key every role of the account
may; with a customer-managed key the caller needs kms:Decrypt in its own IAM
policies and the key's policy must allow it (name the caller, or delegate to the
account's IAM policies through the account root). Miss either and the read fails
with AccessDenied on the first real deploy, while every mock passes.

The rule links resources the way the engine sees them: a role's policies are its
inline `inlinePolicies`, `aws:iam/rolePolicy` resources naming it (by name or id)
and `aws:iam/policy` resources attached to it; a secret is an
`aws:secretsmanager/secret` (its `kmsKeyId`) or the master secret RDS manages for
an instance (`masterUserSecretKmsKeyId`), and its key an `aws:kms/key` in the
stack. Conditions are judged for the two keys a secret read sets
(`kms:ViaService`, `kms:EncryptionContext:SecretARN`); other condition keys are
taken as met.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from . import ResourceLike, StackView, stack_rule
from .rules_common import as_list, policy_statements, subject

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
SECRET = "aws:secretsmanager/secret:Secret"
RDS = "aws:rds/instance:Instance"
AWS_MANAGED_SECRETS_KEY = "alias/aws/secretsmanager"
_ACCOUNT = re.compile(r"^\d{12}$")


def arn_tail(arn: str) -> str:
    """The resource part of an ARN (`secret:name`, `key/id`, `role/name`), which is what ties a
    policy's Resource to a resource whatever partition, region and account it spells."""
    parts = str(arn).split(":", 5)
    return parts[5] if len(parts) == 6 and parts[0] == "arn" else str(arn)


def _mock_tail(resource: ResourceLike) -> str:
    # The ARN a resource gets under `testing.CapturingMocks`: `...:<type>/<logical name>`.
    return f"{resource.type.split(':')[-1].lower()}/{resource.name}"


@dataclass(frozen=True)
class Secret:
    subject: str
    tail: str
    key_ref: str  # "" when the secret uses the AWS-managed key


@dataclass(frozen=True)
class Reader:
    role: ResourceLike
    statements: tuple[Mapping[str, Any], ...]


def secrets(stack: StackView) -> list[Secret]:
    found = [Secret(subject(s), _mock_tail(s), str(s.inputs.get("kmsKeyId") or "")) for s in stack.of_type(SECRET)]
    for instance in stack.of_type(RDS):
        if instance.inputs.get("manageMasterUserPassword") and not instance.inputs.get("replicateSourceDb"):
            found.append(
                Secret(
                    f"{subject(instance)} (managed master secret)",
                    arn_tail(managed_secret_arn(instance)),
                    str(instance.inputs.get("masterUserSecretKmsKeyId") or ""),
                )
            )
    return found


def managed_secret_arn(instance: ResourceLike, region: str = "us-east-1") -> str:
    """The master secret RDS creates for an instance, as the provider reports it (under mocks,
    `testing.COMPUTED_STATE` computes it the same way for the program and for this rule; the
    rule compares only its resource part, so the region does not matter there)."""
    from ..testing import COMPUTED_STATE

    state = COMPUTED_STATE[RDS](instance.name, dict(instance.inputs), region)
    return (state.get("masterUserSecrets") or [{}])[0].get("secretArn", "")


def role_names(role: ResourceLike) -> set[str]:
    """How other resources refer to a role: its name, logical name or id (`<name>-id` under mocks)."""
    return {str(role.inputs.get("name") or role.name), role.name, f"{role.name}-id"}


def readers(stack: StackView) -> list[Reader]:
    policies = {_mock_tail(p): p.inputs.get("policy") for p in stack.of_type(POLICY)}
    result = []
    for role in stack.of_type(ROLE):
        names = role_names(role)
        documents = [i.get("policy") for i in as_list(role.inputs.get("inlinePolicies")) if isinstance(i, Mapping)]
        documents += [p.inputs.get("policy") for p in stack.of_type(ROLE_POLICY) if p.inputs.get("role") in names]
        documents += [
            policies.get(arn_tail(a.inputs.get("policyArn", "")))
            for a in stack.of_type(ATTACHMENT)
            if a.inputs.get("role") in names
        ]
        documents += [policies.get(arn_tail(arn)) for arn in as_list(role.inputs.get("managedPolicyArns"))]
        statements = tuple(s for d in documents if d for s in policy_statements(d))
        result.append(Reader(role, statements))
    return result


def _matches(patterns: Any, value: str, tail: bool = True) -> bool:
    """Does any IAM pattern (`*` and `?` wildcards; ARNs compared by their resource part) match?"""
    wanted = (arn_tail(value) if tail else value).lower()
    return any(
        fnmatchcase(wanted, (arn_tail(p) if tail else p).lower()) for p in as_list(patterns) if isinstance(p, str)
    )


def _action(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _matches(statement["NotAction"], action, tail=False)
    return _matches(statement.get("Action"), action, tail=False)


def _resource(statement: Mapping[str, Any], arn: str) -> bool:
    if "NotResource" in statement:
        return not _matches(statement["NotResource"], arn)
    return _matches(statement.get("Resource", "*"), arn)


def _conditions_met(statement: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    """Only the keys in `context` are judged; StringEquals/StringLike and their ForAnyValue forms."""
    for operator, tests in (statement.get("Condition") or {}).items():
        if not isinstance(tests, Mapping):
            continue
        like = operator.split(":")[-1].lower() in ("stringlike", "stringlikeifexists")
        exact = operator.split(":")[-1].lower() in ("stringequals", "stringequalsifexists")
        for key, values in tests.items():
            known = {k.lower(): v for k, v in context.items()}
            if key.lower() not in known or not (like or exact):
                continue
            value = known[key.lower()]
            candidates = [str(v) for v in as_list(values)]
            if like and not any(fnmatchcase(value, c) for c in candidates):
                return False
            if exact and value not in candidates:
                return False
    return True


def allows(statements: Any, action: str, arn: str, context: Mapping[str, str], principal: Any = None) -> bool:
    """Do these statements allow `action` on `arn` (and, for a key policy, to `principal`), with no
    Deny that applies?"""

    def applies(statement: Mapping[str, Any]) -> bool:
        return (
            _action(statement, action)
            and _resource(statement, arn)
            and _conditions_met(statement, context)
            and (principal is None or principal(statement.get("Principal")))
        )

    allowed = any(s.get("Effect") == "Allow" and applies(s) for s in statements)
    denied = any(s.get("Effect") == "Deny" and applies(s) for s in statements)
    return allowed and not denied


def _key_policy_admits(role: ResourceLike) -> Any:
    """A key-policy Principal that lets the role use the key: the role itself, or the account
    (the root ARN or id), which hands the decision to the account's IAM policies."""
    tails = {f"role/{name}" for name in role_names(role)}

    def admits(principal: Any) -> bool:
        if principal == "*":
            return True
        aws = principal.get("AWS") if isinstance(principal, Mapping) else None
        for entry in as_list(aws):
            entry = str(entry)
            if entry == "*" or _ACCOUNT.match(entry) or arn_tail(entry) == "root" or arn_tail(entry) in tails:
                return True
        return False

    return admits


def _resolve_key(stack: StackView, reference: str) -> ResourceLike | None:
    keys = stack.of_type(KEY)
    for key in keys:
        if arn_tail(reference) == _mock_tail(key) or reference in (f"{key.name}-id", key.inputs.get("keyId")):
            return key
    alias = arn_tail(reference)
    for entry in stack.of_type(ALIAS):
        if entry.inputs.get("name") == alias:
            return _resolve_key(stack, str(entry.inputs.get("targetKeyId") or ""))
    return None


def _granted_secrets(reader: Reader, all_secrets: list[Secret]) -> Iterator[tuple[Secret, str]]:
    """The secrets the reader may GetSecretValue, each with the ARN its policy names (the most
    concrete one, which gives the region and the encryption context)."""
    for secret in all_secrets:
        for statement in reader.statements:
            if statement.get("Effect") != "Allow" or not _action(statement, "secretsmanager:GetSecretValue"):
                continue
            named = [r for r in as_list(statement.get("Resource")) if isinstance(r, str) and _matches(r, secret.tail)]
            if named and allows(reader.statements, "secretsmanager:GetSecretValue", secret.tail, {}):
                yield secret, min(named, key=lambda r: r.count("*"))
                break


def _decrypt_context(secret_arn: str) -> dict[str, str]:
    if "*" in secret_arn or not secret_arn.startswith("arn:"):
        return {}
    region = secret_arn.split(":")[3]
    return {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com", "kms:EncryptionContext:SecretARN": secret_arn}


@stack_rule(
    "secret-readers-decrypt",
    "Every principal that may read a Secrets Manager secret may kms:Decrypt its customer-managed key, "
    "through its own IAM policies and through the key's policy.",
)
def check_secret_readers_decrypt(stack: StackView) -> Iterator[tuple[str, str]]:
    all_secrets = secrets(stack)
    for reader in readers(stack):
        for secret, named_arn in _granted_secrets(reader, all_secrets):
            if not secret.key_ref or arn_tail(secret.key_ref) == AWS_MANAGED_SECRETS_KEY:
                continue
            key = _resolve_key(stack, secret.key_ref)
            key_arn = _mock_tail(key) if key is not None else secret.key_ref
            context = _decrypt_context(named_arn)
            where = f"reads {secret.subject}, encrypted with {subject(key) if key is not None else secret.key_ref}"
            if not allows(reader.statements, "kms:Decrypt", key_arn, context):
                yield (
                    subject(reader.role),
                    f"{where}, but none of its policies allows kms:Decrypt on that key for this secret "
                    "(GetSecretValue fails with AccessDenied)",
                )
            if key is not None and not allows(
                policy_statements(key.inputs.get("policy")),
                "kms:Decrypt",
                key_arn,
                context,
                principal=_key_policy_admits(reader.role),
            ):
                yield (
                    subject(reader.role),
                    f"{where}, but the key policy neither names this role nor lets the account's IAM policies "
                    "grant kms:Decrypt",
                )


# --- External Secrets: the role a store authenticates as reads every key its ExternalSecrets name ----

EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def _meta(resource: ResourceLike) -> tuple[str, str]:
    metadata = resource.inputs.get("metadata") or {}
    return str(metadata.get("namespace") or "default"), str(metadata.get("name") or "")


def remote_keys(external_secret: ResourceLike) -> list[str]:
    """Every Secrets Manager key an ExternalSecret reads (`data[].remoteRef`, `dataFrom[].extract`)."""
    spec = external_secret.inputs.get("spec") or {}
    keys = [(item.get("remoteRef") or {}).get("key") for item in as_list(spec.get("data")) if isinstance(item, Mapping)]
    keys += [
        (item.get("extract") or {}).get("key") for item in as_list(spec.get("dataFrom")) if isinstance(item, Mapping)
    ]
    return [str(key) for key in keys if key]


def store_role(stack: StackView, namespace: str, store_name: str) -> tuple[ResourceLike | None, str]:
    """The IAM role a namespaced SecretStore reads with (through its service account's IRSA
    annotation), or None and why not."""
    stores = [s for s in stack.of_type(SECRET_STORE) if _meta(s) == (namespace, store_name)]
    if not stores:
        return None, f"its SecretStore {namespace}/{store_name} is not in the stack"
    aws = ((stores[0].inputs.get("spec") or {}).get("provider") or {}).get("aws") or {}
    account_ref = ((aws.get("auth") or {}).get("jwt") or {}).get("serviceAccountRef") or {}
    account = (str(account_ref.get("namespace") or namespace), str(account_ref.get("name") or ""))
    if not account[1]:
        return None, f"its SecretStore {namespace}/{store_name} names no service account to authenticate as"
    accounts = [a for a in stack.of_type(SERVICE_ACCOUNT) if _meta(a) == account]
    annotation = (
        ((accounts[0].inputs.get("metadata") or {}).get("annotations") or {}).get(ROLE_ANNOTATION) if accounts else None
    )
    if not annotation:
        return None, f"service account {account[0]}/{account[1]} of its SecretStore carries no {ROLE_ANNOTATION}"
    for role in stack.of_type(ROLE):
        if arn_tail(str(annotation)) in {f"role/{name}" for name in role_names(role)}:
            return role, ""
    return None, f"the role {annotation} of service account {account[0]}/{account[1]} is not in the stack"


@stack_rule(
    "external-secrets-readable",
    "Every key an ExternalSecret reads from Secrets Manager is readable by the role its SecretStore "
    "authenticates as (the service account's IRSA role).",
)
def check_external_secrets_readable(stack: StackView) -> Iterator[tuple[str, str]]:
    statements = {subject(r.role): r.statements for r in readers(stack)}
    for external in stack.of_type(EXTERNAL_SECRET):
        namespace, _ = _meta(external)
        reference = (external.inputs.get("spec") or {}).get("secretStoreRef") or {}
        if reference.get("kind", "SecretStore") != "SecretStore":
            continue  # a ClusterSecretStore reads with credentials outside this service's stack
        role, why = store_role(stack, namespace, str(reference.get("name") or ""))
        if role is None:
            yield subject(external), f"nothing can read its keys: {why}"
            continue
        for key in remote_keys(external):
            if not allows(statements[subject(role)], "secretsmanager:GetSecretValue", _secret_arn_of(key), {}):
                yield (
                    subject(external),
                    f"reads {key} with {subject(role)}, whose policies do not allow secretsmanager:GetSecretValue "
                    "on it",
                )


def _secret_arn_of(key: str) -> str:
    # A key given by name is authorised against the secret's ARN, which ends in "-" and six
    # random characters Secrets Manager adds.
    return key if key.startswith("arn:") else f"secret:{key}-AbCdEf"
