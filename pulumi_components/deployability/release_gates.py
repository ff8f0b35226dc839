"""Release gates: production waits for the staging load test, and the test loads staging.

`production-waits-for-the-load-test`: where a repository has a staging and a production stack,
every deploy workflow job that runs `pulumi up` on production needs (directly or through other
jobs) a job that runs Locust against staging's public endpoint (the stack's `base_url` output)
and then `scripts/load_test_gate.py`, and that job needs the job that deploys staging. A gate
that runs beside the production deploy, before staging is deployed, or against another host
blocks nothing. A platform repository (its stacks' `kind: platform`) serves no endpoint of its own:
each service it hosts gates its own releases, so there is nothing to load-test before the platform's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from . import RepositoryView, StackView, repository_rule
from .pipelines import commands, workflow_jobs

GATE = "scripts/load_test_gate.py"
LOCUST_HOST = re.compile(r"\blocust\b[^\n]*?--host[ =](\S+)")


def is_platform(stack: StackView) -> bool:
    """A stack of a platform repository (`<project>:kind: platform` in its config)."""
    return stack.config.get(f"{stack.service}:kind") == "platform"


def _runs(job: Mapping[str, Any]) -> list[str]:
    return [str(step.get("run", "")) for step in job.get("steps") or [] if isinstance(step, Mapping)]


def _deploys(job: Mapping[str, Any], stack: str) -> bool:
    return any(
        re.search(rf"--stack[ =]{stack}(\s|$)", command)
        for run in _runs(job)
        for command in commands(run)
        if re.match(r"pulumi\s+up\b", command)
    )


def _needs(jobs: Mapping[str, Mapping[str, Any]], job_id: str) -> set[str]:
    """Every job `job_id` waits for, directly or transitively."""
    seen: set[str] = set()
    pending = list(_as_list(jobs.get(job_id, {}).get("needs")))
    while pending:
        need = pending.pop()
        if need not in seen:
            seen.add(need)
            pending += _as_list(jobs.get(need, {}).get("needs"))
    return seen


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _gates_staging(job: Mapping[str, Any], base_url: str) -> str | None:
    """Why this job is not a load test of staging followed by the gate; None when it is."""
    runs = "\n".join(run.replace("\\\n", " ") for run in _runs(job))
    if GATE not in runs:
        return f"runs no {GATE}"
    hosts = LOCUST_HOST.findall(runs)
    if not hosts:
        return "runs no Locust load test"
    if base_url and any(host.rstrip("/") != base_url.rstrip("/") for host in hosts):
        return f"loads {', '.join(hosts)}, not staging's {base_url}"
    if runs.index(GATE) < runs.index("locust"):
        return f"runs {GATE} before Locust"
    return None


@repository_rule(
    "production-waits-for-the-load-test",
    "Every production deploy job needs a job that load-tests staging's endpoint with Locust and then runs "
    "the SLO gate, after the staging deploy.",
)
def production_waits(repo: RepositoryView) -> Iterator[tuple[str, str]]:
    if "staging" not in repo.stacks or "prod" not in repo.stacks or is_platform(repo.stacks["staging"]):
        return
    base_url = str(repo.stacks["staging"].outputs.get("base_url") or "")
    by_file: dict[str, dict[str, Mapping[str, Any]]] = {}
    for path, job_id, job in workflow_jobs(repo.root):
        if isinstance(job, Mapping):
            by_file.setdefault(path, {})[job_id] = job
    for path, jobs in by_file.items():
        for job_id, job in jobs.items():
            if not _deploys(job, "prod"):
                continue
            waited = _needs(jobs, job_id)
            reasons = {need: _gates_staging(jobs[need], base_url) for need in waited if need in jobs}
            gates = [need for need, reason in reasons.items() if reason is None]
            if not gates:
                found = "; ".join(f"{n}: {r}" for n, r in sorted(reasons.items()) if GATE in "\n".join(_runs(jobs[n])))
                yield (
                    f"{path} job {job_id}",
                    "deploys prod without waiting for a staging load test and its SLO gate"
                    + (f" ({found})" if found else ""),
                )
                continue
            for gate in gates:
                if not any(_deploys(jobs[n], "staging") for n in _needs(jobs, gate) if n in jobs):
                    yield f"{path} job {gate}", "load-tests staging without waiting for staging's deploy"
