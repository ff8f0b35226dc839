"""The pipeline roles as the bootstrap program makes them, against the stacks they deploy.

The bootstrap program (`bootstrap/`) and each stack derive the roles' names separately (identity.py):
the bootstrap creates the role and sets the Actions variable to its ARN, the stack grants a role of
that name its access entry. These rules hold the two to the same role and the role to the stack:

- `workflow-roles-are-cluster-principals`: the role a workflow's variable names (the value the
  bootstrap sets) is a principal with an access entry on that environment's cluster (its own, or the
  platform's for a service on a shared cluster, which grants its entries itself), else every kubectl
  call and Kubernetes resource of the job is Unauthorized;
- `deploy-role-covers-the-stack`: the deploy role, its own policies and its permissions boundary
  alike, grants every AWS service the stack creates resources in, and may create the IAM roles it
  creates (by their names), else the first `pulumi up` stops at AccessDenied. This is what makes a
  platform's roles fit a platform (network, cluster, add-on roles) and a service's fit a service;
- `access-entry-principals-exist`: every principal a stack gives an access entry exists before the
  stack's first `pulumi up` (a role the bootstrap program or the stack creates, or an administrator
  named in `cluster_admins`): EKS refuses an access entry for a principal that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .. import identity
from . import RepositoryView, StackView, repository_rule
from .bootstrap import ROLE, VARIABLE, _bootstrap, role_uses
from .rules_common import as_list, policy_statements, subject
from .secrets import _mock_tail, allows, arn_tail, readers

ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
CLUSTER = "aws:eks/cluster:Cluster"
POLICY = "aws:iam/policy:Policy"
# pulumi-aws modules whose IAM service prefix is not the module's name; CloudWatch Logs resources
# live in the cloudwatch module but are the `logs` service.
SERVICE_OF_MODULE = {"vpc": "ec2", "apigatewayv2": "apigateway"}


def iam_service(resource_type: str) -> str:
    """The IAM service prefix of a pulumi-aws type: `aws:cloudwatch/logGroup:LogGroup` is `logs`."""
    module, kind = resource_type.split(":")[1].split("/")
    if module == "cloudwatch" and kind.startswith("log"):
        return "logs"
    return SERVICE_OF_MODULE.get(module, module)


def _variables(view: StackView) -> dict[str, str]:
    return {str(r.inputs.get("variableName")): str(r.inputs.get("value") or "") for r in view.of_type(VARIABLE)}


def _assumed(repo: RepositoryView, bootstrap: StackView) -> Iterator[tuple[str, str, str, str]]:
    """(workflow, kind, env, role name) of each role variable a workflow reads, once per workflow."""
    values = _variables(bootstrap)
    by_variable = {
        identity.role_variable(kind, env): (kind, env) for env in repo.stacks for kind in identity.ROLE_KINDS
    }
    seen = set()
    for path, _, variable, _ in role_uses(repo.root):
        if variable in by_variable and variable in values and (path, variable) not in seen:
            seen.add((path, variable))
            yield path, *by_variable[variable], arn_tail(values[variable]).removeprefix("role/")


@repository_rule(
    "workflow-roles-are-cluster-principals",
    "The role each workflow's role variable names, as the bootstrap program sets it, has an access entry on "
    "that environment's cluster: the bootstrap and the stack agree on the role itself.",
)
def workflow_roles_are_cluster_principals(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    bootstrap = _bootstrap(repo)
    if bootstrap is None:
        return  # workflow-inputs-bootstrapped reports it
    for path, kind, env, role_name in _assumed(repo, bootstrap):
        stack = repo.stacks[env]
        if not stack.of_type(CLUSTER, ACCESS_ENTRY):
            continue  # no cluster of its own, and none it grants access to (a Lambda service)
        principals = {arn_tail(e.inputs.get("principalArn", "")) for e in stack.of_type(ACCESS_ENTRY)}
        if f"role/{role_name}" not in principals:
            yield (
                path,
                f"assumes {role_name} ({identity.role_variable(kind, env)}, set by the bootstrap program), which has "
                f"no access entry on the {env} cluster; its entries are for {', '.join(sorted(principals)) or 'none'}",
            )


def _deploy_grants(bootstrap: StackView, role_name: str) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The statements of the role's own policies, and of its permissions boundary (empty: none)."""
    own = next((r.statements for r in readers(bootstrap) if str(r.role.inputs.get("name")) == role_name), ())
    role = next((r for r in bootstrap.of_type(ROLE) if str(r.inputs.get("name")) == role_name), None)
    boundary_arn = arn_tail(role.inputs.get("permissionsBoundary") or "") if role else ""
    boundary = next((p for p in bootstrap.of_type(POLICY) if boundary_arn and _mock_tail(p) == boundary_arn), None)
    return list(own), policy_statements(boundary.inputs.get("policy")) if boundary else []


def _grants_service(statements: list[Mapping[str, Any]], service: str) -> bool:
    return any(
        s.get("Effect") == "Allow"
        and any(str(a) == "*" or str(a).startswith(f"{service}:") for a in as_list(s.get("Action")))
        for s in statements
    )


def _deploy_roles(repo: RepositoryView) -> Iterator[tuple[str, StackView, str, list, list]]:
    """(env, stack, deploy role name, its policies' statements, its boundary's) of each environment
    whose deploy role the bootstrap program creates (workflow-roles-trusted reports one it does not)."""
    bootstrap = _bootstrap(repo)
    roles = {str(r.inputs.get("name")) for r in bootstrap.of_type(ROLE)} if bootstrap else set()
    for env, stack in sorted(repo.stacks.items()):
        role_name = identity.deploy_role_name(stack.service, env)
        if bootstrap and role_name in roles:
            yield env, stack, role_name, *_deploy_grants(bootstrap, role_name)


def _stack_region(stack: StackView) -> str:
    return str(stack.config.get("aws:region") or "")


@repository_rule(
    "deploy-role-covers-the-stack",
    "The deploy role of each environment (its policies and its permissions boundary) grants every AWS service "
    "the environment's stack creates resources in, and may create each IAM role the stack creates.",
)
def deploy_role_covers_the_stack(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    for env, stack, role_name, own, boundary in _deploy_roles(repo):
        where = f"{ROLE} {role_name}"
        services = sorted({iam_service(r.type) for r in stack.resources if r.type.startswith("aws:")} - {"iam"})
        for service in services:
            for statements, what in ((own, "its policies"), (boundary, "its permissions boundary")):
                if not _grants_service(statements, service):
                    yield where, f"the {env} stack creates {service} resources; {what} grant no {service} action"
        context = {"aws:RequestedRegion": _stack_region(stack)} if _stack_region(stack) else {}
        for role in stack.of_type(ROLE):
            name = str(role.inputs.get("name") or role.name)
            for statements, what in ((own, "its policies"), (boundary, "its permissions boundary")):
                # IAM patterns are compared by the ARN's resource part, whatever the account.
                if statements and not allows(statements, "iam:CreateRole", f"role/{name}", context):
                    yield where, f"the {env} stack creates the role {name}; {what} do not allow iam:CreateRole on it"


@repository_rule(
    "access-entry-principals-exist",
    "Every principal a stack gives an access entry is a role the bootstrap program or the stack creates, or an "
    "administrator its `cluster_admins` config names: EKS refuses an access entry for a principal that does "
    "not exist.",
)
def access_entry_principals_exist(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    bootstrap = _bootstrap(repo)
    if bootstrap is None:
        return
    made = {f"role/{r.inputs.get('name')}" for r in bootstrap.of_type(ROLE)}
    for stack in repo.stacks.values():
        # A role the stack creates is referred to by its ARN output (under mocks, `...:role/<logical name>`).
        own = {f"role/{role.inputs.get('name') or role.name}" for role in stack.of_type(ROLE)}
        own |= {_mock_tail(role) for role in stack.of_type(ROLE)}
        admins = {arn_tail(str(a)) for a in as_list(stack.config.get(f"{stack.service}:cluster_admins"))}
        for entry in stack.of_type(ACCESS_ENTRY):
            principal = str(entry.inputs.get("principalArn") or "")
            if arn_tail(principal) not in made | own | admins:
                yield (
                    subject(entry),
                    f"grants {principal}, which neither the bootstrap program nor the {stack.env} stack creates "
                    "and its cluster_admins do not name",
                )
