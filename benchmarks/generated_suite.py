"""How long the generated repo's own test suite takes for the largest combination, and how
many resources each of its stacks declares.

    python benchmarks/generated_suite.py [--runs 3]

Largest combination: aws-eks, postgres, SLA 99.99 (cross-region replica), comprehensive
monitoring, dev + staging + prod. The suite runs in a subprocess exactly as the generated
README says (`python -m pytest`); the figure is the median of the runs. Aim: under 10 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import render  # noqa: E402

from pulumi_components.testing import run_program, stack_config  # noqa: E402

LARGEST = {
    "platform": "aws-eks",
    "database": "postgres",
    "sla": 99.99,
    "monitoring_level": "comprehensive",
    "environments": ["dev", "staging", "prod"],
}


def time_suite(repo: Path, *paths: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, pytest's summary line) of one run of the suite."""
    cpu_before = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *paths], cwd=repo, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"the generated suite failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    summary = next(line for line in reversed(result.stdout.splitlines()) if " passed" in line)
    return elapsed, _children_cpu() - cpu_before, summary.strip("= ")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(label: str, repo: Path, runs: int, *paths: str) -> None:
    results = [time_suite(repo, *paths) for _ in range(runs)]
    walls, cpus = [r[0] for r in results], [r[1] for r in results]
    print(
        f"{label}: median {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU "
        f"over {runs} runs (wall min {min(walls):.2f}, max {max(walls):.2f}; {results[-1][2]})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = render(Path(tmp) / "svc", service_slug="svc", **LARGEST)
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in __import__('os').getloadavg())}")
        report("whole generated suite (aim < 10 s)", repo, args.runs)
        report("  of which infra/tests (stacks, guardrails, policy pack)", repo, args.runs, "infra/tests")
        for stack in sorted(p.name.split(".")[1] for p in repo.glob("Pulumi.*.yaml")):
            start = time.perf_counter()
            run = run_program(
                repo / "infra", project="svc", stack=stack, config=stack_config(repo / f"Pulumi.{stack}.yaml")
            )
            elapsed = time.perf_counter() - start
            custom = [r for r in run.resources if not r.type.startswith("groundwork:")]
            print(f"stack {stack:8} {len(custom):4d} resources  program under mocks {elapsed:.2f} s")


if __name__ == "__main__":
    main()
