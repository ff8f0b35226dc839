"""The pipeline-role rules (pulumi_components/deployability/pipeline_roles.py) over a rendered platform
repository: its production stack and its bootstrap program as generated (no finding), and copies of
their captured resources carrying each defect (a finding each)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import render
from platform_pair import PLATFORM

from pulumi_components import identity
from pulumi_components.deployability import RepositoryView, StackView, check_repository, stack_view
from pulumi_components.deployability.bootstrap import bootstrap_view
from pulumi_components.testing import CapturedResource, run_program, stack_config

PRINCIPALS = "workflow-roles-are-cluster-principals"
COVERS = "deploy-role-covers-the-stack"
EXIST = "access-entry-principals-exist"
DEPLOY = identity.deploy_role_name("platform", "prod")
PREVIEW = identity.preview_role_name("platform", "prod")


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> tuple[Path, StackView, StackView]:
    # The platform of tests/test_platform_pair.py: one render for both.
    root = render(tmp_path_factory.mktemp("roles") / "platform", **PLATFORM)
    config = stack_config(root / "Pulumi.prod.yaml")
    run = run_program(root / "infra", project="platform", stack="prod", config=config)
    return root, stack_view("platform", "prod", run, config), bootstrap_view(root)


def findings(root: Path, stack: StackView, bootstrap: StackView, rule: str) -> list[str]:
    view = RepositoryView(root, {"prod": stack}, bootstrap)
    return [f"{f.subject}: {f.message}" for f in check_repository(view, only=[rule])]


def replaced(view: StackView, change) -> StackView:
    """The view with `change(resource)` applied to every resource (it returns the resource, changed or not,
    or None to drop it)."""
    resources = [change(r) for r in view.resources]
    return dataclasses.replace(view, resources=tuple(r for r in resources if r is not None))


def with_inputs(resource, **inputs) -> CapturedResource:
    return CapturedResource(resource.type, resource.name, {**resource.inputs, **inputs})


def test_the_generated_platform_passes_both(platform):
    root, stack, bootstrap = platform
    assert findings(root, stack, bootstrap, PRINCIPALS) == []
    assert findings(root, stack, bootstrap, COVERS) == []
    assert findings(root, stack, bootstrap, EXIST) == []


@pytest.mark.parametrize("own_cluster", [True, False], ids=["own-cluster", "entries-on-a-shared-cluster"])
def test_a_variable_naming_a_role_the_cluster_does_not_know_is_reported(platform, own_cluster):
    root, stack, bootstrap = platform
    if not own_cluster:  # a service on a platform's cluster: access entries of its own, no cluster
        stack = replaced(stack, lambda r: None if r.type == "aws:eks/cluster:Cluster" else r)

    def rename(r):
        if (
            r.type == "github:index/actionsVariable:ActionsVariable"
            and r.inputs["variableName"] == "AWS_DEPLOY_ROLE_PROD"
        ):
            return with_inputs(r, value=r.inputs["value"].replace(DEPLOY, "platform-prod-deployer"))
        return r

    reported = findings(root, stack, replaced(bootstrap, rename), PRINCIPALS)
    assert reported and all("assumes platform-prod-deployer (AWS_DEPLOY_ROLE_PROD" in f for f in reported), reported
    assert any(f.startswith(".github/workflows/deploy.yml") for f in reported)


def test_a_cluster_without_the_preview_roles_entry_is_reported(platform):
    root, stack, bootstrap = platform
    no_entry = replaced(
        stack,
        lambda r: None if r.type == "aws:eks/accessEntry:AccessEntry" and PREVIEW in r.inputs["principalArn"] else r,
    )
    reported = findings(root, no_entry, bootstrap, PRINCIPALS)
    assert {f.split(":")[0] for f in reported} == {".github/workflows/preview.yml", ".github/workflows/drift.yml"}
    assert all(f"assumes {PREVIEW}" in f and "no access entry on the prod cluster" in f for f in reported)


def without_service(document: str, service: str) -> str:
    statements = json.loads(document)["Statement"]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if not a.startswith(f"{service}:")]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.mark.parametrize(
    ("resource_type", "what"),
    [("aws:iam/rolePolicy:RolePolicy", "its policies"), ("aws:iam/policy:Policy", "its permissions boundary")],
)
def test_a_deploy_role_without_the_stacks_services_is_reported(platform, resource_type, what):
    root, stack, bootstrap = platform

    def strip(r):
        if r.type == resource_type and r.name.startswith(DEPLOY):
            return with_inputs(r, policy=without_service(r.inputs["policy"], "eks"))
        return r

    reported = findings(root, stack, replaced(bootstrap, strip), COVERS)
    assert reported == [f"aws:iam/role:Role {DEPLOY}: the prod stack creates eks resources; {what} grant no eks action"]


def test_a_stack_role_outside_the_deploy_roles_names_is_reported(platform):
    root, stack, bootstrap = platform
    stray = CapturedResource("aws:iam/role:Role", "cluster-operator", {"name": "cluster-operator"})
    widened = dataclasses.replace(stack, resources=(*stack.resources, stray))
    reported = findings(root, widened, bootstrap, COVERS)
    assert reported == [
        f"aws:iam/role:Role {DEPLOY}: the prod stack creates the role cluster-operator; {what} do not allow "
        "iam:CreateRole on it"
        for what in ("its policies", "its permissions boundary")
    ]


def test_an_access_entry_for_a_principal_nobody_creates_is_reported_unless_an_admin(platform):
    root, stack, bootstrap = platform
    operator = "arn:aws:iam::123456789012:role/platform-operator"
    entry = CapturedResource("aws:eks/accessEntry:AccessEntry", "platform-prod-operator", {"principalArn": operator})
    widened = dataclasses.replace(stack, resources=(*stack.resources, entry))
    assert findings(root, widened, bootstrap, EXIST) == [
        f"aws:eks/accessEntry:AccessEntry platform-prod-operator: grants {operator}, which neither the bootstrap "
        "program nor the prod stack creates and its cluster_admins do not name"
    ]
    named = dataclasses.replace(widened, config={**stack.config, "platform:cluster_admins": [operator]})
    assert findings(root, named, bootstrap, EXIST) == []
    no_roles = replaced(bootstrap, lambda r: None if r.type == "aws:iam/role:Role" else r)
    assert len(findings(root, stack, no_roles, EXIST)) == 2  # the deploy and preview roles' entries
