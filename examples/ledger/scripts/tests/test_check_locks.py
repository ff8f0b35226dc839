"""The locks match the requirements files, and the check notices when they do not."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import fake_cli  # noqa: F401 (puts scripts/ on the path)
from check_locks import LOCKS, ROOT, problems


def test_every_lock_pins_what_its_requirements_allow_with_hashes():
    assert problems() == []


def copy(tmp_path: Path) -> Path:
    for name in [*LOCKS, *LOCKS.values()]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_a_range_changed_without_relocking_is_reported(tmp_path):
    repo = copy(tmp_path)
    app = repo / "app" / "requirements.txt"
    app.write_text(app.read_text().replace("prometheus-client>=0.26,<0.27", "prometheus-client>=0.27"))
    found = problems(repo)
    # the app's lock and the root one (which includes app/requirements.txt) are both stale
    assert len(found) == 2 and all(
        "prometheus-client" in problem and "relock with `uv pip compile" in problem for problem in found
    )


def test_a_new_requirement_or_a_hashless_pin_is_reported(tmp_path):
    repo = copy(tmp_path)
    with (repo / ".github" / "ci-requirements.txt").open("a") as requirements:
        requirements.write("yamllint>=1.35\n")
    lock = repo / "app" / "requirements.lock"
    lock.write_text(re.sub(r"(gunicorn==\S+) \\\n(\s+--hash=sha256:\w+( \\)?\n)+", r"\1\n", lock.read_text()))
    found = problems(repo)
    assert any(
        ".github/ci-requirements.lock: yamllint>=1.35" in problem and "not locked" in problem for problem in found
    )
    assert any("app/requirements.lock: gunicorn has no --hash" in problem for problem in found)
