"""Deployability: the rules a real AWS account and a real GitHub enforce between resources.

The guardrails (`guardrails.py`) judge each resource against a security or
reliability standard. A stack can pass every one of them and still fail its
first `pulumi up`: a pod whose role may not decrypt its secret, a volume claim
waiting for a StorageClass nobody created, a workflow job that cannot reach a
private cluster API. Mocks cannot see these; the relations between resources,
and between the repository and the stacks, can. Each rule here names one such
relation.

Two kinds of rule, registered with a decorator in the module of their area:

- stack rules see one stack: every resource it registers (type token, name,
  input properties as the engine sees them) and its outputs;
- repository rules see the rendered repository (its workflows and documents)
  together with the stacks of every environment.

Both run in this template's tests over every stack of the answer matrix and in
every generated repository's `infra/tests`. Each rule has a negative test that
shows it catches the defect it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class ResourceLike(Protocol):
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class StackView:
    """What a stack rule sees: the stack's resources and outputs after a (mocked) `pulumi up`."""

    service: str
    env: str
    resources: Sequence[ResourceLike]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)  # the stack's config, keys as in Pulumi.<env>.yaml

    def of_type(self, *types: str) -> list[ResourceLike]:
        return [r for r in self.resources if r.type in types]


@dataclass(frozen=True)
class RepositoryView:
    """What a repository rule sees: the rendered repository and every environment's stack."""

    root: Path
    stacks: Mapping[str, StackView]
    bootstrap: StackView | None = None  # the bootstrap program's run; rules run it under mocks when absent


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str  # "<type> <name>", a file path, or "stack <env>"
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.subject}: {self.message}"


@dataclass(frozen=True)
class DeployRule:
    name: str
    description: str  # what a real account requires, in one sentence
    check: Callable[[Any], Iterable[tuple[str, str]]]  # yields (subject, message)


STACK_RULES: list[DeployRule] = []
REPOSITORY_RULES: list[DeployRule] = []


def stack_rule(name: str, description: str) -> Callable:
    """Register `check(stack: StackView)`, which yields `(subject, message)` for each defect."""

    def register(check: Callable[[StackView], Iterable[tuple[str, str]]]) -> Callable:
        STACK_RULES.append(DeployRule(name, description, check))
        return check

    return register


def repository_rule(name: str, description: str) -> Callable:
    """Register `check(repo: RepositoryView)`, which yields `(subject, message)` for each defect."""

    def register(check: Callable[[RepositoryView], Iterable[tuple[str, str]]]) -> Callable:
        REPOSITORY_RULES.append(DeployRule(name, description, check))
        return check

    return register


def _run(rules: Sequence[DeployRule], subject: Any, only: Iterable[str] | None) -> list[Finding]:
    wanted = set(only) if only is not None else None
    return [
        Finding(rule.name, where, message)
        for rule in rules
        if wanted is None or rule.name in wanted
        for where, message in rule.check(subject)
    ]


def check_stack(stack: StackView, only: Iterable[str] | None = None) -> list[Finding]:
    """Every stack rule (or only the named ones) over one stack."""
    return _run(STACK_RULES, stack, only)


def check_repository(repo: RepositoryView, only: Iterable[str] | None = None) -> list[Finding]:
    """Every repository rule (or only the named ones) over the repository and its stacks."""
    return _run(REPOSITORY_RULES, repo, only)


def stack_view(service: str, env: str, run: Any, config: Mapping[str, Any] | None = None) -> StackView:
    """A StackView of a `testing.ProgramRun` (outputs resolved)."""
    from ..testing import resolve

    outputs = {name: resolve(value) for name, value in run.outputs.items()}
    return StackView(service, env, tuple(run.resources), outputs, dict(config or {}))


# The rule modules register themselves on import; each covers one area.
from . import alerting as alerting_rules  # noqa: E402,F401
from . import bootstrap, cluster, edge, lambda_release, pipelines, reachability, rules_common  # noqa: E402,F401
from . import checklists as checklist_rules  # noqa: E402,F401
from . import dr as dr_rules  # noqa: E402,F401
from . import failover as failover_rules  # noqa: E402,F401
from . import feature_flags as feature_flag_rules  # noqa: E402,F401
from . import hosting as hosting_rules  # noqa: E402,F401
from . import migrations as migration_rules  # noqa: E402,F401
from . import pipeline_roles as pipeline_role_rules  # noqa: E402,F401
from . import release_gates as release_gate_rules  # noqa: E402,F401
from . import restore_test as restore_test_rules  # noqa: E402,F401
from . import runtime as runtime_rules  # noqa: E402,F401
from . import secrets as secret_rules  # noqa: E402,F401
from . import tracing as tracing_rules  # noqa: E402,F401
