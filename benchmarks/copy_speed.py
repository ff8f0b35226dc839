"""Time `copier copy --defaults` of this template against a one-file baseline template,
in the same run, and print both medians and their ratio.

    python benchmarks/copy_speed.py [--runs 5]

All are copied from plain folders through the copier CLI in a subprocess, so the figures
include what a user waits for: start-up, the Jinja extension, rendering and writing.
Copier spends a few milliseconds on every file it writes whatever the file holds, so a
second baseline writes as many trivial files as this template renders: the ratio against it
is what the template's own content (the model, the extension, its Jinja) costs.
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
sys.path.insert(0, str(ROOT))

from scripts.template_parts import copy_template  # noqa: E402

COPIER = [sys.executable, "-m", "copier"]


def baseline_template(where: Path) -> Path:
    """The smallest useful template: one question, one rendered file."""
    where.mkdir()
    (where / "copier.yml").write_text("project_name:\n  type: str\n  default: Example Service\n")
    (where / "README.md.jinja").write_text("# {{ project_name }}\n")
    return where


def same_size_template(where: Path, files: list[str]) -> Path:
    """A template rendering the same paths as a default copy of this one, each trivial."""
    baseline_template(where)
    for name in files:
        path = where / f"{name}.jinja"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{{ project_name }}\n")
    return where


def rendered_paths(template: Path, workdir: Path) -> list[str]:
    dst = workdir / "probe"
    subprocess.run(
        [*COPIER, "copy", "--trust", "--defaults", "--quiet", "--data", "team=platform", str(template), str(dst)],
        check=True,
        capture_output=True,
    )
    names = [str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file() and p.name != ".copier-answers.yml"]
    shutil.rmtree(dst)
    return names


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
        groundwork = copy_template(Path(tmp) / "groundwork")
        files = rendered_paths(groundwork, workdir)
        templates = {
            "one-file baseline": baseline_template(workdir / "baseline"),
            f"same-size baseline ({len(files)} trivial files)": same_size_template(workdir / "same-size", files),
            f"groundwork ({len(files)} files)": groundwork,
        }
        times: dict[str, list[float]] = {name: [] for name in templates}
        for _ in range(args.runs):  # interleaved, so load on the machine hits all alike
            for name, template in templates.items():
                times[name] += time_copy(template, 1, workdir)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name}: median {median:.3f} s over {args.runs} runs")
    one_file, same_size, ours = medians.values()
    print(f"ratio groundwork / one-file baseline: {ours / one_file:.2f}x (aim: under 1.5x)")
    print(f"ratio groundwork / same-size baseline: {ours / same_size:.2f}x")


if __name__ == "__main__":
    main()
