"""Every script the README tells a newcomer to run starts from a fresh clone.

The benchmarks and maintenance scripts are not part of the suite (they take minutes), so
each is started with `--help`: that imports everything it needs, which is where a fresh
clone broke before (a benchmark importing the test suite's conftest).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# `.venv/bin/python benchmarks/x.py`, `python -m scripts.y` and the like, in code blocks.
_COMMAND = re.compile(r"python (?:-m (?P<module>[\w.]+)|(?P<script>[\w/]+\.py))")


def readme_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL):
        for match in _COMMAND.finditer(block):
            if match["module"]:
                commands.append(["-m", match["module"]])
            else:
                commands.append([match["script"]])
    return commands


def test_the_readme_shows_the_benchmarks_and_scripts():
    shown = {" ".join(c) for c in readme_commands()}
    assert {"benchmarks/copy_speed.py", "benchmarks/fleet_update.py", "-m scripts.regenerate_examples"} <= shown


@pytest.mark.parametrize("command", readme_commands(), ids=" ".join)
def test_a_readme_command_starts_from_the_checkout(command):
    result = subprocess.run([sys.executable, *command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()


def test_the_fleet_benchmark_edits_files_the_template_has(tmp_path):
    """The benchmark's v2.0.0 release edits template files by path and text: both must still exist."""
    import importlib.util
    import shutil

    spec = importlib.util.spec_from_file_location("fleet_update", ROOT / "benchmarks" / "fleet_update.py")
    fleet_update = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fleet_update)
    shutil.copytree(ROOT / "template", tmp_path / "template", symlinks=True)
    fleet_update.release_v2(tmp_path)  # raises when a file or the text it replaces is gone
