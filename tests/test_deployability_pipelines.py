"""The pipelines and documents rules (pulumi_components/deployability/pipelines.py): each one over a
rendered repository as generated (no finding), and over a copy with the defect it names (a finding).
The program's own refusal of a stack without an image runs here under mocks, on a rendered repo."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pulumi
import pytest
from conftest import render
from pulumi.output import Unknown

from pulumi_components.deployability import RepositoryView, StackView, check_repository, check_stack, stack_view
from pulumi_components.testing import CapturedResource, CapturingMocks, run_program, stack_config

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-prod@sha256:" + "0" * 64


@pytest.fixture(scope="module")
def eks(tmp_path_factory) -> Path:
    return render(
        tmp_path_factory.mktemp("eks") / "svc", platform="aws-eks", deployment_strategy="canary", service_slug="svc"
    )


@pytest.fixture(scope="module")
def lam(tmp_path_factory) -> Path:
    return render(
        tmp_path_factory.mktemp("lambda") / "svc", platform="aws-lambda", pulumi_backend="s3", service_slug="svc"
    )


def release(repo: Path, stack: str = "prod", **extra):
    config = {**stack_config(repo / f"Pulumi.{stack}.yaml"), "svc:image": IMAGE, **extra}
    return run_program(repo / "infra", project="svc", stack=stack, config=config)


@pytest.fixture(scope="module")
def eks_view(eks) -> StackView:
    return stack_view("svc", "prod", release(eks), stack_config(eks / "Pulumi.prod.yaml"))


def findings(view, rule: str) -> list[str]:
    if isinstance(view, RepositoryView):
        return [f"{f.subject}: {f.message}" for f in check_repository(view, only=[rule])]
    return [f"{f.subject}: {f.message}" for f in check_stack(view, only=[rule])]


# ---- workload-image-by-digest -------------------------------------------------------------------
def with_workload(view: StackView, mutate) -> StackView:
    """The stack with its workload (the Rollout) changed by `mutate(inputs)`."""
    resources = []
    for r in view.resources:
        if r.type == "kubernetes:argoproj.io/v1alpha1:Rollout":
            inputs = copy.deepcopy(r.inputs)
            mutate(inputs)
            r = CapturedResource(r.type, r.name, inputs)
        resources.append(r)
    return StackView(view.service, view.env, tuple(resources), view.outputs, view.config)


def container(inputs):
    return inputs["spec"]["template"]["spec"]["containers"][0]


def test_a_release_pins_every_workload_container_by_digest(eks_view):
    assert eks_view.of_type("kubernetes:argoproj.io/v1alpha1:Rollout")
    assert findings(eks_view, "workload-image-by-digest") == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda i: container(i).pop("image"), "has no image"),
        (lambda i: container(i).update(image=""), "has no image"),
        (lambda i: container(i).update(image="registry.example/app:v1"), "not pinned by digest"),
        (lambda i: container(i).update(image="registry.example/app@sha256:abc"), "not pinned by digest"),
        (lambda i: i["spec"]["template"]["spec"].update(containers=[]), "no containers"),
        (
            lambda i: i["spec"]["template"]["spec"].update(initContainers=[{"name": "migrate", "image": None}]),
            "container migrate has no image",
        ),
    ],
)
def test_a_workload_without_a_pinned_image_is_reported(eks_view, mutate, message):
    (finding,) = findings(with_workload(eks_view, mutate), "workload-image-by-digest")
    assert message in finding and "Rollout" in finding


@pytest.mark.parametrize(
    ("type_", "spec"),
    [
        ("kubernetes:apps/v1:Deployment", {"template": {"spec": {"containers": [{"name": "app"}]}}}),
        ("kubernetes:batch/v1:Job", {"template": {"spec": {"containers": [{"name": "app", "image": "a:1"}]}}}),
        (
            "kubernetes:batch/v1:CronJob",
            {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": ""}]}}}}},
        ),
    ],
)
def test_every_kind_of_workload_is_read(eks_view, type_, spec):
    extra = CapturedResource(type_, "extra", {"metadata": {"name": "extra"}, "spec": spec})
    view = StackView("svc", "prod", (*eks_view.resources, extra))
    (finding,) = findings(view, "workload-image-by-digest")
    assert finding.startswith(f"{type_} extra")


# ---- the program: no image, no workload ---------------------------------------------------------
def test_the_program_refuses_a_fresh_stack_without_an_image_before_any_resource(eks, monkeypatch):
    created = []
    register = CapturingMocks.new_resource

    def recording(self, args):
        created.append(args.typ)
        return register(self, args)

    monkeypatch.setattr(CapturingMocks, "new_resource", recording)
    config = stack_config(eks / "Pulumi.prod.yaml")
    with pytest.raises(ValueError, match=r"svc:image is not set") as error:
        run_program(eks / "infra", project="svc", stack="prod", config=config)
    assert "--config svc:image=<repository>@sha256:<digest>" in str(error.value)
    assert "svc-prod registry" in str(error.value)  # where the deploy workflow pushes
    assert created == []
    with pytest.raises(ValueError, match="pinned by digest"):
        release(eks, **{"svc:image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-prod:latest"})


def test_a_preview_of_a_stack_never_deployed_shows_the_image_as_unknown(eks, monkeypatch):
    """`pulumi preview` without an image (a stack never deployed has none) runs; the image is unknown."""
    set_mocks = pulumi.runtime.set_mocks
    monkeypatch.setattr(pulumi.runtime, "set_mocks", lambda mocks, **kw: set_mocks(mocks, **{**kw, "preview": True}))
    run = run_program(eks / "infra", project="svc", stack="prod", config=stack_config(eks / "Pulumi.prod.yaml"))
    (rollout,) = run.of_type("kubernetes:argoproj.io/v1alpha1:Rollout")
    assert isinstance(container(rollout.inputs)["image"], Unknown)  # "output<string>" in the preview
    # The rule holds releases to a pinned image; a preview's unknown one is not a release.
    assert findings(stack_view("svc", "prod", run), "workload-image-by-digest")


def test_the_program_reads_the_registry_bootstrap_created(eks):
    run = release(eks)
    assert not run.of_type("aws:ecr/repository:Repository")  # created before the first deploy, not here
    assert run.output("image_repository_url") == "123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-prod"
    assert run.output("image") == IMAGE


# ---- repository rules ---------------------------------------------------------------------------
def repo_copy(repo: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(repo, tmp_path / "repo", symlinks=True))


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


@pytest.fixture(scope="module")
def eks_repo_view(eks, eks_view) -> RepositoryView:
    return RepositoryView(eks, {"prod": eks_view})


def view_of(root: Path, like: RepositoryView) -> RepositoryView:
    return RepositoryView(root, like.stacks)


RULES = ("pulumi-runs-policy-pack", "release-passes-image", "documented-settings", "documents-name-what-exists")


@pytest.mark.parametrize("rule", RULES)
def test_generated_repositories_pass(eks_repo_view, lam, rule):
    assert findings(eks_repo_view, rule) == []
    assert findings(RepositoryView(lam, {}), rule) == []


def test_an_update_without_the_policy_pack_is_reported(eks_repo_view, tmp_path):
    root = repo_copy(eks_repo_view.root, tmp_path)
    edit(root / ".github/workflows/deploy.yml", "--yes --diff --policy-pack policy", "--yes --diff")
    found = findings(view_of(root, eks_repo_view), "pulumi-runs-policy-pack")
    assert found and all("deploy.yml" in f and "runs without --policy-pack" in f for f in found)


def test_a_pack_whose_dependencies_are_not_installed_is_reported(eks_repo_view, tmp_path):
    root = repo_copy(eks_repo_view.root, tmp_path)
    drift = root / ".github/workflows/drift.yml"
    drift.write_text(drift.read_text().replace("-r policy/requirements.txt", "-r requirements.txt"))
    found = findings(view_of(root, eks_repo_view), "pulumi-runs-policy-pack")
    assert found and all("drift.yml" in f and "installs policy/requirements.txt into policy/venv" in f for f in found)


def test_a_missing_pack_is_reported_and_mentions_are_not_commands(eks_repo_view, tmp_path):
    root = repo_copy(eks_repo_view.root, tmp_path)
    (root / "policy/PulumiPolicy.yaml").unlink()
    found = findings(view_of(root, eks_repo_view), "pulumi-runs-policy-pack")
    assert found and all("no PulumiPolicy.yaml" in f for f in found)
    # drift.yml's issue text says "run `pulumi up --stack ...`": a mention, never reported as a command.
    assert "pulumi up --stack" in (root / ".github/workflows/drift.yml").read_text()
    assert not any("to undo it" in f for f in found)


def test_an_update_of_a_workload_stack_without_the_image_is_reported(eks_repo_view, lam, tmp_path):
    root = repo_copy(eks_repo_view.root, tmp_path)
    edit(root / ".github/workflows/deploy.yml", ' --config "svc:image=$IMAGE"', "", count=-1)
    found = findings(view_of(root, eks_repo_view), "release-passes-image")
    assert found and all("deploy.yml" in f and "without --config svc:image" in f for f in found)
    # Lambda stacks run no container: their updates pass no image.
    assert "svc:image" not in (lam / ".github/workflows/deploy.yml").read_text()


def test_an_undocumented_or_unused_setting_is_reported(eks_repo_view, tmp_path):
    root = repo_copy(eks_repo_view.root, tmp_path)
    edit(root / ".github/workflows/ci.yml", "timeout-minutes: 5", "timeout-minutes: ${{ fromJSON(vars.CI_TIMEOUT) }}")
    readme = root / "README.md"
    table_row = re.search(r"^\| `AWS_DEPLOY_ROLE_PROD` \|.*$", readme.read_text(), re.M).group(0)
    edit(readme, table_row, table_row + "\n| `SLACK_WEBHOOK` | secret | deploy | nothing reads it |")
    found = findings(view_of(root, eks_repo_view), "documented-settings")
    assert any("read CI_TIMEOUT" in f for f in found) and any("lists SLACK_WEBHOOK" in f for f in found)
    assert len(found) == 2


def test_a_link_to_a_missing_file_or_a_command_against_a_missing_stack_is_reported(eks_repo_view, tmp_path):
    root = repo_copy(eks_repo_view.root, tmp_path)
    doc = root / "docs/pipelines.md"
    doc.write_text(
        doc.read_text()
        + "\nSee [the runbook](runbooks/NoSuchAlert.md), [the guardrails](guardrails.md#rules),"
        + " [GitHub](https://docs.github.com) and [above](#ci).\n"
        + "\n`pulumi up --stack qa` and `pulumi stack select <env>`; `pulumi stack init scratch`"
        + " then `pulumi preview --stack scratch`.\n"
    )
    found = findings(view_of(root, eks_repo_view), "documents-name-what-exists")
    assert sorted(found) == [
        "docs/pipelines.md: links to runbooks/NoSuchAlert.md, which does not exist",
        "docs/pipelines.md: runs a command against stack 'qa'; the stacks are dev, prod, staging",
    ]
