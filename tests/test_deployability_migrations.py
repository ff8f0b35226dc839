"""The schema-migration rules (pulumi_components/deployability/migrations.py): each over the component's
own stack or a rendered repository as generated (no finding), and over a copy with the defect it names."""

from __future__ import annotations

import copy
import dataclasses
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from conftest import render
from service_fixtures import run_service
from test_schema_migration import migrating_args

from pulumi_components.deployability import RepositoryView, StackView, check_repository, check_stack, stack_view
from pulumi_components.deployability.migrations import DB_INSTANCE, JOB, NETWORK_POLICY, WORKLOADS
from pulumi_components.schema_migration import JOB_ANNOTATION
from pulumi_components.testing import CapturedResource

DATABASE = CapturedResource(DB_INSTANCE, "svc-prod-db", {"engine": "postgres"})


def findings(view, rule: str) -> list[str]:
    if isinstance(view, RepositoryView):
        return [f"{f.subject}: {f.message}" for f in check_repository(view, only=[rule])]
    return [f"{f.subject}: {f.message}" for f in check_stack(view, only=[rule])]


@pytest.fixture(scope="module")
def view() -> StackView:
    run = run_service(migrating_args("canary"))
    base = stack_view("example", "prod", run)
    return dataclasses.replace(base, resources=(*base.resources, DATABASE))


def changed(view: StackView, types, edit) -> StackView:
    resources = []
    for resource in view.resources:
        if resource.type in types:
            inputs = copy.deepcopy(resource.inputs)
            edit(inputs)
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    return dataclasses.replace(view, resources=tuple(resources))


def without(view: StackView, *types) -> StackView:
    return dataclasses.replace(view, resources=tuple(r for r in view.resources if r.type not in types))


def job_pod(inputs):
    return inputs["spec"]["template"]["spec"]


# ---- migration-job-runs-as-the-service ----------------------------------------------------------
RUNS_AS = "migration-job-runs-as-the-service"


def test_the_components_job_runs_as_the_service(view):
    assert view.of_type(JOB) and findings(view, RUNS_AS) == []


def test_another_service_account_is_reported(view):
    def other(inputs):
        job_pod(inputs)["serviceAccountName"] = "default"

    (found,) = findings(changed(view, (JOB,), other), RUNS_AS)
    assert "runs as service account 'default', the workload as 'example'" in found


def test_another_image_is_reported(view):
    def other(inputs):
        job_pod(inputs)["containers"][0]["image"] = "postgres:17"

    (found,) = findings(changed(view, (JOB,), other), RUNS_AS)
    assert "runs image ['postgres:17'], not the release's" in found


def test_a_job_without_the_database_secret_is_reported(view):
    def unmounted(inputs):
        pod = job_pod(inputs)
        pod["volumes"] = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") != "example-database"]

    (found,) = findings(changed(view, (JOB,), unmounted), RUNS_AS)
    assert "does not mount the Secret with DATABASE_URL (example-database)" in found


def test_a_job_with_no_workload_beside_it_is_reported(view):
    (found,) = findings(without(view, *WORKLOADS), RUNS_AS)
    assert "no Deployment or Rollout in its namespace" in found


# ---- migration-before-rollout -------------------------------------------------------------------
BEFORE = "migration-before-rollout"


def test_the_rollout_names_the_job(view):
    assert findings(view, BEFORE) == []


def test_a_rollout_that_does_not_wait_for_the_job_is_reported(view):
    def unnamed(inputs):
        inputs["spec"]["template"]["metadata"]["annotations"].pop(JOB_ANNOTATION)

    (found,) = findings(changed(view, WORKLOADS, unnamed), BEFORE)
    assert f"names None under {JOB_ANNOTATION}, not the migration Job (example-migrate-" in found

    def stale(inputs):
        inputs["spec"]["template"]["metadata"]["annotations"][JOB_ANNOTATION] = "example-migrate-0000000000"

    (found,) = findings(changed(view, WORKLOADS, stale), BEFORE)
    assert "names 'example-migrate-0000000000'" in found


def test_a_database_without_a_migration_job_is_reported_and_no_database_needs_none(view):
    (found,) = findings(without(view, JOB), BEFORE)
    assert "has a database but no schema migration Job runs before the rollout" in found
    assert findings(without(view, JOB, DB_INSTANCE), BEFORE) == []


# ---- migration-job-reaches-the-database ---------------------------------------------------------
REACHES = "migration-job-reaches-the-database"


def test_the_job_reaches_the_database(view):
    assert findings(view, REACHES) == []


def test_a_policy_without_the_database_port_is_reported(view):
    def closed(inputs):
        if inputs["metadata"]["name"] == "example-migrate":
            inputs["spec"]["egress"] = inputs["spec"]["egress"][:1]

    (found,) = findings(changed(view, (NETWORK_POLICY,), closed), REACHES)
    assert "reach PostgreSQL (port 5432)" in found


def test_a_policy_that_selects_other_pods_does_not_count(view):
    def elsewhere(inputs):
        if inputs["metadata"]["name"] == "example-migrate":
            inputs["spec"]["podSelector"] = {"matchLabels": {"app.kubernetes.io/name": "other"}}

    assert len(findings(changed(view, (NETWORK_POLICY,), elsewhere), REACHES)) == 2


# ---- the workflows ------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["aws-eks", "aws-lambda"])
def repo(request, tmp_path_factory) -> Path:
    return render(
        tmp_path_factory.mktemp(request.param) / "svc", platform=request.param, database="postgres", service_slug="svc"
    )


def repository(root: Path, database: bool = True) -> RepositoryView:
    resources = (DATABASE,) if database else ()
    return RepositoryView(root, {"prod": StackView("svc", "prod", resources)})


def edited(repo: Path, tmp_path: Path, workflow: str, edit) -> Path:
    copy_root = Path(tempfile.mkdtemp(dir=tmp_path)) / "repo"
    shutil.copytree(repo / ".github", copy_root / ".github")
    path = copy_root / ".github" / "workflows" / workflow
    document = yaml.safe_load(path.read_text())
    edit(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return copy_root


def deploy_steps(document, env: str = "prod"):
    return document["jobs"][f"deploy-{env}"]["steps"]


def step_index(steps, pattern: str) -> int:
    return next(i for i, step in enumerate(steps) if re.search(pattern, str(step.get("run", ""))))


SNAPSHOT = "snapshot-before-migration"
CHECKED = "expand-contract-checked-in-ci"


def test_every_deploy_job_snapshots_first_and_ci_checks_expand_contract(repo):
    assert findings(repository(repo), SNAPSHOT) == []
    assert findings(repository(repo), CHECKED) == []


def test_a_deploy_job_without_a_snapshot_is_reported(repo, tmp_path):
    def drop(document):
        steps = deploy_steps(document)
        steps.pop(step_index(steps, r"release_database\.py snapshot"))

    found = findings(repository(edited(repo, tmp_path, "deploy.yml", drop)), SNAPSHOT)
    assert found == [".github/workflows/deploy.yml job deploy-prod: takes no database snapshot before the release"]


def test_a_snapshot_after_the_migration_is_reported(repo, tmp_path):
    lam = "migrate-lambda" in (repo / ".github" / "workflows" / "deploy.yml").read_text()

    def late(document):
        steps = deploy_steps(document)
        snapshot = steps.pop(step_index(steps, r"release_database\.py snapshot"))
        migrates = step_index(steps, r"migrate-lambda" if lam else r"pulumi up")
        steps.insert(migrates + 1, snapshot)

    (found,) = findings(repository(edited(repo, tmp_path, "deploy.yml", late)), SNAPSHOT)
    assert "before the snapshot" in found


def test_a_failure_summary_that_cannot_name_the_snapshot_is_reported(repo, tmp_path):
    def no_id(document):
        steps = deploy_steps(document)
        steps[step_index(steps, r"release_database\.py snapshot")].pop("id")

    (found,) = findings(repository(edited(repo, tmp_path, "deploy.yml", no_id)), SNAPSHOT)
    assert "has no `id: snapshot`" in found

    def always(document):
        steps = deploy_steps(document)
        steps[step_index(steps, r"release_database\.py failed")].pop("if")

    (found,) = findings(repository(edited(repo, tmp_path, "deploy.yml", always)), SNAPSHOT)
    assert "when the release fails (if: failure())" in found


def test_a_lambda_shift_before_its_migration_is_reported(repo, tmp_path):
    if "lambda_release.py deploy" not in (repo / ".github" / "workflows" / "deploy.yml").read_text():
        # EKS migrates in the Job `pulumi up` runs before the rollout (migration-before-rollout).
        assert "migrate-lambda" not in (repo / ".github" / "workflows" / "deploy.yml").read_text()
        return

    def shift_first(document):
        steps = deploy_steps(document)
        migration = steps.pop(step_index(steps, r"migrate-lambda"))
        steps.insert(step_index(steps, r"lambda_release\.py deploy") + 1, migration)

    (found,) = findings(repository(edited(repo, tmp_path, "deploy.yml", shift_first)), SNAPSHOT)
    assert "before the alias shifts to it" in found


def test_ci_without_the_expand_contract_check_is_reported(repo, tmp_path):
    def drop(document):
        for job in document["jobs"].values():
            job["steps"] = [s for s in job["steps"] if "service.migrate check" not in str(s.get("run", ""))]

    (found,) = findings(repository(edited(repo, tmp_path, "ci.yml", drop)), CHECKED)
    assert "python -m service.migrate check" in found


def test_without_a_database_the_workflow_rules_ask_nothing(repo):
    assert findings(repository(repo, database=False), SNAPSHOT) == []
    assert findings(repository(repo, database=False), CHECKED) == []
