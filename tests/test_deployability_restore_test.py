"""The restore-test rule (pulumi_components/deployability/restore_test.py): the rendered restore-test
workflow, production's stack (the components' own resources) and the bootstrap program as generated
give no finding; each defect that would keep the weekly test from migrating its copy is reported."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import render
from test_schema_migration import migrating_args

from pulumi_components.deployability import RepositoryView, StackView, check_repository, stack_view
from pulumi_components.deployability.bootstrap import bootstrap_view
from pulumi_components.deployability.cluster import ROLE_POLICY
from pulumi_components.deployability.restore_test import ALIAS, FUNCTION, RBAC_BINDING, RBAC_ROLE, WORKFLOW
from pulumi_components.kubernetes_service import KubernetesService
from pulumi_components.restore_test_access import RestoreTestAccess, RestoreTestAccessArgs
from pulumi_components.testing import CapturedResource, run_with_mocks

RULE = "restore-test-migrates-its-copy"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"


def findings(repo: RepositoryView) -> list[str]:
    return [f"{f.subject}: {f.message}" for f in check_repository(repo, only=[RULE])]


@pytest.fixture(scope="module", params=["aws-eks", "aws-lambda"])
def rendered(request, tmp_path_factory) -> tuple[str, Path, StackView]:
    # The answers tests/test_deployability_migrations.py renders with: one cached render each.
    root = render(
        tmp_path_factory.mktemp(request.param) / "svc", platform=request.param, database="postgres", service_slug="svc"
    )
    return request.param, root, bootstrap_view(root)


@pytest.fixture(scope="module")
def kube_prod() -> StackView:
    """Production's migrating workload and the restore test's access, as the components build them."""

    def build():
        KubernetesService("svc", migrating_args("canary", name="svc"))
        RestoreTestAccess("svc-prod", RestoreTestAccessArgs(service="svc", cluster_name="svc-prod"))

    return stack_view("svc", "prod", run_with_mocks(build))


LAMBDA_PROD = StackView(
    "svc",
    "prod",
    (
        CapturedResource(FUNCTION, "svc-prod", {"name": "svc-prod", "environment": {"variables": {"DB_HOST": "db"}}}),
        CapturedResource(ALIAS, "svc-prod-live", {"name": "live", "functionName": "svc-prod"}),
    ),
)


def view(rendered, kube_prod, *, root=None, prod=None, bootstrap=None) -> RepositoryView:
    platform, rendered_root, rendered_bootstrap = rendered
    stack = prod or (kube_prod if platform == "aws-eks" else LAMBDA_PROD)
    return RepositoryView(root or rendered_root, {"prod": stack}, bootstrap or rendered_bootstrap)


def edited_workflow(root: Path, edit) -> Path:
    copy_root = Path(tempfile.mkdtemp()) / "repo"
    shutil.copytree(root / ".github", copy_root / ".github")
    path = copy_root / WORKFLOW
    document = yaml.safe_load(path.read_text())
    edit(document["jobs"]["restore-test"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return copy_root


def restore_step(job):
    return next(step for step in job["steps"] if "scripts/restore_test.py" in str(step.get("run", "")))


def changed(stack: StackView, resource_type: str, edit) -> StackView:
    resources = []
    for resource in stack.resources:
        if resource.type == resource_type:
            inputs = copy.deepcopy(resource.inputs)
            edit(inputs)
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    return dataclasses.replace(stack, resources=tuple(resources))


def test_as_generated_the_restore_test_migrates_its_copy(rendered, kube_prod):
    assert findings(view(rendered, kube_prod)) == []


def test_a_restore_without_the_migrations_is_reported(rendered, kube_prod):
    platform, root, _ = rendered

    def plain(job):
        step = restore_step(job)
        step["run"] = step["run"].split("--rto-minutes")[0] + "--rto-minutes 60\n"

    (found,) = findings(view(rendered, kube_prod, root=edited_workflow(root, plain)))
    expected = "kube" if platform == "aws-eks" else "lambda"
    assert f"restores without applying the migrations (expected --migrate {expected}, got None)" in found


def test_the_wrong_platform_s_migration_is_reported(rendered, kube_prod):
    platform, root, _ = rendered

    def swap(job):
        step = restore_step(job)
        kube = "--migrate kube" in step["run"]
        step["run"] = step["run"].split("--migrate")[0] + (
            "--migrate lambda --function f\n" if kube else "--migrate kube --namespace svc --migration-job j\n"
        )

    (found,) = findings(view(rendered, kube_prod, root=edited_workflow(root, swap)))
    assert "restores without applying the migrations" in found


def test_kube_a_job_off_production_s_runners_or_without_kubectl_is_reported(rendered, kube_prod):
    platform, root, _ = rendered
    if platform != "aws-eks":
        pytest.skip("Lambda's restore test calls only public AWS APIs, from GitHub's runners")

    def hosted(job):
        job["runs-on"] = "ubuntu-latest"

    (found,) = findings(view(rendered, kube_prod, root=edited_workflow(root, hosted)))
    assert "runs on ['ubuntu-latest'], but production's cluster API is reached from ['svc-prod']" in found

    def no_tools(job):
        job["steps"] = [step for step in job["steps"] if step.get("id") != "cluster-tools"]

    (found,) = findings(view(rendered, kube_prod, root=edited_workflow(root, no_tools)))
    assert "calls kubectl without first installing it" in found


def test_kube_a_role_without_access_to_the_namespace_is_reported(rendered, kube_prod):
    platform, _, _ = rendered
    if platform != "aws-eks":
        pytest.skip("no cluster on Lambda")
    no_entry = dataclasses.replace(kube_prod, resources=tuple(r for r in kube_prod.resources if r.type != ACCESS_ENTRY))
    (found,) = findings(view(rendered, kube_prod, prod=no_entry))
    assert found == "stack prod: the restore-test role svc-restore-test has no access entry on the prod cluster"

    def elsewhere(inputs):
        inputs["metadata"]["namespace"] = "default"

    (found,) = findings(view(rendered, kube_prod, prod=changed(kube_prod, RBAC_BINDING, elsewhere)))
    assert "is bound to no Role in namespace 'svc'" in found

    def read_only(inputs):
        for rule in inputs["rules"]:
            rule["verbs"] = [verb for verb in rule["verbs"] if verb not in ("patch", "create")]

    (found,) = findings(view(rendered, kube_prod, prod=changed(kube_prod, RBAC_ROLE, read_only)))
    assert "may not create jobs, patch jobs, create secrets (scripts/restore_test.py does)" in found


def without_action(bootstrap: StackView, action: str) -> StackView:
    def drop(inputs):
        document = json.loads(inputs["policy"])
        for statement in document["Statement"]:
            actions = (
                [a for a in statement["Action"]] if isinstance(statement["Action"], list) else [statement["Action"]]
            )
            statement["Action"] = [a for a in actions if a != action] or ["sts:GetCallerIdentity"]
        inputs["policy"] = json.dumps(document)

    return changed(bootstrap, ROLE_POLICY, drop)


def test_a_role_that_cannot_set_the_copy_s_password_is_reported(rendered, kube_prod):
    _, _, bootstrap = rendered
    (found,) = findings(view(rendered, kube_prod, bootstrap=without_action(bootstrap, "rds:ModifyDBInstance")))
    assert found.startswith("bootstrap: svc-restore-test may not set the copy's master password")


def test_a_role_that_cannot_reach_the_migration_is_reported(rendered, kube_prod):
    platform, _, bootstrap = rendered
    if platform == "aws-eks":
        (found,) = findings(view(rendered, kube_prod, bootstrap=without_action(bootstrap, "eks:DescribeCluster")))
        assert "may not describe the cluster (eks:DescribeCluster)" in found
    else:
        (found,) = findings(view(rendered, kube_prod, bootstrap=without_action(bootstrap, "lambda:InvokeFunction")))
        assert "may not invoke the function svc-prod:live (lambda:InvokeFunction)" in found


def test_a_production_that_migrates_nothing_asks_nothing(rendered, kube_prod):
    assert findings(view(rendered, kube_prod, prod=StackView("svc", "prod", ()))) == []


# ---- the component ---------------------------------------------------------------------------------
def test_the_access_is_one_group_bound_in_the_namespace_and_no_access_policy(kube_prod):
    (entry,) = kube_prod.of_type(ACCESS_ENTRY)
    assert entry.inputs["principalArn"].endswith(":role/svc-restore-test")
    assert entry.inputs["kubernetesGroups"] == ["svc-restore-test"] and entry.inputs["type"] == "STANDARD"
    assert not kube_prod.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    (role,) = kube_prod.of_type(RBAC_ROLE)
    verbs = {(r["resources"][0], v) for r in role.inputs["rules"] for v in r["verbs"]}
    assert ("secrets", "get") not in verbs and ("secrets", "list") not in verbs  # it reads no Secret
    assert not any(resource in ("deployments", "rollouts") for resource, _ in verbs)  # nor touches the workload
    (binding,) = kube_prod.of_type(RBAC_BINDING)
    assert binding.inputs["metadata"]["namespace"] == role.inputs["metadata"]["namespace"] == "svc"


def test_the_access_needs_a_service():
    with pytest.raises(ValueError, match="service: name the service"):
        RestoreTestAccessArgs(service="", cluster_name="c").validate()
