"""Rendered repositories shared by the monitoring tests: each answer set renders once per test process."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import render

LEVELS = ("basic", "standard", "comprehensive")


@cache
def _repo(key: tuple[tuple[str, Any], ...]) -> Path:
    answers = {k: list(v) if isinstance(v, tuple) else v for k, v in key}
    return render(Path(tempfile.mkdtemp(prefix="groundwork-monitoring-")) / "repo", **answers)


def repo(**answers: Any) -> Path:
    """The generated repo for `answers` (on top of the questionnaire's defaults), rendered once."""
    return _repo(tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in answers.items())))


def tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not on PATH (.ci/run installs it from Debian's prometheus packages)")
    return path


def run(*argv: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
