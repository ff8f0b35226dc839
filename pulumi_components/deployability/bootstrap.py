"""Rules between the workflows and the bootstrap program (`bootstrap/`), which creates what the
workflows read before their first run.

- every `vars.X` and `secrets.X` a workflow reads is created by the bootstrap program, or the
  README says how to set it by hand (`gh variable set X` / `gh secret set X`);
- every role a job assumes (`role-to-assume: ${{ vars.X }}`) is a role the bootstrap creates,
  trusting GitHub's OIDC provider with audience sts.amazonaws.com and exactly the `sub` the job's
  token carries: `environment:<env>` for a job bound to an environment, `pull_request` for a
  pull-request trigger, `ref:refs/heads/main` for push, schedule and manual runs on main; and no
  subject that no job needs;
- a job's AWS session lasts as long as the job may run: the session it asks for
  (`role-duration-seconds`, one hour by default) covers its `timeout-minutes`, and the role allows
  a session that long (`maxSessionDuration`).

The bootstrap's resources come from `RepositoryView.bootstrap` when the caller ran it, else from
running `bootstrap/__main__.py` under mocks with EXAMPLE_ADMIN_CONFIG.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from . import RepositoryView, StackView, repository_rule
from .rules_common import as_list, policy_statements

GITHUB_ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
MAIN = "ref:refs/heads/main"
BUILT_IN_SECRETS = {"GITHUB_TOKEN"}
VARIABLE = "github:index/actionsVariable:ActionsVariable"
ENV_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
SECRET = "github:index/actionsSecret:ActionsSecret"
ENV_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"
ROLE = "aws:iam/role:Role"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
_REFERENCE = re.compile(r"\b(vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)")
_BY_HAND = re.compile(r"\bgh (variable|secret) set ([A-Za-z_][A-Za-z0-9_]*)")
_ROLE_VARIABLE = re.compile(r"^\$\{\{\s*vars\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_ADOPTED_PROVIDER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$")
# Events whose token's `sub` names the branch the workflow runs on: main, for this repository's
# scheduled, pushed and manually started workflows.
_ON_MAIN = {"push", "schedule", "workflow_dispatch", "workflow_run", "workflow_call"}
_ON_PULL_REQUEST = {"pull_request", "pull_request_target"}

# What an admin adds with `pulumi config set` before the first `pulumi up` (see the README); the
# rules run the program with these stand-ins.
EXAMPLE_ADMIN_CONFIG = {
    "prod_reviewers": ["user:example-reviewer", "team:example-team"],
    "pulumi_access_token": "example-pulumi-access-token",
}


def bootstrap_config(root: Path) -> tuple[str, dict[str, Any]]:
    """The bootstrap project's name and the config of its stack, with EXAMPLE_ADMIN_CONFIG."""
    from ..testing import stack_config

    program = root / "bootstrap"
    project = yaml.safe_load((program / "Pulumi.yaml").read_text())["name"]
    config = stack_config(program / "Pulumi.bootstrap.yaml")
    config |= {f"{project}:{key}": value for key, value in EXAMPLE_ADMIN_CONFIG.items()}
    return project, config


def bootstrap_view(root: Path, **overrides: Any) -> StackView:
    """The bootstrap program of the repository at `root`, run under mocks."""
    from ..testing import run_program
    from . import stack_view

    project, config = bootstrap_config(root)
    config |= {f"{project}:{key}": value for key, value in overrides.items()}
    run = run_program(root / "bootstrap", project=project, stack="bootstrap", config=config)
    return stack_view(project, "bootstrap", run, config)


def _bootstrap(repo: RepositoryView) -> StackView | None:
    view = repo.bootstrap
    if view is None and (repo.root / "bootstrap" / "__main__.py").exists():
        view = bootstrap_view(repo.root)
    return view


def _repository(view: StackView) -> str:
    return str(next((v for k, v in view.config.items() if k.endswith(":repository")), ""))


def workflows(root: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path relative to root, text, parsed document) of every workflow."""
    for path in sorted((root / ".github" / "workflows").glob("*.y*ml")):
        text = path.read_text()
        yield str(path.relative_to(root)), text, yaml.safe_load(text) or {}


def _created(view: StackView) -> dict[str, set[str]]:
    made: dict[str, set[str]] = {"vars": set(), "secrets": set()}
    for r in view.of_type(VARIABLE, ENV_VARIABLE):
        made["vars"].add(str(r.inputs.get("variableName")))
    for r in view.of_type(SECRET, ENV_SECRET):
        made["secrets"].add(str(r.inputs.get("secretName")))
    return made


@repository_rule(
    "workflow-inputs-bootstrapped",
    "Every Actions variable and secret a workflow reads is created by the bootstrap program or set by a "
    "documented command.",
)
def workflow_inputs_bootstrapped(repo: RepositoryView):
    view = _bootstrap(repo)
    if view is None:
        yield "bootstrap/", "no bootstrap program: nothing creates the roles, variables and secrets the workflows read"
        return
    made = _created(view)
    readme = repo.root / "README.md"
    by_hand: dict[str, set[str]] = {"vars": set(), "secrets": set()}
    for kind, name in _BY_HAND.findall(readme.read_text() if readme.exists() else ""):
        by_hand["vars" if kind == "variable" else "secrets"].add(name)
    for path, text, _ in workflows(repo.root):
        for kind, name in sorted(set(_REFERENCE.findall(text))):
            if kind == "secrets" and name in BUILT_IN_SECRETS:
                continue
            if name not in made[kind] and name not in by_hand[kind]:
                how = "gh variable set" if kind == "vars" else "gh secret set"
                yield (
                    path,
                    f"reads {kind}.{name}, which the bootstrap program does not create "
                    f"and the README does not set (`{how} {name}`)",
                )


def _claims(document: Mapping[str, Any], job: Mapping[str, Any]) -> set[str]:
    """The `sub` suffixes the OIDC tokens of this job carry, by its environment or its triggers."""
    environment = job.get("environment")
    if isinstance(environment, Mapping):
        environment = environment.get("name")
    if environment:
        return {f"environment:{environment}"}
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as true
    events = set(triggers) if isinstance(triggers, Mapping) else set(as_list(triggers))
    claims = set()
    if events & _ON_PULL_REQUEST:
        claims.add("pull_request")
    if events & _ON_MAIN:
        claims.add(MAIN)
    return claims


def role_steps(root: Path) -> Iterator[tuple[str, str, Mapping[str, Any], Mapping[str, Any], str, set[str]]]:
    """(workflow, job name, job, step inputs, variable, claims) for every step that assumes a role
    named by a variable."""
    for path, _, document in workflows(root):
        for job_name, job in (document.get("jobs") or {}).items():
            for step in job.get("steps") or []:
                inputs = step.get("with") or {}
                match = _ROLE_VARIABLE.match(str(inputs.get("role-to-assume") or "").strip())
                if match:
                    yield path, job_name, job, inputs, match.group(1), _claims(document, job)


def role_uses(root: Path) -> Iterator[tuple[str, str, str, set[str]]]:
    """(workflow, job, variable, claims) for every step that assumes a role named by a variable."""
    for path, job_name, _, _, variable, claims in role_steps(root):
        yield path, job_name, variable, claims


def _trusted_subjects(role: Any, providers: set[str]) -> tuple[set[str], list[str]]:
    """The `sub` patterns a role's trust admits through GitHub's provider, and what is wrong with it."""
    subjects: set[str] = set()
    problems: list[str] = []
    for statement in policy_statements(role.inputs.get("assumeRolePolicy")):
        if statement.get("Effect") != "Allow":
            continue
        federated = as_list((statement.get("Principal") or {}).get("Federated"))
        if not federated:
            problems.append("trusts a principal other than GitHub's OIDC provider")
            continue
        if not all(p in providers or _ADOPTED_PROVIDER.match(str(p)) for p in federated):
            problems.append(f"trusts {federated}, not the bootstrap's GitHub OIDC provider")
        condition = statement.get("Condition") or {}
        exact = condition.get("StringEquals") or {}
        like = condition.get("StringLike") or {}
        if AUDIENCE not in as_list(exact.get(f"{GITHUB_ISSUER}:aud")):
            problems.append(f"does not require audience {AUDIENCE}")
        found = as_list(exact.get(f"{GITHUB_ISSUER}:sub")) + as_list(like.get(f"{GITHUB_ISSUER}:sub"))
        if not found:
            problems.append("admits any subject of the provider (no sub condition): any repository could assume it")
        subjects |= {str(s) for s in found}
    return subjects, problems


@repository_rule(
    "workflow-roles-trusted",
    "Every role a workflow job assumes is created by the bootstrap program and trusts exactly the OIDC subjects "
    "of the jobs that assume it.",
)
def workflow_roles_trusted(repo: RepositoryView):
    view = _bootstrap(repo)
    if view is None:
        return  # workflow-inputs-bootstrapped reports the missing program
    repository = _repository(view)
    values = {str(r.inputs.get("variableName")): str(r.inputs.get("value") or "") for r in view.of_type(VARIABLE)}
    roles = {str(r.inputs.get("name") or r.name): r for r in view.of_type(ROLE)}
    providers = _github_provider(view)
    if not providers:
        yield (
            "bootstrap/",
            f"creates no OIDC provider for https://{GITHUB_ISSUER} with audience {AUDIENCE}, and adopts none",
        )
    needed: dict[str, set[str]] = {}
    for path, job, variable, claims in role_uses(repo.root):
        role_name = values.get(variable, "").rsplit("role/", 1)[-1]
        if variable not in values:
            continue  # workflow-inputs-bootstrapped reports it
        if role_name not in roles:
            yield f"{path} {job}", f"vars.{variable} ({values[variable]}) is not a role the bootstrap program creates"
            continue
        if not claims:
            yield f"{path} {job}", "assumes a role, but its triggers give no OIDC subject this rule knows"
        needed.setdefault(role_name, set()).update(claims)
        subjects, problems = _trusted_subjects(roles[role_name], providers)
        for problem in problems:
            yield f"{ROLE} {role_name}", problem
        for claim in sorted(claims):
            wanted = f"repo:{repository}:{claim}"
            if not any(fnmatch.fnmatchcase(wanted, s) for s in subjects):
                yield f"{ROLE} {role_name}", f"{path} job {job} presents sub {wanted!r}, which its trust does not admit"
    for role_name, claims in sorted(needed.items()):
        subjects, _ = _trusted_subjects(roles[role_name], providers)
        wanted = {f"repo:{repository}:{c}" for c in claims}
        for extra in sorted(subjects - wanted):
            yield f"{ROLE} {role_name}", f"also admits sub {extra!r}, which no job assuming it presents"


def _github_provider(view: StackView) -> set[str]:
    """The ARN of GitHub's OIDC provider as the program exports it (`github_oidc_provider_arn`):
    one it creates for https://token.actions.githubusercontent.com and sts.amazonaws.com, or the
    account's existing one it adopts."""
    arn = str(view.outputs.get("github_oidc_provider_arn") or "")
    created = any(
        str(r.inputs.get("url", "")).rstrip("/") == f"https://{GITHUB_ISSUER}"
        and AUDIENCE in as_list(r.inputs.get("clientIdLists"))
        for r in view.of_type(OIDC_PROVIDER)
    )
    return {arn} if arn and (created or _ADOPTED_PROVIDER.match(arn)) else set()


DEFAULT_SESSION_SECONDS = 3600  # aws-actions/configure-aws-credentials without role-duration-seconds
DEFAULT_JOB_MINUTES = 360  # GitHub's limit for a job without timeout-minutes
IAM_DEFAULT_MAX_SESSION = 3600


@repository_rule(
    "role-session-outlasts-job",
    "A job that assumes a role asks for, and the role allows, a session at least as long as the job may run.",
)
def role_session_outlasts_job(repo: RepositoryView):
    view = _bootstrap(repo)
    if view is None:
        return
    values = {str(r.inputs.get("variableName")): str(r.inputs.get("value") or "") for r in view.of_type(VARIABLE)}
    roles = {str(r.inputs.get("name") or r.name): r for r in view.of_type(ROLE)}
    for path, job_name, job, inputs, variable, _ in role_steps(repo.root):
        minutes = job.get("timeout-minutes", DEFAULT_JOB_MINUTES)
        if not isinstance(minutes, (int, float)):
            continue  # an expression; nothing to compare
        asked = inputs.get("role-duration-seconds", DEFAULT_SESSION_SECONDS)
        if isinstance(asked, (int, float)) and asked < minutes * 60:
            yield (
                f"{path} {job_name}",
                f"runs up to {minutes} min on a {int(asked) // 60}-min AWS session: set role-duration-seconds",
            )
        role = roles.get(values.get(variable, "").rsplit("role/", 1)[-1])
        allowed = role.inputs.get("maxSessionDuration", IAM_DEFAULT_MAX_SESSION) if role else None
        if isinstance(asked, (int, float)) and isinstance(allowed, (int, float)) and asked > allowed:
            yield (
                f"{ROLE} {role.inputs.get('name')}",
                f"{path} {job_name} asks for a {int(asked)} s session; the role allows {int(allowed)} s",
            )
