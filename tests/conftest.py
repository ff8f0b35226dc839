"""Shared fixtures: render the template with Copier's API, and run Pulumi code under mocks."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import nullcontext
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import jinja2
import pytest
import yaml
from copier import run_copy
from copier._main import Worker

from scripts.template_parts import copy_template

ROOT = Path(__file__).resolve().parents[1]

DEFAULTS: dict[str, Any] = {
    "project_name": "Example Service",
    "team": "platform",
}


# Where renders are kept for the whole run, shared by xdist's workers (set by `_shared_renders`).
_shared: dict[str, Path] = {}


@pytest.fixture(scope="session", autouse=True)
def _shared_renders(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point the template snapshot and the render cache at one folder of this run: under xdist,
    the parent of the worker's base temp (which all workers of the run share), else the base temp."""
    base = tmp_path_factory.getbasetemp()
    _shared["root"] = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "groundwork-renders"
    _shared["root"].mkdir(exist_ok=True)


def _publish(build: Callable[[Path], Path], name: str) -> Path:
    """The folder `name` of the run's shared renders, built by `build(private folder)` if no process
    published it yet. Lock-free: a build goes to a private folder that is renamed into place in one
    step; when two processes build the same folder at once, the second keeps the first's."""
    root = _shared.get("root") or Path(tempfile.mkdtemp(prefix="groundwork-renders-"))
    target = root / name
    if target.is_dir():
        return target
    private = build(Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root)) / "tree")
    try:
        private.rename(target)
    except OSError:  # published meanwhile by another worker
        shutil.rmtree(private.parent)
    return target


@cache
def template_snapshot() -> Path:
    """A copy of the template parts of this checkout, as they are now (uncommitted
    changes included), outside git: Copier renders a plain folder without cloning it,
    which keeps a matrix of renders fast. Taken once per test run."""
    return _publish(copy_template, "template")


# The Environment settings that change what Jinja compiles a template source into.
_SYNTAX = (
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
    "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized",
)  # fmt: skip
_compiled: dict[tuple[Any, ...], Any] = {}
_jinja_compile = jinja2.Environment.compile


def _compile_once(
    env: jinja2.Environment,
    source: Any,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> Any:
    """`Environment.compile`, once per source and syntax in a test process. Copier makes a new Jinja
    Environment for every render and compiles every file and path name again (about 1,800 templates,
    half a render's CPU); the code object Jinja makes depends only on the source, the names and
    the syntax settings, so each render after the first reuses it. Rendered trees are unchanged:
    tests/test_examples.py compares renders with the examples, which are rendered without this.
    Installed for the whole session by `_jinja_compiles_once`."""
    if raw or not isinstance(source, str) or callable(env.autoescape):
        return _jinja_compile(env, source, name, filename, raw, defer_init)
    syntax = tuple(getattr(env, setting) for setting in _SYNTAX)
    extensions = tuple(sorted(env.extensions))
    key = (source, name, filename, defer_init, env.autoescape, syntax, extensions)
    if key in _compiled:
        env.preprocess(source, name, filename)  # the extensions' hooks (Copier's yield tag resets its state)
    else:
        _compiled[key] = _jinja_compile(env, source, name, filename, raw, defer_init)
    return _compiled[key]


@pytest.fixture(scope="session", autouse=True)
def _jinja_compiles_once() -> Any:
    """Every Copier run of the session (renders, copies and updates of older versions) shares compiles."""
    with mock.patch.object(jinja2.Environment, "compile", _compile_once):
        yield


def render_fresh(dst: Path, **answers: Any) -> Path:
    """Render this checkout into `dst` with `answers` on top of the questionnaire's defaults.

    Copier runs `git config core.fileMode` once per rendered file to mirror executable bits into the
    destination's git index, a no-op (its docstring says) when the destination is not in a git
    repository. When `dst` is not in one (the tests' temporary folders), that step is skipped:
    ~150 git processes, a quarter of a render's CPU. Inside a repository Copier runs whole."""
    nearest = next(folder for folder in (dst, *dst.parents) if folder.is_dir())
    in_git = subprocess.run(["git", "-C", str(nearest), "rev-parse"], capture_output=True).returncode == 0
    skip_index_sync = nullcontext() if in_git else mock.patch.object(Worker, "_sync_git_index_executable_bit")
    with skip_index_sync:
        run_copy(
            str(template_snapshot()),
            dst,
            data={**DEFAULTS, **answers},
            defaults=True,
            unsafe=True,  # the template loads its Jinja extension
            quiet=True,
        )
    return dst


@cache
def _literal_defaults() -> dict[str, Any]:
    """The questions whose default is a plain value (not a Jinja expression) and always asked."""
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    return {
        name: spec["default"]
        for name, spec in questions.items()
        if not name.startswith("_")
        and "when" not in spec
        and "default" in spec
        and not (isinstance(spec["default"], str) and ("{{" in spec["default"] or "{%" in spec["default"]))
    }


def _significant(answers: dict[str, Any]) -> dict[str, Any]:
    """`answers` with DEFAULTS on top, without those equal to their question's plain default:
    Copier answers them the same when given or not, so both spellings share one render."""
    defaults = _literal_defaults()
    return {
        name: value
        for name, value in {**DEFAULTS, **answers}.items()
        if not (name in defaults and type(value) is type(defaults[name]) and value == defaults[name])
    }


def render(dst: Path, **answers: Any) -> Path:
    """`render_fresh(dst, **answers)`, from a cache: a render is a pure function of the template
    and the answers (tests/test_render_matrix.py checks it renders byte-identical trees), so each
    answer set renders once per run and every call gets its own copy in `dst`, free to edit."""
    key = hashlib.sha256(json.dumps(_significant(answers), sort_keys=True, default=repr).encode()).hexdigest()[:20]
    source = _publish(lambda private: render_fresh(private, **answers), f"repo-{key}")
    shutil.copytree(source, dst, symlinks=True, dirs_exist_ok=True)
    return dst


@pytest.fixture
def rendered(tmp_path: Path) -> Callable[..., Path]:
    """`rendered(**answers)` -> path of a freshly generated repo."""
    counter = iter(range(1000))

    def _render(**answers: Any) -> Path:
        return render(tmp_path / f"repo{next(counter)}", **answers)

    return _render


def run_generated_tests(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The generated repo's own test command, with this interpreter (its pins are ours)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_own_suite_and_lint_pass(repo: Path) -> None:
    """The generated repo's own test command, and its CI's lint job as it runs it, pass."""
    result = run_generated_tests(repo)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    for lint in (["check", "."], ["format", "--check", "."]):
        ruff = subprocess.run([sys.executable, "-m", "ruff", *lint], cwd=repo, capture_output=True, text=True)
        assert ruff.returncode == 0, ruff.stdout[-3000:]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests (a generated repo's own suite each) go first: xdist hands tests out in this
    order, so the workers share them at the start instead of one running the last alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
