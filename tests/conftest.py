"""Shared fixtures: render the template with Copier's API, and run Pulumi code under mocks."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

ROOT = Path(__file__).resolve().parents[1]

DEFAULTS: dict[str, Any] = {
    "project_name": "Example Service",
    "team": "platform",
}


# What Copier reads of this repository: the questionnaire, its extension, the template and
# the components it vendors.
TEMPLATE_PARTS = ("copier.yml", "extensions", "pulumi_components", "template")


@cache
def template_snapshot() -> Path:
    """A copy of the template parts of this checkout, as they are now (uncommitted
    changes included), outside git: Copier renders a plain folder without cloning it,
    which keeps a matrix of renders fast. Taken once per test process."""
    snapshot = Path(tempfile.mkdtemp(prefix="groundwork-template-"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for part in TEMPLATE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, snapshot / part, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, snapshot / part)
    return snapshot


def render(dst: Path, **answers: Any) -> Path:
    """Render this checkout into `dst` with `answers` on top of the questionnaire's defaults."""
    run_copy(
        str(template_snapshot()),
        dst,
        data={**DEFAULTS, **answers},
        defaults=True,
        unsafe=True,  # the template loads its Jinja extension
        quiet=True,
    )
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
