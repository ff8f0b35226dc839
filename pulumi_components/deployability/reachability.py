"""Reachability: every job that talks to a cluster's API runs where that API answers.

An EKS API endpoint that is private (or public only to named admin addresses)
cannot be reached from GitHub's hosted runners. `pulumi preview/up/refresh` of a
stack with Kubernetes resources calls that API (the Kubernetes provider reads
and writes the cluster), and so do `kubectl` and the release script that wraps
it. Those jobs must run on a runner the stack itself creates inside the VPC: the
ARC runner scale set of `CiRunners`, whose name is the job's `runs-on:` label.

`pulumi stack output` and `aws eks update-kubeconfig` are not counted: the first
reads the state backend only, the second calls the public EKS API.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from .. import identity
from . import RepositoryView, StackView, repository_rule, stack_rule
from .rules_common import as_list, subject

EKS_CLUSTER = "aws:eks/cluster:Cluster"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
SCALE_SET_CHART = "gha-runner-scale-set"
# Pulumi commands that run the program's providers against the cloud (and so the cluster).
PULUMI_CLUSTER_COMMANDS = ("up", "update", "preview", "refresh", "destroy", "import", "watch")
KUBE_CLIENTS = re.compile(r"(?:^|[\s;&|(/])(kubectl|helm|kube_release\.py)\b")
PULUMI = re.compile(r"(?:^|[\s;&|(])pulumi\s+([^\n;&|]*)")


# ---- stacks -------------------------------------------------------------------------------------


def open_to_internet(cluster: Any) -> bool:
    """Whether GitHub's hosted runners could reach this cluster's API: a public endpoint open to
    every address (the provider's default when no CIDRs are named)."""
    vpc = cluster.inputs.get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess") is False:
        return False
    cidrs = as_list(vpc.get("publicAccessCidrs"))
    if not cidrs:
        return True
    for cidr in cidrs:
        try:
            if ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue
    return False


def private_clusters(stack: StackView) -> list[Any]:
    return [cluster for cluster in stack.of_type(EKS_CLUSTER) if not open_to_internet(cluster)]


def scale_set_names(stack: StackView) -> set[str]:
    """The names of the runner scale sets the stack installs (the chart defaults to the release name)."""
    names = set()
    for release in stack.of_type(HELM_RELEASE):
        if str(release.inputs.get("chart", "")).rsplit("/", 1)[-1] != SCALE_SET_CHART:
            continue
        values = release.inputs.get("values") or {}
        name = values.get("runnerScaleSetName") or release.inputs.get("name")
        if name:
            names.add(str(name))
    return names


def has_kubernetes_resources(stack: StackView) -> bool:
    return any(r.type.startswith("kubernetes:") for r in stack.resources)


@stack_rule(
    "private-cluster-has-runners",
    "An EKS cluster whose API GitHub's hosted runners cannot reach installs a runner scale set inside it, "
    "named as the workflows' runs-on label, so its pipelines can reach the API.",
)
def private_cluster_has_runners(stack: StackView) -> Iterator[tuple[str, str]]:
    expected = identity.runner_scale_set_name(stack.service, stack.env)
    names = scale_set_names(stack)
    for cluster in private_clusters(stack):
        if not names:
            yield (
                subject(cluster),
                f"the API endpoint is private, but the stack installs no {SCALE_SET_CHART} release: "
                f"no job can reach it (expected a scale set named {expected!r}, see CiRunners)",
            )
        elif expected not in names:
            yield (
                subject(cluster),
                f"the stack's runner scale set is named {', '.join(sorted(names))}, but the workflows "
                f"run on {expected!r} (identity.runner_scale_set_name)",
            )


# ---- workflows ----------------------------------------------------------------------------------


def _job_environment(job: Mapping[str, Any]) -> str | None:
    environment = job.get("environment")
    if isinstance(environment, Mapping):
        environment = environment.get("name")
    return str(environment) if environment else None


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _stack_flag(words: list[str]) -> str | None:
    for index, word in enumerate(words):
        if word in ("--stack", "-s") and index + 1 < len(words):
            return words[index + 1].strip("`'\"")
        if word.startswith("--stack="):
            return word.split("=", 1)[1].strip("`'\"")
    return None


def cluster_calls(job: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(what, stack) for each command of the job that reaches a cluster's API; stack is None when
    the command does not name one."""
    for step in as_list(job.get("steps")):
        if not isinstance(step, Mapping):
            continue
        uses = str(step.get("uses") or "")
        if uses.startswith("pulumi/actions@"):
            inputs = step.get("with") or {}
            if str(inputs.get("command", "")) in PULUMI_CLUSTER_COMMANDS:
                yield f"pulumi {inputs['command']} (pulumi/actions)", inputs.get("stack-name")
        script = str(step.get("run") or "").replace("\\\n", " ")
        for match in PULUMI.finditer(script):
            words = _words(match.group(1))
            if words and words[0] in PULUMI_CLUSTER_COMMANDS:
                yield f"pulumi {words[0]}", _stack_flag(words)
        for match in KUBE_CLIENTS.finditer(script):
            yield match.group(1), None


def stacks_read(job: Mapping[str, Any]) -> set[str]:
    """The stacks any Pulumi command of the job names (`pulumi stack output --stack prod` too): a job
    without an environment whose kubectl follows the outputs of one stack works on that stack's cluster."""
    named = set()
    for step in as_list(job.get("steps")):
        script = str(step.get("run") or "").replace("\\\n", " ") if isinstance(step, Mapping) else ""
        for match in PULUMI.finditer(script):
            stack = _stack_flag(_words(match.group(1)))
            if stack:
                named.add(stack)
    return named


def workflow_jobs(root: Path) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for path in sorted((root / ".github" / "workflows").glob("*.y*ml")):
        workflow = yaml.safe_load(path.read_text()) or {}
        for job_id, job in (workflow.get("jobs") or {}).items():
            if isinstance(job, Mapping):
                yield f".github/workflows/{path.name}", job_id, job


def _runs_on(job: Mapping[str, Any]) -> list[str]:
    runs_on = job.get("runs-on")
    if isinstance(runs_on, Mapping):
        runs_on = runs_on.get("labels")
    return [str(label) for label in as_list(runs_on)]


@repository_rule(
    "cluster-api-reachable",
    "Every workflow job that runs Pulumi against a stack with Kubernetes resources, or kubectl against an "
    "environment, runs on the runner scale set that environment's stack creates inside its VPC when the "
    "cluster's API is private.",
)
def cluster_api_reachable(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    for path, job_id, job in workflow_jobs(repo.root):
        calls = list(cluster_calls(job))
        if not calls:
            continue
        named = {stack for _, stack in calls if stack} or stacks_read(job)
        fallback = _job_environment(job) or (next(iter(named)) if len(named) == 1 else None)
        where = f"{path} job {job_id}"
        for what, stack_name in calls:
            env = stack_name or fallback
            if env is None:
                yield where, f"runs {what} but names no stack or environment, so its cluster is unknown"
                continue
            if "${{" in env:
                yield where, f"runs {what} against {env!r}: an expression, so the runner it needs is unknown"
                continue
            stack = repo.stacks.get(env)
            if stack is None:
                yield where, f"runs {what} against {env!r}, which is not a stack of this repository"
                continue
            if not private_clusters(stack) or (what.startswith("pulumi") and not has_kubernetes_resources(stack)):
                continue
            labels = _runs_on(job)
            runners = scale_set_names(stack)
            if not runners:
                yield where, f"runs {what} against {env!r}, whose cluster API is private and has no runners"
            elif len(labels) != 1 or labels[0] not in runners:
                yield (
                    where,
                    f"runs {what} against {env!r}, whose cluster API is private, on runs-on {labels or '(none)'}; "
                    f"it must run on the runner scale set {' or '.join(sorted(runners))!r} inside {env}'s VPC",
                )


CLUSTER_TOOLS_STEP = "cluster-tools"  # the step id of `setup_cluster_tools` in the workflow macros


@repository_rule(
    "cluster-clients-installed",
    "Every workflow job that reaches a cluster's API from a self-hosted runner installs the AWS CLI (the "
    "kubeconfig authenticates with `aws eks get-token`) and kubectl before its first cluster call: the "
    "in-VPC runners' image has neither, where GitHub's own runners have both.",
)
def cluster_clients_installed(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    for path, job_id, job in workflow_jobs(repo.root):
        if all(label.startswith("ubuntu-") for label in _runs_on(job)):
            continue
        steps = [step for step in as_list(job.get("steps")) if isinstance(step, Mapping)]
        first_call = next((i for i, step in enumerate(steps) if list(cluster_calls({"steps": [step]}))), None)
        if first_call is None:
            continue
        installed = next((i for i, step in enumerate(steps) if step.get("id") == CLUSTER_TOOLS_STEP), None)
        if installed is None or installed > first_call:
            yield (
                f"{path} job {job_id}",
                f"reaches a cluster API on runs-on {_runs_on(job)} without first installing the AWS CLI and kubectl "
                f"(a step with id {CLUSTER_TOOLS_STEP!r}, from the setup_cluster_tools macro)",
            )
