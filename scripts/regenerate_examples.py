"""Render every answer file in examples/answers/ into its example repository, examples/<name>/.

    python -m scripts.regenerate_examples          # rewrite all examples
    python -m scripts.regenerate_examples --check  # exit 1 and list the drift, write nothing

The examples are committed, so a template change shows up in review as the diff of the
repositories it generates; tests/test_examples.py fails when they are stale. The working
tree is rendered as it is (uncommitted changes included). `.copier-answers.yml` keeps every
answer but not `_src_path`/`_commit`, which name the checkout and commit rendering them.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from scripts.template_parts import ROOT, copy_template

EXAMPLES = ROOT / "examples"
ANSWERS = EXAMPLES / "answers"
MACHINE_KEYS = ("_src_path:", "_commit:")


def answer_files() -> list[Path]:
    return sorted(ANSWERS.glob("*.yml"))


def render_example(template: Path, answers_file: Path, dst: Path) -> Path:
    from copier import run_copy

    data = yaml.safe_load(answers_file.read_text())
    run_copy(str(template), dst, data=data, defaults=True, unsafe=True, quiet=True, skip_tasks=True)
    answers = dst / ".copier-answers.yml"
    lines = answers.read_text().splitlines(keepends=True)
    answers.write_text("".join(line for line in lines if not line.startswith(MACHINE_KEYS)))
    for cache in dst.rglob("__pycache__"):
        shutil.rmtree(cache)
    return dst


def render_all(into: Path) -> dict[str, Path]:
    """{example name: rendered repo under `into`} for every answer file."""
    template = copy_template(into / "template")
    return {f.stem: render_example(template, f, into / "examples" / f.stem) for f in answer_files()}


def drift(expected: Path, actual: Path) -> list[str]:
    """Paths (relative to the example) that differ between two trees, byte for byte."""
    if not expected.is_dir():
        return ["(missing)"]
    found: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        found.extend(prefix + name for name in cmp.left_only + cmp.right_only + cmp.funny_files)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        found.extend(prefix + name for name in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected, actual, ignore=["__pycache__"]), "")
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift instead of rewriting")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        rendered = render_all(Path(scratch))
        stale = {name: drift(EXAMPLES / name, repo) for name, repo in rendered.items()}
        if args.check:
            for name, paths in stale.items():
                for path in paths:
                    print(f"examples/{name}/{path}")
            return 1 if any(stale.values()) else 0
        for name, repo in rendered.items():
            shutil.rmtree(EXAMPLES / name, ignore_errors=True)
            shutil.copytree(repo, EXAMPLES / name, symlinks=True)
            print(f"examples/{name}: {'regenerated' if stale[name] else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
