"""The bootstrap rules (pulumi_components/deployability/bootstrap.py): each catches its defect in
a rendered repository whose workflows, README or bootstrap resources are changed to carry it, and
passes on the repository as generated."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import render

from pulumi_components.deployability import RepositoryView, StackView, check_repository
from pulumi_components.deployability.bootstrap import bootstrap_view
from pulumi_components.testing import CapturedResource

RULES = ["workflow-inputs-bootstrapped", "workflow-roles-trusted", "role-session-outlasts-job"]
REPOSITORY = "acme/svc"  # the repository_url answer, as owner/name


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    # Lambda on Pulumi Cloud with a database: a secret, the restore-test role, no runner variable.
    return render(
        tmp_path_factory.mktemp("bootstrap-rules") / "svc",
        service_slug="svc",
        repository_url=f"https://github.com/{REPOSITORY}",
        platform="aws-lambda",
        database="postgres",
        pulumi_backend="pulumi-cloud",
    )


@pytest.fixture(scope="module")
def view(repo) -> StackView:
    return bootstrap_view(repo)


def findings(repo: Path, view: StackView | None, rule: str) -> list[str]:
    return [f"{f.subject}: {f.message}" for f in check_repository(RepositoryView(repo, {}, view), only=[rule])]


def without(view: StackView, predicate) -> StackView:
    return dataclasses.replace(view, resources=tuple(r for r in view.resources if not predicate(r)))


def with_trust(view: StackView, role_name: str, change) -> StackView:
    """The view with `change(statement)` applied to the trust statement of role `role_name`."""
    resources = []
    for r in view.resources:
        if r.type == "aws:iam/role:Role" and r.inputs.get("name") == role_name:
            document = json.loads(r.inputs["assumeRolePolicy"])
            change(document["Statement"][0])
            r = CapturedResource(r.type, r.name, {**r.inputs, "assumeRolePolicy": json.dumps(document)})
        resources.append(r)
    return dataclasses.replace(view, resources=tuple(resources))


def test_the_generated_repository_passes_both_rules(repo, view):
    for rule in RULES:
        assert findings(repo, view, rule) == []


def test_the_rules_run_the_bootstrap_program_themselves_when_not_given_it(repo):
    assert findings(repo, None, "workflow-roles-trusted") == []


def test_a_secret_nobody_creates_is_caught(repo, view):
    missing = without(view, lambda r: r.type == "github:index/actionsSecret:ActionsSecret")
    found = findings(repo, missing, "workflow-inputs-bootstrapped")
    assert any("secrets.PULUMI_ACCESS_TOKEN" in f and "gh secret set PULUMI_ACCESS_TOKEN" in f for f in found), found


def test_a_variable_the_readme_sets_by_hand_is_accepted(repo, view, tmp_path):
    workflow = repo / ".github" / "workflows" / "extra.yml"
    readme = repo / "README.md"
    original = readme.read_text()
    workflow.write_text("on: push\njobs:\n  x:\n    runs-on: ${{ vars.EXTRA_RUNNER }}\n    steps: [{run: 'true'}]\n")
    try:
        assert any("vars.EXTRA_RUNNER" in f for f in findings(repo, view, "workflow-inputs-bootstrapped"))
        readme.write_text(original + "\n`gh variable set EXTRA_RUNNER --body self-hosted`\n")
        assert findings(repo, view, "workflow-inputs-bootstrapped") == []
    finally:
        workflow.unlink()
        readme.write_text(original)


def test_a_missing_bootstrap_program_is_caught(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    assert findings(tmp_path, None, "workflow-inputs-bootstrapped") == [
        "bootstrap/: no bootstrap program: nothing creates the roles, variables and secrets the workflows read"
    ]


def test_a_role_variable_pointing_at_a_role_the_bootstrap_does_not_create_is_caught(repo, view):
    missing = without(view, lambda r: r.type == "aws:iam/role:Role" and r.inputs.get("name") == "svc-prod-deploy")
    found = findings(repo, missing, "workflow-roles-trusted")
    assert any("vars.AWS_DEPLOY_ROLE_PROD" in f and "not a role the bootstrap program creates" in f for f in found)


def test_a_deploy_role_trusting_the_branch_instead_of_the_environment_is_caught(repo, view):
    def branch(statement):
        statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] = [
            f"repo:{REPOSITORY}:ref:refs/heads/main"
        ]

    found = findings(repo, with_trust(view, "svc-prod-deploy", branch), "workflow-roles-trusted")
    # The deploy and rollback jobs of prod present the environment sub; the branch sub is excess.
    assert any(f"repo:{REPOSITORY}:environment:prod" in f and "does not admit" in f for f in found), found
    assert any("also admits" in f and "ref:refs/heads/main" in f for f in found), found


def test_a_preview_role_that_pull_requests_cannot_assume_is_caught(repo, view):
    def main_only(statement):
        statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] = [
            f"repo:{REPOSITORY}:ref:refs/heads/main"
        ]

    found = findings(repo, with_trust(view, "svc-dev-preview", main_only), "workflow-roles-trusted")
    assert any("preview.yml" in f and ":pull_request" in f for f in found), found


def test_a_role_any_repository_could_assume_is_caught(repo, view):
    def wide_open(statement):
        del statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
        statement["Condition"]["StringLike"] = {"token.actions.githubusercontent.com:sub": "repo:*"}

    found = findings(repo, with_trust(view, "svc-staging-deploy", wide_open), "workflow-roles-trusted")
    assert any("also admits sub 'repo:*'" in f for f in found), found


def test_a_trust_without_audience_or_subject_is_caught(repo, view):
    def no_conditions(statement):
        statement["Condition"] = {}

    found = findings(repo, with_trust(view, "svc-restore-test", no_conditions), "workflow-roles-trusted")
    assert any("audience sts.amazonaws.com" in f for f in found), found
    assert any("any repository could assume it" in f for f in found), found


def test_a_role_trusting_another_provider_is_caught(repo, view):
    def other(statement):
        statement["Principal"] = {"Federated": "arn:aws:iam::123456789012:oidc-provider/gitlab.com"}

    found = findings(repo, with_trust(view, "svc-dev-deploy", other), "workflow-roles-trusted")
    assert any("not the bootstrap's GitHub OIDC provider" in f for f in found), found


def test_a_job_outliving_its_session_is_caught(repo, view):
    workflow = repo / ".github" / "workflows" / "restore-test.yml"
    original = workflow.read_text()
    try:
        # The restore test runs up to the RTO plus half an hour (90 min at 99.9): one hour is too short.
        workflow.write_text("\n".join(line for line in original.splitlines() if "role-duration-seconds" not in line))
        found = findings(repo, view, "role-session-outlasts-job")
        assert any("restore-test" in f and "60-min AWS session" in f for f in found), found
    finally:
        workflow.write_text(original)
    short = dataclasses.replace(
        view,
        resources=tuple(
            CapturedResource(r.type, r.name, {**r.inputs, "maxSessionDuration": 3600})
            if r.type == "aws:iam/role:Role" and r.inputs.get("name") == "svc-restore-test"
            else r
            for r in view.resources
        ),
    )
    found = findings(repo, short, "role-session-outlasts-job")
    assert any("svc-restore-test" in f and "the role allows 3600 s" in f for f in found), found
