"""Pipelines and documents: what a release needs, and what the repository promises.

- A release creates every workload with an image pinned by digest (the program
  refuses a fresh stack without one; the deploy workflow pushes the image to the
  environment's registry first and passes it).
- Every `pulumi up` and `pulumi preview` in a workflow runs the CrossGuard pack,
  with the pack's dependencies installed in that job: the guardrails are enforced
  where changes are made, not only where they are reviewed.
- The README and docs name only what exists: every workflow variable and secret
  is documented and every documented one is read; every file they link to and
  every stack they name is in the repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from . import RepositoryView, StackView, repository_rule, stack_rule
from .rules_common import as_list, subject

# Kubernetes objects that run pods, as the engine sees them.
WORKLOAD_TYPES = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:argoproj.io/v1alpha1:Rollout",
    "kubernetes:batch/v1:Job",
    "kubernetes:batch/v1:CronJob",
)
PINNED_BY_DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


def pod_spec(resource: Any) -> Mapping[str, Any]:
    spec = resource.inputs.get("spec") or {}
    if resource.type.endswith(":CronJob"):
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


@stack_rule(
    "workload-image-by-digest",
    "Every container of every workload has an image pinned by digest: a pod without one never starts, "
    "and a tag can change under a running release.",
)
def workload_images(stack: StackView) -> Iterator[tuple[str, str]]:
    for resource in stack.of_type(*WORKLOAD_TYPES):
        spec = pod_spec(resource)
        containers = [*as_list(spec.get("initContainers")), *as_list(spec.get("containers"))]
        if not containers:
            yield subject(resource), "the pod template has no containers"
        for container in containers:
            image = container.get("image") if isinstance(container, Mapping) else None
            name = container.get("name", "?") if isinstance(container, Mapping) else "?"
            if not image:
                yield subject(resource), f"container {name} has no image"
            elif not PINNED_BY_DIGEST.match(str(image)):
                yield subject(resource), f"container {name} runs {image!r}, not pinned by digest (@sha256:...)"


# ---- Workflows ----------------------------------------------------------------------------------
# A command, not a mention in a message: at the start of a line or after a shell operator.
PULUMI_CHANGE = re.compile(r"(?:^|[;&|(]|\bthen\b|\bdo\b)[ \t]*(pulumi[ \t]+(?:up|preview)\b[^\n;|&]*)", re.M)
POLICY_PACK = re.compile(r"--policy-pack[= ](\S+)")


def workflow_jobs(root: Path) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for path in sorted((root / ".github" / "workflows").glob("*.y*ml")):
        workflow = yaml.safe_load(path.read_text()) or {}
        for job_id, job in (workflow.get("jobs") or {}).items():
            yield f".github/workflows/{path.name}", job_id, job


def commands(run: str) -> list[str]:
    """The `pulumi up`/`pulumi preview` commands of a run block, continuation lines joined."""
    return [m.group(1) for m in PULUMI_CHANGE.finditer(run.replace("\\\n", " "))]


def policy_virtualenv(pack: Path) -> str | None:
    """The virtualenv the Pulumi CLI runs a Python pack in (PulumiPolicy.yaml runtime.options)."""
    runtime = (yaml.safe_load((pack / "PulumiPolicy.yaml").read_text()) or {}).get("runtime") or {}
    return ((runtime.get("options") if isinstance(runtime, Mapping) else None) or {}).get("virtualenv")


def installs_pack(run: str, directory: str, virtualenv: str | None) -> bool:
    requirements = f"-r {directory}/requirements.txt"
    if virtualenv is None:
        return requirements in run
    return requirements in run and f"{directory}/{virtualenv}/bin/python" in run


@repository_rule(
    "pulumi-runs-policy-pack",
    "Every `pulumi up` and `pulumi preview` in a workflow passes `--policy-pack` with the repository's "
    "CrossGuard pack, after a step of the same job installs the pack's requirements where the CLI runs it.",
)
def policy_pack_everywhere(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    for path, job_id, job in workflow_jobs(repo.root):
        earlier = ""  # the run blocks before the current step
        for step in job.get("steps") or []:
            run = str(step.get("run") or "")
            for command in commands(run):
                where = f"{path} job {job_id}"
                packs = POLICY_PACK.findall(command)
                if not packs:
                    yield where, f"`{command.strip()}` runs without --policy-pack"
                    continue
                pack = repo.root / packs[0]
                if not (pack / "PulumiPolicy.yaml").is_file():
                    yield where, f"--policy-pack {packs[0]}: no PulumiPolicy.yaml there"
                elif not installs_pack(earlier, packs[0], policy_virtualenv(pack)):
                    venv = policy_virtualenv(pack)
                    into = f" into {packs[0]}/{venv}" if venv else ""
                    yield where, f"no earlier step installs {packs[0]}/requirements.txt{into}"
            earlier += run + "\n"


def has_workload(stack: StackView) -> bool:
    return bool(stack.of_type(*WORKLOAD_TYPES))


@repository_rule(
    "release-passes-image",
    "Where a stack runs a workload, every `pulumi up` and `pulumi preview` in a workflow passes the image "
    "(`--config <project>:image=...`): the program refuses `pulumi up` without one, and a preview without "
    "it shows the deployed image as changed.",
)
def release_passes_image(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    if not any(has_workload(stack) for stack in repo.stacks.values()):
        return
    project = (yaml.safe_load((repo.root / "Pulumi.yaml").read_text()) or {}).get("name")
    for path, job_id, job in workflow_jobs(repo.root):
        for step in job.get("steps") or []:
            run = str(step.get("run") or "")
            if commands(run) and f"{project}:image=" not in run:
                yield f"{path} job {job_id}", f"`{commands(run)[0].strip()}` without --config {project}:image=..."


# ---- Documents ----------------------------------------------------------------------------------
SETTING = re.compile(r"\b(?:vars|secrets)\.([A-Za-z0-9_]+)")
BUILT_IN = {"GITHUB_TOKEN"}  # GitHub provides it to every run
DOCUMENTED_SETTING = re.compile(r"^\| `([A-Z0-9_]+)` \| (?:variable|secret)", re.M)


def workflow_settings(root: Path) -> set[str]:
    text = "\n".join(p.read_text() for p in (root / ".github" / "workflows").glob("*.y*ml"))
    return set(SETTING.findall(text)) - BUILT_IN


def documented_settings(readme: str) -> set[str]:
    """The first column of the README's table of repository variables and secrets (under Pipelines)."""
    if "## Pipelines" not in readme:
        return set()
    section = readme.split("## Pipelines", 1)[1].split("\n## ", 1)[0]
    return set(DOCUMENTED_SETTING.findall(section))


@repository_rule(
    "documented-settings",
    "The README's table lists every GitHub variable and secret the workflows read, and only those: a "
    "missing one fails a job at run time, a stale one sends the owner to create what nothing reads.",
)
def settings_documented(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    used = workflow_settings(repo.root)
    readme = repo.root / "README.md"
    documented = documented_settings(readme.read_text()) if readme.is_file() else set()
    for name in sorted(used - documented):
        yield "README.md", f"the workflows read {name}; the Pipelines table does not list it"
    for name in sorted(documented - used):
        yield "README.md", f"the Pipelines table lists {name}; no workflow reads it"


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
NAMED_STACK = re.compile(r"(?:--stack[= ]|pulumi stack select )([A-Za-z0-9_.-]+)")
CREATED_STACK = re.compile(r"pulumi stack init ([A-Za-z0-9_.-]+)")


def documents(root: Path) -> list[Path]:
    return [p for p in [root / "README.md", *sorted((root / "docs").rglob("*.md"))] if p.is_file()]


def local_links(text: str) -> list[str]:
    targets = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            continue  # a URL, an anchor on the same page, or a site-absolute path
        targets.append(target.split("#", 1)[0])
    return [t for t in targets if t]


@repository_rule(
    "documents-name-what-exists",
    "Every repository file the README and docs link to exists, and every stack they run a command against "
    "is one of the repository's stacks (or one the same document creates).",
)
def documents_name_what_exists(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    stacks = {p.name.split(".")[1] for p in repo.root.glob("Pulumi.*.yaml")} | set(repo.stacks)
    for document in documents(repo.root):
        where = str(document.relative_to(repo.root))
        text = document.read_text()
        for target in local_links(text):
            if not (document.parent / target).exists():
                yield where, f"links to {target}, which does not exist"
        created = set(CREATED_STACK.findall(text))
        for stack in sorted(set(NAMED_STACK.findall(text)) - stacks - created):
            if not stack.startswith("<"):
                yield where, f"runs a command against stack {stack!r}; the stacks are {', '.join(sorted(stacks))}"
