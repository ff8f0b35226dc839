"""The guardrails as CrossGuard policies: one policy per rule, same functions as the tests.

The rules live in `infra/components/guardrails.py`. Each policy reads the
stack's plan (from `Pulumi.<stack>.yaml` beside this directory, found through
the resource URN) for the tier and the named relaxations, so a relaxation
waives a rule here exactly as it does in `infra/tests`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "infra"))

from components import guardrails  # noqa: E402
from components.reliability import from_config  # noqa: E402

PACK_NAME = "guardrails"


@lru_cache(maxsize=8)
def stack_context(stack: str, project: str) -> guardrails.Context:
    """The tier and relaxations of a stack, from its plan; the strictest when it has none."""
    stack_file = REPO / f"Pulumi.{stack.split('/')[-1]}.yaml"
    if not stack_file.exists():
        return guardrails.Context()
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    plan = config.get(f"{project}:plan")
    return guardrails.Context.from_plan(from_config(plan)) if plan else guardrails.Context()


def context_for(urn: str) -> guardrails.Context:
    # urn:pulumi:<stack>::<project>::<type>::<name>
    head, project = urn.split("::")[:2]
    return stack_context(head.split(":")[-1], project)


def plain(value: Any) -> Any:
    """Props as plain data: values unknown during preview become guardrails.UNKNOWN."""
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {key: _item(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_item(value, index) for index in range(len(value))]
    return value


def _item(container: Any, key: Any) -> Any:
    try:
        return plain(container[key])
    except UnknownValueError:
        return guardrails.UNKNOWN


def _resource_policy(rule: guardrails.Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        for message in rule.check(plain(args.props), context_for(args.urn)):
            report_violation(message, args.urn)

    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate)


def _stack_policy(rule: guardrails.StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        if not args.resources:
            return
        resources = [guardrails.Resource(r.resource_type, r.name, plain(r.props)) for r in args.resources]
        for message in rule.check(resources, context_for(args.resources[0].urn)):
            report_violation(message, None)

    return StackValidationPolicy(name=rule.name, description=rule.description, validate=validate)


POLICIES = [_resource_policy(rule) for rule in guardrails.RULES] + [
    _stack_policy(rule) for rule in guardrails.STACK_RULES
]
