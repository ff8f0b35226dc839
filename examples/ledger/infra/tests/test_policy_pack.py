"""The CrossGuard pack (policy/) runs the same rules: its validators over captured resources.

Props go through pulumi_policy's own unknown-checking proxy, as the engine
hands them to the pack during a preview.
"""

import importlib
import sys

import pytest
from components.guardrails import RULES, STACK_RULES
from conftest import PROJECT, ROOT
from pulumi_policy import (
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy


@pytest.fixture(scope="module")
def pack():
    sys.path.insert(0, str(ROOT / "policy"))
    try:
        yield importlib.import_module("guardrail_policies")
    finally:
        sys.path.remove(str(ROOT / "policy"))


def _urn(stack, resource):
    return f"urn:pulumi:{stack}::{PROJECT}::{resource.type}::{resource.name}"


def _validate(pack, stack, resources):
    """Every policy of the pack over `resources`; returns (policy, message) pairs."""
    found = []
    for policy in pack.POLICIES:

        def report(message, urn=None, name=policy.name):
            found.append((name, message))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r.type, unknown_checking_proxy(r.inputs), _urn(stack, r), r.name, None, None
                )
                policy.validate(args, report)
        else:
            policy_resources = [
                PolicyResource(
                    r.type, unknown_checking_proxy(r.inputs), _urn(stack, r), r.name, None, None, None, [], {}
                )
                for r in resources
            ]
            policy.validate(StackValidationArgs(policy_resources), report)
    return found


def test_the_pack_has_one_policy_per_rule(pack):
    assert [p.name for p in pack.POLICIES] == [r.name for r in (*RULES, *STACK_RULES)]


def test_every_stack_passes_the_pack(pack, stack, run):
    assert _validate(pack, stack, run.resources) == []


def test_the_pack_reports_a_violation(pack, stack, run):
    database = [r for r in run.of_type("aws:rds/instance:Instance") if not r.inputs.get("replicateSourceDb")]
    target = database[0] if database else run.of_type("aws:cloudwatch/logGroup:LogGroup")[0]
    weakened = type(target)(target.type, target.name, {**target.inputs, "kmsKeyId": None, "storageEncrypted": False})
    rules = {name for name, _ in _validate(pack, stack, [weakened])}
    assert rules & {"rds-storage-encrypted", "log-group-encrypted"}


def test_values_unknown_during_preview_count_as_set(pack, stack, run):
    group = run.of_type("aws:cloudwatch/logGroup:LogGroup")[0]
    previewed = type(group)(group.type, group.name, {**group.inputs, "kmsKeyId": UNKNOWN_STRING_VALUE})
    assert _validate(pack, stack, [previewed]) == []
