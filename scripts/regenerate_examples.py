"""Render every answer file in examples/answers/ into its example repository, examples/<name>/.

    python -m scripts.regenerate_examples          # rewrite all examples
    python -m scripts.regenerate_examples --check  # exit 1 and list the drift, write nothing

The examples are committed, so a template change shows up in review as the diff of the
repositories it generates; tests/test_examples.py fails when they are stale. The working
tree is rendered as it is (uncommitted changes included). `.copier-answers.yml` keeps every
answer but not `_src_path`/`_commit`, which name the checkout and commit rendering them.

What an example shows is what the template decides, not the files it copies unchanged:
`infra/components/` is rendered as a verbatim copy of `pulumi_components/` (checked here), and
every other file the template holds without Jinja (`app/service/core.py`, `bootstrap/access.py`...)
is rendered as a verbatim copy of itself; both are committed as links to their source, so a
component or a static file is reviewed once, in its own file, and the examples' diff is what the
answers decided.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from scripts.template_parts import ROOT, copy_template

EXAMPLES = ROOT / "examples"
ANSWERS = EXAMPLES / "answers"
MACHINE_KEYS = ("_src_path:", "_commit:")
VENDORED = Path("infra", "components")  # in a generated repo: a copy of pulumi_components/
VENDORED_LINK = os.path.relpath(ROOT / "pulumi_components", EXAMPLES / "name" / VENDORED.parent)
TEMPLATE = ROOT / "template"


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
    link_vendored_components(dst)
    link_static_files(dst)
    return dst


def link_vendored_components(repo: Path) -> None:
    """Replace the repo's vendored copy of the components by a link to `pulumi_components/`,
    after checking that the copy is exactly the package (so the link shows what was rendered)."""
    vendored = repo / VENDORED
    if not vendored.is_dir():
        return
    differ = drift(ROOT / "pulumi_components", vendored)
    if differ:
        raise RuntimeError(f"{VENDORED} is not a verbatim copy of pulumi_components/: {differ[:5]}")
    shutil.rmtree(vendored)
    vendored.symlink_to(VENDORED_LINK, target_is_directory=True)


# `{% if <answer test> %}name{% endif %}`: a file or folder only some answers get, named `name`.
_CONDITIONAL_NAME = re.compile(r"\{%\s*if [^%]*%\}([^{}]*)\{%\s*endif\s*%\}")


def static_files() -> dict[Path, Path]:
    """Template files Copier copies as they are (no `.jinja` suffix), by the path they render to:
    their own, or with an `{% if %}` around a name reduced to the name. A path with any other Jinja
    renders elsewhere and is left out, as are git's own files, which git reads only as files
    (`.gitignore` behind a link is refused). {rendered path: template path}, relative to `template/`."""
    found = {}
    for path in sorted(TEMPLATE.rglob("*")):
        relative = path.relative_to(TEMPLATE)
        if path.is_symlink() or not path.is_file() or path.suffix == ".jinja" or path.name.startswith(".git"):
            continue
        if relative.parts[0] == "_macros" or "__pycache__" in relative.parts:
            continue
        rendered = _CONDITIONAL_NAME.sub(r"\1", relative.as_posix())
        if "{" not in rendered:
            found[Path(rendered)] = relative
    return found


def link_static_files(repo: Path) -> None:
    """Replace each rendered file that is a byte-for-byte copy of a static template file by a
    relative link to that file. A rendered file that differs (the template's `_skip_if_exists`
    or a task changed it) stays a file, so the drift test still compares what was rendered."""
    for relative, source in static_files().items():
        rendered = repo / relative
        if (
            rendered.is_file()
            and not rendered.is_symlink()
            and rendered.read_bytes() == (TEMPLATE / source).read_bytes()
        ):
            target = os.path.relpath(TEMPLATE / source, (EXAMPLES / repo.name / relative).parent)
            rendered.unlink()
            rendered.symlink_to(target)


def render_all(into: Path) -> dict[str, Path]:
    """{example name: rendered repo under `into`} for every answer file."""
    template = copy_template(into / "template")
    return {f.stem: render_example(template, f, into / "examples" / f.stem) for f in answer_files()}


def tree(root: Path) -> dict[str, bytes | str]:
    """{relative path: file bytes, or the target of a link} for every file and link under `root`
    (links are not followed; caches are skipped)."""
    entries: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in dirs + files:
            path = Path(folder, name)
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries[key] = os.readlink(path)
            elif path.is_file():
                entries[key] = path.read_bytes()
    return entries


def drift(expected: Path, actual: Path) -> list[str]:
    """Paths (relative to the example) that differ between two trees, byte for byte."""
    if not expected.is_dir():
        return ["(missing)"]
    want, have = tree(expected), tree(actual)
    return sorted(path for path in want.keys() | have.keys() if want.get(path) != have.get(path))


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
