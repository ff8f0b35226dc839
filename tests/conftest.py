"""Shared fixtures: render the template with Copier's API, and run Pulumi code under mocks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

ROOT = Path(__file__).resolve().parents[1]

DEFAULTS: dict[str, Any] = {
    "project_name": "Example Service",
    "team": "platform",
}


def render(dst: Path, **answers: Any) -> Path:
    """Render this checkout (uncommitted changes included) into `dst` with `answers`
    on top of the questionnaire's defaults."""
    run_copy(
        str(ROOT),
        dst,
        data={**DEFAULTS, **answers},
        defaults=True,
        unsafe=True,  # the template loads its Jinja extension
        vcs_ref="HEAD",
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
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
