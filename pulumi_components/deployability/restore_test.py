"""The weekly restore test applies the release's migrations to its restored copy, with an identity
that can.

- The restore-test workflow runs `scripts/restore_test.py` with `--migrate` for production's
  platform: `kube` (with the service's namespace and the release's migration Job) where production
  migrates with a Kubernetes Job, `lambda` (with the function) where its function migrates.
- On Kubernetes the job reaches production's private cluster API: it runs where production's
  deploy job runs (prod's runners, which `cluster-api-reachable` holds to the cluster) and installs
  the cluster clients first; production's stack gives the restore-test role an access entry whose
  Kubernetes group is bound, in the service's namespace, to a Role with every verb the script uses.
- The restore-test role (bootstrap) may set the copy's master password (the copy keeps the
  snapshot's, which the managed secret may have rotated away since) and, on Lambda, invoke the
  production function's alias; on Kubernetes, describe the cluster for its kubeconfig.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

import yaml

from ..identity import restore_test_role_name
from ..restore_test_access import RULES
from . import RepositoryView, StackView, repository_rule
from .bootstrap import _bootstrap
from .cluster import ACCESS_ENTRY, ROLE, allows, role_statements
from .migrations import migration_jobs
from .rules_common import as_list

WORKFLOW = ".github/workflows/restore-test.yml"
DEPLOY_WORKFLOW = ".github/workflows/deploy.yml"
SCRIPT = "scripts/restore_test.py"
RBAC_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
RBAC_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
CLUSTER_TOOLS_STEP = "cluster-tools"


def _script_args(step: Mapping[str, Any]) -> list[str] | None:
    """The arguments of the step's `python scripts/restore_test.py` call, if it makes one."""
    script = str(step.get("run") or "").replace("\\\n", " ")
    for line in script.splitlines():
        if SCRIPT in line:
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            return words[words.index(SCRIPT) + 1 :] if SCRIPT in words else []
    return None


def _flag(args: Sequence[str], name: str) -> str | None:
    for index, word in enumerate(args):
        if word == name and index + 1 < len(args):
            return args[index + 1]
        if word.startswith(f"{name}="):
            return word.split("=", 1)[1]
    return None


def _runs_on(job: Mapping[str, Any]) -> list[str]:
    runs_on = job.get("runs-on")
    if isinstance(runs_on, Mapping):
        runs_on = runs_on.get("labels")
    return [str(label) for label in as_list(runs_on)]


def _deploy_runner(repo: RepositoryView) -> list[str] | None:
    path = repo.root / DEPLOY_WORKFLOW
    if not path.is_file():
        return None
    job = ((yaml.safe_load(path.read_text()) or {}).get("jobs") or {}).get("deploy-prod")
    return _runs_on(job) if isinstance(job, Mapping) else None


def _lambda_target(stack: StackView) -> tuple[str, str] | None:
    """(function name, alias) of the stack's function that reaches a database, if any."""
    for function in stack.of_type(FUNCTION):
        variables = ((function.inputs.get("environment") or {}).get("variables")) or {}
        if "DB_HOST" in variables:
            alias = next((a.inputs.get("name") for a in stack.of_type(ALIAS)), None)
            return str(function.inputs.get("name") or ""), str(alias or "")
    return None


# ---- the Kubernetes side --------------------------------------------------------------------------


def _grants(rules: Any, group: str, resource: str, verb: str) -> bool:
    return any(
        isinstance(rule, Mapping)
        and group in as_list(rule.get("apiGroups"))
        and any(r in (resource, "*") for r in as_list(rule.get("resources")))
        and any(v in (verb, "*") for v in as_list(rule.get("verbs")))
        for rule in as_list(rules)
    )


def kube_access_defects(stack: StackView, namespace: str) -> Iterator[str]:
    """What keeps the restore-test role from running the one-off migration Job in `namespace`."""
    role_name = restore_test_role_name(stack.service)
    entries = [
        e for e in stack.of_type(ACCESS_ENTRY) if str(e.inputs.get("principalArn", "")).endswith(f":role/{role_name}")
    ]
    if not entries:
        yield f"the restore-test role {role_name} has no access entry on the prod cluster"
        return
    groups = {str(g) for e in entries for g in as_list(e.inputs.get("kubernetesGroups"))}
    bound_roles = {
        ((binding.inputs.get("roleRef") or {}).get("name"))
        for binding in stack.of_type(RBAC_BINDING)
        if (binding.inputs.get("metadata") or {}).get("namespace") == namespace
        and (binding.inputs.get("roleRef") or {}).get("kind") == "Role"
        and any(
            isinstance(s, Mapping) and s.get("kind") == "Group" and s.get("name") in groups
            for s in as_list(binding.inputs.get("subjects"))
        )
    }
    roles = [
        role
        for role in stack.of_type(RBAC_ROLE)
        if (role.inputs.get("metadata") or {}).get("namespace") == namespace
        and (role.inputs.get("metadata") or {}).get("name") in bound_roles
    ]
    if not roles:
        yield (
            f"the restore-test role's access entry (groups {sorted(groups)}) is bound to no Role in namespace "
            f"{namespace!r}: it may not run the migration Job there"
        )
        return
    rules = [rule for role in roles for rule in as_list(role.inputs.get("rules"))]
    missing = [
        f"{verb} {resource}"
        for wanted in RULES
        for group in wanted["apiGroups"]
        for resource in wanted["resources"]
        for verb in wanted["verbs"]
        if not _grants(rules, group, resource, verb)
    ]
    if missing:
        yield f"the restore-test role's Role in {namespace!r} may not {', '.join(missing)} ({SCRIPT} does)"


# ---- the bootstrap's role -------------------------------------------------------------------------


def role_defects(repo: RepositoryView, stack: StackView, lambda_target: tuple[str, str] | None) -> Iterator[str]:
    view = _bootstrap(repo)
    if view is None:
        return
    role_name = restore_test_role_name(stack.service)
    role = next((r for r in view.of_type(ROLE) if r.inputs.get("name") == role_name), None)
    if role is None:
        yield f"the bootstrap program creates no {role_name} role"
        return
    statements = role_statements(view, role)
    tagged = {"StringEquals": {"aws:ResourceTag/purpose": "restore-test"}}
    if not allows(statements, "rds:ModifyDBInstance", "*", tagged):
        yield f"{role_name} may not set the copy's master password (rds:ModifyDBInstance on purpose=restore-test)"
    if lambda_target is None:
        if not _grants_on(statements, "eks:DescribeCluster", ":cluster/", f"{stack.service}-{stack.env}"):
            yield f"{role_name} may not describe the cluster (eks:DescribeCluster), which its kubeconfig needs"
        return
    function, alias = lambda_target
    if not _grants_on(statements, "lambda:InvokeFunction", ":function:", f"{function}:{alias}"):
        yield f"{role_name} may not invoke the function {function}:{alias} (lambda:InvokeFunction)"


def _grants_on(statements: Sequence[Mapping[str, Any]], action: str, separator: str, name: str) -> bool:
    """Whether an Allow grants `action` on a resource whose part after `separator` (`:cluster/`,
    `:function:`) matches `name`, unconditionally."""
    return any(
        not statement.get("Condition")
        and any(fnmatchcase(action, str(a)) for a in as_list(statement.get("Action")))
        and any(
            str(r) == "*" or (separator in str(r) and fnmatchcase(name, str(r).split(separator, 1)[1]))
            for r in as_list(statement.get("Resource"))
        )
        for statement in statements
    )


@repository_rule(
    "restore-test-migrates-its-copy",
    "The weekly restore test applies the release's migrations to its restored copy inside the VPC (a one-off "
    "Job in production's cluster, or the production function), with a role that may set the copy's password "
    "and run that migration: a restore is only proven when the release can run on it.",
)
def restore_test_migrates_its_copy(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    path, prod = repo.root / WORKFLOW, repo.stacks.get("prod")
    if not path.is_file() or prod is None:
        return
    kube = bool(migration_jobs(prod))
    lambda_target = None if kube else _lambda_target(prod)
    if not kube and lambda_target is None:
        return  # production migrates nothing: nothing to apply to the copy
    jobs = (yaml.safe_load(path.read_text()) or {}).get("jobs") or {}
    calls = [
        (job_id, job, index, args)
        for job_id, job in jobs.items()
        if isinstance(job, Mapping)
        for index, step in enumerate(as_list(job.get("steps")))
        if isinstance(step, Mapping) and (args := _script_args(step)) is not None
    ]
    if not calls:
        yield WORKFLOW, f"runs no {SCRIPT}: the backups are never restored"
        return
    expected = "kube" if kube else "lambda"
    for job_id, job, index, args in calls:
        where = f"{WORKFLOW} job {job_id}"
        mode = _flag(args, "--migrate")
        if mode != expected:
            yield where, f"restores without applying the migrations (expected --migrate {expected}, got {mode})"
            continue
        if kube:
            if _flag(args, "--namespace") != prod.service or not _flag(args, "--migration-job"):
                yield where, f"--migrate kube needs --namespace {prod.service} and --migration-job (the release's Job)"
            runner = _deploy_runner(repo)
            if runner is not None and _runs_on(job) != runner:
                yield (
                    where,
                    f"runs on {_runs_on(job)}, but production's cluster API is reached from {runner} (deploy-prod's)",
                )
            steps = as_list(job.get("steps"))
            tools = next(
                (i for i, s in enumerate(steps) if isinstance(s, Mapping) and s.get("id") == CLUSTER_TOOLS_STEP), None
            )
            if tools is None or tools > index:
                yield where, f"calls kubectl without first installing it (a step with id {CLUSTER_TOOLS_STEP!r})"
            for defect in kube_access_defects(prod, prod.service):
                yield "stack prod", defect
        elif not _flag(args, "--function"):
            yield where, "--migrate lambda needs --function (the production function)"
    for defect in role_defects(repo, prod, lambda_target):
        yield "bootstrap", defect
