"""Time `copier copy --defaults` of this template against a one-file baseline template,
in the same run, and print both medians and their ratio.

    python benchmarks/copy_speed.py [--runs 5]

Both are copied from a plain folder (a snapshot of this checkout) through the copier CLI
in a subprocess, so the figures include what a user waits for: start-up, the Jinja
extension, rendering and writing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import template_snapshot  # noqa: E402

COPIER = [sys.executable, "-m", "copier"]


def baseline_template(where: Path) -> Path:
    """The smallest useful template: one question, one rendered file."""
    where.mkdir()
    (where / "copier.yml").write_text("project_name:\n  type: str\n  default: Example Service\n")
    (where / "README.md.jinja").write_text("# {{ project_name }}\n")
    return where


def time_copy(template: Path, runs: int, workdir: Path) -> list[float]:
    seconds = []
    for run in range(runs):
        dst = workdir / f"{template.name}-{run}"
        started = time.perf_counter()
        subprocess.run(
            [*COPIER, "copy", "--trust", "--defaults", "--quiet", "--data", "team=platform", str(template), str(dst)],
            check=True,
            capture_output=True,
        )
        seconds.append(time.perf_counter() - started)
        shutil.rmtree(dst)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        baseline = baseline_template(workdir / "baseline")
        groundwork = template_snapshot()
        # Interleave so that load on the machine hits both alike.
        base_times, gw_times = [], []
        for _ in range(args.runs):
            base_times += time_copy(baseline, 1, workdir)
            gw_times += time_copy(groundwork, 1, workdir)
    base, gw = statistics.median(base_times), statistics.median(gw_times)
    files = sum(1 for p in groundwork.joinpath("template").rglob("*") if p.is_file())
    print(f"baseline one-file template: median {base:.3f} s over {args.runs} runs")
    print(f"groundwork ({files} template files): median {gw:.3f} s over {args.runs} runs")
    print(f"ratio groundwork / baseline: {gw / base:.2f}x (aim: under 1.5x)")


if __name__ == "__main__":
    main()
