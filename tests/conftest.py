"""Shared fixtures: render the template with Copier's API, and run Pulumi code under mocks."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

from scripts.template_parts import copy_template

ROOT = Path(__file__).resolve().parents[1]

DEFAULTS: dict[str, Any] = {
    "project_name": "Example Service",
    "team": "platform",
}


@cache
def template_snapshot() -> Path:
    """A copy of the template parts of this checkout, as they are now (uncommitted
    changes included), outside git: Copier renders a plain folder without cloning it,
    which keeps a matrix of renders fast. Taken once per test process."""
    return copy_template(Path(tempfile.mkdtemp(prefix="groundwork-template-")))


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
