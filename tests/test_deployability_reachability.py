"""Reachability rules: a private cluster has its runners, and every job that reaches its API runs on them."""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import render

from pulumi_components.deployability import RepositoryView, StackView, check_repository, check_stack, stack_view
from pulumi_components.testing import run_program, stack_config

STACK_RULE = ["private-cluster-has-runners"]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-prod@sha256:" + "0" * 64  # what a release passes
REPO_RULE = ["cluster-api-reachable"]


@dataclass
class Res:
    type: str
    name: str
    inputs: dict[str, Any] = field(default_factory=dict)


def cluster(public: bool = False, cidrs: list[str] | None = None) -> Res:
    vpc: dict[str, Any] = {"endpointPrivateAccess": True, "endpointPublicAccess": public}
    if cidrs is not None:
        vpc["publicAccessCidrs"] = cidrs
    return Res("aws:eks/cluster:Cluster", "svc-prod-cluster", {"vpcConfig": vpc})


def scale_set(name: str = "svc-prod") -> Res:
    return Res(
        "kubernetes:helm.sh/v3:Release",
        "svc-prod-gha-runner-scale-set",
        {
            "name": "gha-runner-scale-set",
            "chart": "oci://ghcr.io/actions/actions-runner-controller-charts/gha-runner-scale-set",
            "values": {"runnerScaleSetName": name},
        },
    )


def workload() -> Res:
    return Res("kubernetes:apps/v1:Deployment", "svc-prod-deployment")


def stack(*resources: Res, env: str = "prod") -> StackView:
    return StackView("svc", env, resources)


def findings(view: StackView) -> list[str]:
    return [f.message for f in check_stack(view, only=STACK_RULE)]


# ---- the stack rule ---------------------------------------------------------------------------


def test_a_private_cluster_with_its_scale_set_passes():
    assert findings(stack(cluster(), scale_set(), workload())) == []


def test_a_private_cluster_without_runners_is_reported():
    (message,) = findings(stack(cluster(), workload()))
    assert "installs no gha-runner-scale-set release" in message and "'svc-prod'" in message


def test_a_cluster_public_only_to_an_admin_address_still_needs_runners():
    (message,) = findings(stack(cluster(public=True, cidrs=["203.0.113.7/32"]), workload()))
    assert "no job can reach it" in message


def test_a_scale_set_under_another_name_is_reported():
    (message,) = findings(stack(cluster(), scale_set("svc-production"), workload()))
    assert "named svc-production" in message and "'svc-prod'" in message


def test_the_scale_set_name_defaults_to_the_release_name():
    release = scale_set()
    release.inputs["values"] = {}
    release.inputs["name"] = "svc-prod"
    assert findings(stack(cluster(), release, workload())) == []


@pytest.mark.parametrize("cidrs", [None, ["0.0.0.0/0"]])
def test_a_cluster_open_to_the_internet_needs_no_runners_here(cidrs):
    # (the guardrail eks-endpoint-private refuses such a cluster; this rule is about reachability only)
    assert findings(stack(cluster(public=True, cidrs=cidrs), workload())) == []


def test_stacks_without_a_cluster_are_not_concerned():
    assert findings(stack(Res("aws:lambda/function:Function", "fn"))) == []


# ---- the repository rule ----------------------------------------------------------------------

DEPLOY = """
name: deploy
on: push
jobs:
  deploy-prod:
    runs-on: {runs_on}
    environment:
      name: prod
    steps:
      - run: pulumi stack output --json --stack prod > outputs.json
      - run: pulumi up --stack prod --yes
      - run: |
          aws eks update-kubeconfig --name svc-prod
          python scripts/kube_release.py follow --kind rollout --namespace svc --name svc
  image:
    runs-on: ubuntu-latest
    steps:
      - run: docker build app
"""


def repository(tmp_path, workflow: str, stacks: dict[str, StackView]) -> RepositoryView:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    (workflows / "deploy.yml").write_text(textwrap.dedent(workflow))
    return RepositoryView(tmp_path, stacks)


def repo_findings(repo: RepositoryView) -> list[str]:
    return [f"{f.subject}: {f.message}" for f in check_repository(repo, only=REPO_RULE)]


PRIVATE = {"prod": stack(cluster(), scale_set(), workload())}


def test_jobs_on_the_environments_scale_set_pass(tmp_path):
    assert repo_findings(repository(tmp_path, DEPLOY.format(runs_on="svc-prod"), PRIVATE)) == []


def test_a_deploy_job_on_a_hosted_runner_is_reported_for_pulumi_and_kubectl(tmp_path):
    found = repo_findings(repository(tmp_path, DEPLOY.format(runs_on="ubuntu-latest"), PRIVATE))
    assert len(found) == 2
    assert all(f.startswith(".github/workflows/deploy.yml job deploy-prod") for f in found)
    assert "runs pulumi up against 'prod'" in found[0] and "'svc-prod'" in found[0]
    assert "runs kube_release.py against 'prod'" in found[1]


def test_a_variable_runner_label_is_reported(tmp_path):
    found = repo_findings(repository(tmp_path, DEPLOY.format(runs_on="${{ vars.DEPLOY_RUNNER || 'ubuntu-latest' }}"),
                                     PRIVATE))  # fmt: skip
    assert found and "must run on the runner scale set 'svc-prod'" in found[0]


def test_another_environments_runner_is_reported(tmp_path):
    views = {**PRIVATE, "staging": stack(cluster(), scale_set("svc-staging"), workload(), env="staging")}
    found = repo_findings(repository(tmp_path, DEPLOY.format(runs_on="svc-staging"), views))
    assert len(found) == 2


def test_previews_and_drift_name_their_stack_with_the_flag(tmp_path):
    workflow = """
    on: pull_request
    jobs:
      preview-prod:
        runs-on: ubuntu-latest
        steps:
          - run: |
              set -o pipefail
              pulumi preview --stack prod --diff --policy-pack policy 2>&1 | tee out.txt
    """
    (found,) = repo_findings(repository(tmp_path, workflow, PRIVATE))
    assert "runs pulumi preview against 'prod'" in found
    ok = workflow.replace("ubuntu-latest", "svc-prod")
    assert repo_findings(repository(tmp_path, ok, PRIVATE)) == []


def test_the_pulumi_action_is_read_too(tmp_path):
    workflow = """
    on: push
    jobs:
      up:
        runs-on: ubuntu-latest
        steps:
          - uses: pulumi/actions@0000000000000000000000000000000000000000
            with:
              command: refresh
              stack-name: prod
    """
    (found,) = repo_findings(repository(tmp_path, workflow, PRIVATE))
    assert "pulumi refresh (pulumi/actions)" in found


def test_reading_outputs_needs_no_cluster(tmp_path):
    workflow = """
    on: schedule
    jobs:
      restore-test:
        runs-on: ubuntu-latest
        steps:
          - run: pulumi stack output --json --stack prod > outputs.json
    """
    assert repo_findings(repository(tmp_path, workflow, PRIVATE)) == []


def test_kubectl_without_a_known_environment_is_reported(tmp_path):
    workflow = """
    on: push
    jobs:
      poke:
        runs-on: ubuntu-latest
        steps:
          - run: kubectl get pods
    """
    (found,) = repo_findings(repository(tmp_path, workflow, PRIVATE))
    assert "names no stack or environment" in found


@pytest.mark.parametrize(("runs_on", "reported"), [("ubuntu-latest", True), ("svc-prod", False)])
def test_kubectl_after_reading_one_stack_s_outputs_works_on_that_stack_s_cluster(tmp_path, runs_on, reported):
    """The restore test: no environment, prod's outputs, then kubectl against prod's cluster."""
    workflow = f"""
    on: schedule
    jobs:
      restore-test:
        runs-on: {runs_on}
        steps:
          - run: pulumi stack output --json --stack prod > outputs.json
          - run: kubectl get job svc-migrate-0123456789 --namespace svc
    """
    found = repo_findings(repository(tmp_path, workflow, PRIVATE))
    assert bool(found) is reported
    assert all("whose cluster API is private, on runs-on ['ubuntu-latest']" in f for f in found)


def test_an_unknown_stack_is_reported(tmp_path):
    workflow = (
        DEPLOY.format(runs_on="svc-prod")
        .replace("name: prod", "name: qa")
        .replace("--stack prod --y", "--stack qa --y")
    )
    found = repo_findings(repository(tmp_path, workflow, PRIVATE))
    assert len(found) == 2  # pulumi up and the release script
    assert all("'qa', which is not a stack of this repository" in f for f in found)


def test_lambda_stacks_run_anywhere(tmp_path):
    views = {"prod": stack(Res("aws:lambda/function:Function", "fn"))}
    assert repo_findings(repository(tmp_path, DEPLOY.format(runs_on="ubuntu-latest"), views)) == []


# ---- a generated repository, its program run under mocks --------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    repo = render(tmp_path_factory.mktemp("reach") / "svc", platform="aws-eks", service_slug="svc",
                  environments=["staging", "prod"], database="none")  # fmt: skip
    views = {}
    for env in ("staging", "prod"):
        config = {**stack_config(repo / f"Pulumi.{env}.yaml"), "svc:image": IMAGE}
        views[env] = stack_view("svc", env, run_program(repo / "infra", project="svc", stack=env, config=config))
    return repo, views


def test_a_generated_eks_repository_passes_both_rules(generated):
    repo, views = generated
    for view in views.values():
        assert check_stack(view, only=STACK_RULE) == []
    assert check_repository(RepositoryView(repo, views), only=REPO_RULE) == []


def test_the_generated_workflows_fail_the_rule_on_hosted_runners(generated, tmp_path):
    repo, views = generated
    copy_root = tmp_path / "copy"
    (copy_root / ".github" / "workflows").mkdir(parents=True)
    for path in (repo / ".github" / "workflows").glob("*.yml"):
        text = path.read_text().replace("runs-on: svc-prod", "runs-on: ubuntu-latest")
        (copy_root / ".github" / "workflows" / path.name).write_text(text)
    found = {f.subject for f in check_repository(RepositoryView(copy_root, views), only=REPO_RULE)}
    assert {
        ".github/workflows/deploy.yml job deploy-prod",
        ".github/workflows/rollback.yml job rollback-prod",
        ".github/workflows/preview.yml job preview-prod",
        ".github/workflows/drift.yml job drift-prod",
    } <= found
    assert not [subject for subject in found if "staging" in subject]


def test_a_generated_stack_without_its_runners_fails_the_stack_rule(generated):
    _, views = generated
    prod = views["prod"]
    stripped = [r for r in prod.resources if "gha-runner-scale-set" not in str(r.inputs.get("chart", ""))]
    view = StackView(prod.service, prod.env, stripped, prod.outputs, copy.deepcopy(dict(prod.config)))
    assert [f.rule for f in check_stack(view, only=STACK_RULE)] == STACK_RULE


def test_the_first_run_opening_reaches_the_cluster_and_passes_the_guardrails(generated):
    from pulumi_components.guardrails import Context, check_resources
    from pulumi_components.reliability import from_config

    repo, _ = generated
    config = {
        **stack_config(repo / "Pulumi.prod.yaml"),
        "svc:image": IMAGE,
        "svc:bootstrap_api_cidrs": ["203.0.113.7/32"],
    }
    run = run_program(repo / "infra", project="svc", stack="prod", config=config)
    (cluster,) = run.of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.7/32"]
    assert check_resources(run.resources, Context.from_plan(from_config(config["svc:plan"]))) == []
    # Open to one admin only, so CI still needs (and has) its runners.
    assert check_stack(stack_view("svc", "prod", run), only=STACK_RULE) == []


def test_the_first_run_refuses_to_open_the_api_to_the_world(generated):
    repo, _ = generated
    config = {
        **stack_config(repo / "Pulumi.prod.yaml"),
        "svc:image": IMAGE,
        "svc:bootstrap_api_cidrs": ["0.0.0.0/0"],
    }
    with pytest.raises(Exception, match=r"bootstrap_api_cidrs: 0\.0\.0\.0/0 opens the cluster API to more than one"):
        run_program(repo / "infra", project="svc", stack="prod", config=config)


TOOLS_RULE = "cluster-clients-installed"


def tools_findings(repo: RepositoryView) -> list[str]:
    return [f.subject for f in check_repository(repo, only=[TOOLS_RULE])]


def test_a_cluster_job_on_the_in_vpc_runner_without_the_aws_cli_and_kubectl_is_reported(tmp_path):
    repo = repository(tmp_path, DEPLOY.format(runs_on="svc-prod"), PRIVATE)
    assert tools_findings(repo) == [".github/workflows/deploy.yml job deploy-prod"]


def test_installing_them_after_the_first_cluster_call_is_too_late(tmp_path):
    workflow = DEPLOY.format(runs_on="svc-prod").replace(
        "      - run: pulumi stack output",
        "      - run: pulumi up --stack prod --yes\n      - id: cluster-tools\n        run: pip install awscli\n"
        "      - run: pulumi stack output",
    )
    assert tools_findings(repository(tmp_path, workflow, PRIVATE)) == [".github/workflows/deploy.yml job deploy-prod"]


def test_jobs_on_githubs_runners_need_no_install(tmp_path):
    assert tools_findings(repository(tmp_path, DEPLOY.format(runs_on="ubuntu-latest"), PRIVATE)) == []


def test_installing_them_first_passes(tmp_path):
    workflow = DEPLOY.format(runs_on="svc-prod").replace(
        "      - run: pulumi stack output",
        "      - id: cluster-tools\n        run: pip install awscli\n      - run: pulumi stack output",
    )
    assert tools_findings(repository(tmp_path, workflow, PRIVATE)) == []


def test_the_generated_cluster_jobs_install_their_tools_and_fail_without(generated, tmp_path):
    repo, views = generated
    assert tools_findings(RepositoryView(repo, views)) == []
    copy_root = tmp_path / "copy"
    (copy_root / ".github" / "workflows").mkdir(parents=True)
    for path in (repo / ".github" / "workflows").glob("*.yml"):
        text = path.read_text().replace("id: cluster-tools", "id: something-else")
        (copy_root / ".github" / "workflows" / path.name).write_text(text)
    found = set(tools_findings(RepositoryView(copy_root, views)))
    assert {f".github/workflows/{wf}.yml job {wf}-prod" for wf in ("deploy", "rollback", "preview", "drift")} <= found
