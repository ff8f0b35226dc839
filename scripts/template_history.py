"""A throwaway git repository of this template with tagged versions, for update tests and benchmarks.

`copier update` needs the template as a git repository with PEP 440 tags: a release is a tag,
and `copier update` without `--vcs-ref` takes the newest release tag, never an untagged commit
nor a pre-release. This copies the template parts of the working tree (uncommitted changes
included) into one, so each caller can commit its own releases, pre-releases and unreleased
work on top.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts.template_parts import copy_template

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Template Maintainers",
    "GIT_AUTHOR_EMAIL": "maintainers@example.com",
    "GIT_COMMITTER_NAME": "Template Maintainers",
    "GIT_COMMITTER_EMAIL": "maintainers@example.com",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV}, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {cwd}: {result.stderr}")
    return result.stdout


def copier(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The Copier CLI in a subprocess, so template versions never share imported modules;
    raises when it fails, unless `check` is False."""
    result = subprocess.run(
        [sys.executable, "-m", "copier", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        timeout=600,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"copier {' '.join(args)}:\n{result.stdout}\n{result.stderr}")
    return result


def template_repo(dst: Path) -> Path:
    """A git repository at `dst` holding the template parts of the working tree, uncommitted."""
    copy_template(dst)
    git(dst, "init", "-q", "-b", "main")
    return dst


def release(repo: Path, tag: str) -> None:
    """Commit everything and tag it: a release (or, tagged like v2.0.0rc1, a pre-release)."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Release {tag}")
    git(repo, "tag", tag)


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise AssertionError(f"{path}: {old!r} not found")
    path.write_text(text.replace(old, new, 1))


def generate(template: Path, dst: Path, ref: str, data: dict[str, object]) -> Path:
    """`copier copy` at `ref`, then a git repository with that first commit, as teams start."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    args = ["copy", "--trust", "--defaults", "--quiet", "--vcs-ref", ref]
    for key, value in data.items():
        args += ["--data", f"{key}={value}"]
    copier(dst.parent, *args, str(template), str(dst))
    git(dst, "init", "-q", "-b", "main")
    commit_all(dst, "Generated")
    return dst
