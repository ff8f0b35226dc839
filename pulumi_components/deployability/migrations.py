"""Schema migrations: what a release with a database needs to change its schema safely.

- The migration Job runs as the service: the workload's service account, its image and the Secret
  that holds DATABASE_URL. A Job with another identity or image migrates with the wrong code, or
  cannot read the database's credentials.
- It runs before the rollout: the workload's pod template names the Job (an input that depends on
  it), so Pulumi creates the Job, awaits its completion, and only then changes the workload.
- Its pod may reach the database: the namespace denies all traffic by default.
- Every deploy job of a repository with a database snapshots the database (the step `snapshot`)
  before the step that migrates it (EKS: `pulumi up`, which runs the Job; Lambda: the invocation
  of the new version, itself before the alias shifts), and names the snapshot when the job fails.
- CI refuses a destructive migration outside a contract step (`service.migrate check`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..schema_migration import COMPONENT, COMPONENT_LABEL, JOB_ANNOTATION
from . import RepositoryView, StackView, repository_rule, stack_rule
from .pipelines import workflow_jobs
from .rules_common import as_list, subject

JOB = "kubernetes:batch/v1:Job"
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:argoproj.io/v1alpha1:Rollout")
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
DB_INSTANCE = "aws:rds/instance:Instance"
POSTGRES_PORT = 5432
DNS_PORT = 53


def _metadata(resource: Any) -> Mapping[str, Any]:
    return resource.inputs.get("metadata") or {}


def _template(resource: Any) -> Mapping[str, Any]:
    return (resource.inputs.get("spec") or {}).get("template") or {}


def migration_jobs(stack: StackView) -> list[Any]:
    return [
        job
        for job in stack.of_type(JOB)
        if ((_template(job).get("metadata") or {}).get("labels") or {}).get(COMPONENT_LABEL) == COMPONENT
    ]


def database_secrets(stack: StackView) -> set[str]:
    """Names of the Kubernetes Secrets External Secrets writes DATABASE_URL into."""
    names = set()
    for resource in stack.of_type(EXTERNAL_SECRET):
        target = (resource.inputs.get("spec") or {}).get("target") or {}
        if "DATABASE_URL" in ((target.get("template") or {}).get("data") or {}):
            names.add(target.get("name"))
    return names


def _mounted_secrets(pod: Mapping[str, Any]) -> set[str]:
    return {
        (volume.get("secret") or {}).get("secretName")
        for volume in as_list(pod.get("volumes"))
        if isinstance(volume, Mapping) and volume.get("secret")
    }


def _workload_in(stack: StackView, namespace: str) -> Any | None:
    found = [w for w in stack.of_type(*WORKLOADS) if _metadata(w).get("namespace") == namespace]
    return found[0] if found else None


@stack_rule(
    "migration-job-runs-as-the-service",
    "The schema migration Job runs with the workload's service account (its IRSA role), its image and the "
    "Secret holding DATABASE_URL, so it migrates with the release's code and the service's own credentials.",
)
def job_runs_as_the_service(stack: StackView) -> Iterator[tuple[str, str]]:
    secrets = database_secrets(stack)
    for job in migration_jobs(stack):
        workload = _workload_in(stack, _metadata(job).get("namespace"))
        if workload is None:
            yield subject(job), "no Deployment or Rollout in its namespace: whose identity would it run with?"
            continue
        pod, served = _template(job).get("spec") or {}, _template(workload).get("spec") or {}
        if pod.get("serviceAccountName") != served.get("serviceAccountName"):
            yield (
                subject(job),
                f"runs as service account {pod.get('serviceAccountName')!r}, the workload as "
                f"{served.get('serviceAccountName')!r}",
            )
        images = {c.get("image") for c in as_list(pod.get("containers"))}
        served_images = {c.get("image") for c in as_list(served.get("containers"))}
        if not images or not images <= served_images:
            yield subject(job), f"runs image {sorted(map(str, images))}, not the release's {sorted(served_images)}"
        missing = sorted(secrets - _mounted_secrets(pod))
        if missing or not secrets:
            yield subject(job), f"does not mount the Secret with DATABASE_URL ({', '.join(missing) or 'none exists'})"


@stack_rule(
    "migration-before-rollout",
    "With a database and a workload, the release's migration Job exists and the workload's pod template names "
    "it, so Pulumi changes the workload only after the Job has completed.",
)
def migration_before_rollout(stack: StackView) -> Iterator[tuple[str, str]]:
    if not stack.of_type(DB_INSTANCE):
        return
    jobs = {_metadata(job).get("name") for job in migration_jobs(stack)}
    for workload in stack.of_type(*WORKLOADS):
        named = ((_template(workload).get("metadata") or {}).get("annotations") or {}).get(JOB_ANNOTATION)
        if not jobs:
            yield subject(workload), "the stack has a database but no schema migration Job runs before the rollout"
        elif named not in jobs:
            yield (
                subject(workload),
                f"its pod template names {named!r} under {JOB_ANNOTATION}, not the migration Job "
                f"({', '.join(sorted(map(str, jobs)))}): the rollout may start before the migrations ran",
            )


def _selects(policy: Any, labels: Mapping[str, str]) -> bool:
    selector = ((policy.inputs.get("spec") or {}).get("podSelector") or {}).get("matchLabels") or {}
    return all(labels.get(key) == value for key, value in selector.items())


def _egress_ports(policy: Any) -> set[int]:
    spec = policy.inputs.get("spec") or {}
    if "Egress" not in as_list(spec.get("policyTypes")):
        return set()
    return {int(port.get("port", 0)) for rule in as_list(spec.get("egress")) for port in as_list(rule.get("ports"))}


@stack_rule(
    "migration-job-reaches-the-database",
    "A NetworkPolicy lets the migration Job's pod resolve names and reach PostgreSQL: the namespace denies "
    "everything else by default.",
)
def job_reaches_database(stack: StackView) -> Iterator[tuple[str, str]]:
    policies = stack.of_type(NETWORK_POLICY)
    for job in migration_jobs(stack):
        labels = (_template(job).get("metadata") or {}).get("labels") or {}
        namespace = _metadata(job).get("namespace")
        ports = set().union(
            *(_egress_ports(p) for p in policies if _metadata(p).get("namespace") == namespace and _selects(p, labels))
        )
        for port, what in ((POSTGRES_PORT, "PostgreSQL"), (DNS_PORT, "DNS")):
            if port not in ports:
                yield subject(job), f"no NetworkPolicy of its namespace lets its pod reach {what} (port {port})"


# ---- Workflows ---------------------------------------------------------------------------------
SNAPSHOT = re.compile(r"release_database\.py\s+snapshot\b")
LAMBDA_MIGRATION = re.compile(r"release_database\.py\s+migrate-lambda\b")
FAILED = re.compile(r"release_database\.py\s+failed\b")
PULUMI_UP = re.compile(r"(?:^|[;&|(])[ \t]*pulumi[ \t]+up\b", re.M)
ALIAS_SHIFT = re.compile(r"lambda_release\.py\s+deploy\b")


def _has_database(repo: RepositoryView) -> bool:
    return any(stack.of_type(DB_INSTANCE) for stack in repo.stacks.values())


def _first(steps: list[Mapping[str, Any]], pattern: re.Pattern[str]) -> int | None:
    for index, step in enumerate(steps):
        if pattern.search(str(step.get("run") or "").replace("\\\n", " ")):
            return index
    return None


def _deploy_jobs(repo: RepositoryView) -> Iterator[tuple[str, str, list[Mapping[str, Any]]]]:
    for path, job_id, job in workflow_jobs(repo.root):
        steps = [s for s in as_list(job.get("steps")) if isinstance(s, Mapping)]
        if path.endswith("/deploy.yml") and _first(steps, PULUMI_UP) is not None:
            yield f"{path} job {job_id}", job_id, steps


@repository_rule(
    "snapshot-before-migration",
    "Every deploy job of a service with a database snapshots it (step id `snapshot`) before the step that "
    "migrates it, migrates before traffic moves, and names the snapshot in the summary when the job fails.",
)
def snapshot_before_migration(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    if not _has_database(repo):
        return
    for where, _, steps in _deploy_jobs(repo):
        snapshot = _first(steps, SNAPSHOT)
        if snapshot is None:
            yield where, "takes no database snapshot before the release"
            continue
        if steps[snapshot].get("id") != "snapshot":
            yield where, "its snapshot step has no `id: snapshot`: the failure summary cannot name the snapshot"
        lambda_migration, shift = _first(steps, LAMBDA_MIGRATION), _first(steps, ALIAS_SHIFT)
        migrates = lambda_migration if shift is not None else _first(steps, PULUMI_UP)
        if shift is not None and (lambda_migration is None or lambda_migration > shift):
            yield where, "does not run the migrations on the new version before the alias shifts to it"
        if migrates is not None and migrates < snapshot:
            yield where, f"migrates (step {migrates + 1}) before the snapshot (step {snapshot + 1})"
        failed = _first(steps, FAILED)
        if failed is None or "failure()" not in str(steps[failed].get("if", "")):
            yield where, "does not name the snapshot in the job summary when the release fails (if: failure())"
        elif "steps.snapshot.outputs.name" not in str(steps[failed].get("env") or "") + str(steps[failed]):
            yield where, "its failure summary does not read the snapshot's name (steps.snapshot.outputs.name)"


@repository_rule(
    "expand-contract-checked-in-ci",
    "With a database, CI runs the expand/contract check, which fails on a migration that drops or renames a "
    "table or column outside a contract step.",
)
def expand_contract_checked(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    if not _has_database(repo):
        return
    checks = [
        (path, job_id)
        for path, job_id, job in workflow_jobs(repo.root)
        if path.endswith("/ci.yml")
        for step in as_list(job.get("steps"))
        if isinstance(step, Mapping) and re.search(r"service\.migrate\s+check\b", str(step.get("run") or ""))
    ]
    if not checks:
        yield ".github/workflows/ci.yml", "no step runs `python -m service.migrate check` (expand/contract)"
