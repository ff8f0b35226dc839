"""`production-waits-for-the-load-test` over a rendered repository's deploy workflow as generated (no
finding) and over copies with the gate moved, pointed elsewhere or removed (a finding each)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import render

from pulumi_components.deployability import RepositoryView, StackView, check_repository

RULE = "production-waits-for-the-load-test"
STAGING_URL = "https://svc.staging.example.com"


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("gates") / "svc", platform="aws-lambda", service_slug="svc")


def view(root: Path, stacks=("dev", "staging", "prod")) -> RepositoryView:
    outputs = {
        env: {"base_url": STAGING_URL if env == "staging" else f"https://svc.{env}.example.com"} for env in stacks
    }
    return RepositoryView(root, {env: StackView("svc", env, (), outputs[env]) for env in stacks})


def findings(root: Path, stacks=("dev", "staging", "prod")) -> list[str]:
    return [f"{f.subject}: {f.message}" for f in check_repository(view(root, stacks), only=[RULE])]


def mutated(repo: Path, tmp_path: Path, change) -> Path:
    copy = tmp_path / "svc"
    shutil.copytree(repo, copy)
    path = copy / ".github" / "workflows" / "deploy.yml"
    workflow = yaml.safe_load(path.read_text())
    change(workflow["jobs"])
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    return copy


def test_the_generated_workflow_gates_production(repo):
    jobs = yaml.safe_load((repo / ".github" / "workflows" / "deploy.yml").read_text())["jobs"]
    assert "load-test-staging" in jobs["deploy-prod"]["needs"]
    assert findings(repo) == []


def test_without_staging_there_is_nothing_to_gate(repo):
    assert findings(repo, stacks=("dev", "prod")) == []


def _replace_in_runs(job, old, new):
    for step in job["steps"]:
        if "run" in step:
            step["run"] = step["run"].replace(old, new)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda jobs: jobs["deploy-prod"].update(needs=[n for n in jobs["deploy-prod"]["needs"] if "load" not in n]),
            "deploy-prod: deploys prod without waiting for a staging load test and its SLO gate",
        ),
        (
            lambda jobs: _replace_in_runs(jobs["load-test-staging"], "svc.staging.example.com", "svc.dev.example.com"),
            "not staging's https://svc.staging.example.com",
        ),
        (
            lambda jobs: jobs["load-test-staging"].update(
                steps=[s for s in jobs["load-test-staging"]["steps"] if "load_test_gate" not in s.get("run", "")]
            ),
            "deploys prod without waiting for a staging load test and its SLO gate",
        ),
        (
            lambda jobs: jobs["load-test-staging"].update(
                steps=[s for s in jobs["load-test-staging"]["steps"] if "locust " not in s.get("run", "")]
            ),
            "(load-test-staging: runs no Locust load test)",
        ),
        (
            lambda jobs: jobs["load-test-staging"].update(needs=[]),
            "job load-test-staging: load-tests staging without waiting for staging's deploy",
        ),
    ],
)
def test_a_gate_that_blocks_nothing_is_reported(repo, tmp_path, change, message):
    reported = findings(mutated(repo, tmp_path, change))
    assert len(reported) == 1 and message in reported[0], reported


def test_a_platform_has_no_endpoint_to_gate_but_a_service_saying_so_is_still_gated(repo, tmp_path):
    ungated = mutated(repo, tmp_path, lambda jobs: jobs["deploy-prod"].update(needs=["deploy-staging"]))
    stacks = ("dev", "staging", "prod")

    def kinds(kind: str) -> RepositoryView:
        config = {"svc:kind": kind}
        return RepositoryView(ungated, {env: StackView("svc", env, (), {}, config) for env in stacks})

    assert check_repository(kinds("platform"), only=[RULE]) == []
    (finding,) = check_repository(kinds("service"), only=[RULE])
    assert "deploys prod without waiting for a staging load test" in finding.message
