"""Fleet update: how long `copier update` takes per service repo, against a fresh copy of it.

    python benchmarks/fleet_update.py             # 20 repos
    python benchmarks/fleet_update.py --repos 100

Builds a git repository of this template with two tagged versions (v1.0.0: the working
tree; v2.0.0: a typical release touching two documents and the section every runbook
shares), generates N service repos at v1.0.0 with varied answers, makes the local
edits teams make (runbook notes, a runbook, a stack value, the README), commits, then
updates every repo to v2.0.0. In the same run it times `copier copy` of the same answers at
v2.0.0 into an empty directory. Both go through the Copier CLI in a subprocess, as a
platform team's script would. Prints per-repo times, the update/copy ratio, and totals.
Aim: an update costs no more than 2x a fresh copy.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.template_history import commit_all, copier, edit, generate, release, template_repo  # noqa: E402

PLATFORMS = ("aws-eks", "aws-lambda")
STRATEGIES = ("canary", "rolling", "blue-green")
LEVELS = ("standard", "basic", "comprehensive")
SLAS = (99.9, 99.5, 99.95, 99.99)
DATABASES = ("postgres", "none")


def varied_answers(count: int) -> list[dict[str, object]]:
    """Answers that differ between neighbouring repos in every question the plan depends on."""
    return [
        {
            "project_name": f"Service {i:03d}",
            "team": f"team-{i % 5}",
            "platform": PLATFORMS[i % 2],
            "deployment_strategy": STRATEGIES[i % 3],
            "monitoring_level": LEVELS[(i // 2) % 3],
            "sla": SLAS[i % 4],
            "database": DATABASES[(i // 3) % 2],
        }
        for i in range(count)
    ]


# The one template every runbook renders from (one file per alert of the catalogue).
RUNBOOK_TEMPLATE = "{% yield alert from alert_catalogue() %}{{ alert.name }}{% endyield %}.md.jinja"


def release_v2(repo: Path) -> None:
    docs = repo / "template" / "docs"
    edit(docs / "slo.md.jinja", "## Review cadence", "## Review cadence\n\n- Yearly: the SLA itself.")
    edit(
        repo / "template" / "docs" / "runbooks" / RUNBOOK_TEMPLATE,
        "Stabilise first, find the cause after.",
        "Stabilise first, find the cause after. Tell the incident channel what you are trying.",
    )
    edit(docs / "oncall.md.jinja", "## After your shift", "## After your shift (and before your holidays)")


def local_edits(repo: Path) -> None:
    notes = next((repo / "docs" / "runbooks" / "notes").glob("*.md"))
    notes.write_text(notes.read_text() + "\n- Seen during the 2025 peak: scale before 09:00.\n")
    runbook = repo / "docs" / "runbooks" / "AvailabilityBudgetBurnPage.md"
    edit(runbook, "## Escalation", "## Escalation\n\nAlso tell #checkout-leads.")
    stack = repo / "Pulumi.prod.yaml"
    stack.write_text(stack.read_text() + "  owner:cost-centre: cc-1234\n")
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "\n## Local notes\n\nOn-call handbook: see the wiki.\n")
    commit_all(repo, "Local edits")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the subprocesses): CPU time is the fairer figure on a
    shared machine, wall time is what a person waits."""
    wall, cpu = time.perf_counter(), _children_cpu()
    action()
    return time.perf_counter() - wall, _children_cpu() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=20, help="number of service repos (default 20)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="fleet-") as scratch:
        root = Path(scratch)
        template = template_repo(root / "groundwork")
        release(template, "v1.0.0")
        release_v2(template)
        release(template, "v2.0.0")

        fleet = varied_answers(args.repos)
        repos = []
        for i, answers in enumerate(fleet):
            repo = generate(template, root / "fleet" / f"svc-{i:03d}", "v1.0.0", answers)
            local_edits(repo)
            repos.append(repo)

        print(f"{'repo':<10} {'platform':<11} {'sla':>6} {'update s':>9} {'copy s':>8} {'ratio':>6} {'cpu ratio':>10}")
        updates, copies = [], []
        for i, (repo, answers) in enumerate(zip(repos, fleet, strict=True)):
            update = timed(
                lambda r=repo: copier(r, "update", "--trust", "--defaults", "--quiet", "--vcs-ref", "v2.0.0")
            )
            data = [item for k, v in answers.items() for item in ("--data", f"{k}={v}")]
            fresh = root / "fresh" / f"svc-{i:03d}"
            copy = timed(
                lambda d=data, f=fresh: copier(
                    root, "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", "v2.0.0", *d, str(template), str(f)
                )
            )
            assert "Also tell #checkout-leads." in (repo / "docs/runbooks/AvailabilityBudgetBurnPage.md").read_text()
            assert "Yearly: the SLA itself." in (repo / "docs" / "slo.md").read_text()
            updates.append(update)
            copies.append(copy)
            print(
                f"{repo.name:<10} {answers['platform']:<11} {answers['sla']:>6} {update[0]:>9.2f} {copy[0]:>8.2f} "
                f"{update[0] / copy[0]:>6.2f} {update[1] / copy[1]:>10.2f}"
            )

        wall = [u[0] / c[0] for u, c in zip(updates, copies, strict=True)]
        cpu = [u[1] / c[1] for u, c in zip(updates, copies, strict=True)]
        median_update = statistics.median(u[0] for u in updates)
        print()
        print(f"repos updated:            {len(repos)} (every local edit kept, the v2.0.0 changes applied)")
        print(
            f"update, median per repo:  {median_update:.2f} s wall, "
            f"{statistics.median(u[1] for u in updates):.2f} s CPU"
        )
        print(
            f"fresh copy, median:       {statistics.median(c[0] for c in copies):.2f} s wall, "
            f"{statistics.median(c[1] for c in copies):.2f} s CPU"
        )
        print(
            f"ratio update/copy:        median {statistics.median(wall):.2f}x wall (worst {max(wall):.2f}x), "
            f"median {statistics.median(cpu):.2f}x CPU"
        )
        print(
            f"whole fleet, sequential:  {sum(u[0] for u in updates):.1f} s; 100 repos would take about "
            f"{median_update * 100 / 60:.1f} min one at a time"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
