"""Carry a generated repository across renamed questions and moved files.

Copier runs this around `copier update` (copier.yml `_migrations`), inside the
repository being updated, with STAGE ("before" or "after"), VERSION_FROM,
VERSION_PEP440_FROM and VERSION_PEP440_TO set. Every release that renames a
question or moves a generated file adds a row to MIGRATIONS; the rows between
the two versions apply in order:

- before the update, a renamed question's recorded answer moves to its new name
  in `.copier-answers.yml`, so the update neither asks again nor loses it;
- after the update, a moved file is merged three ways into its new path: the
  old version's render is the base, the team's file at the old path is "before
  updating", the new version's render at the new path is "after updating".
  Edits that do not overlap merge cleanly; overlapping ones get the same inline
  conflict markers Copier writes. The old path is then removed.

Uses the standard library and Copier itself (it runs with Copier's interpreter).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ANSWERS_FILE = ".copier-answers.yml"


@dataclass(frozen=True)
class Migration:
    version: str  # the first release with the new names
    renamed_answers: dict[str, str] = field(default_factory=dict)  # old question -> new question
    moved_files: dict[str, str] = field(default_factory=dict)  # old path -> new path


# Newest last. Released versions and what they renamed are listed in CHANGELOG.md.
MIGRATIONS: tuple[Migration, ...] = ()


def _version(text: str) -> tuple[int, ...]:
    """'v1.2.0' or '1.2.0.post3.dev0+abc' -> (1, 2, 0): the release part, enough to order tags."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    if not match:
        raise SystemExit(f"migrations: cannot read a version from {text!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def pending(migrations: tuple[Migration, ...], from_version: str, to_version: str) -> list[Migration]:
    """The migrations an update from `from_version` to `to_version` crosses, oldest first."""
    low, high = _version(from_version), _version(to_version)
    return [m for m in migrations if low < _version(m.version) <= high]


def rename_answers(text: str, renames: dict[str, str]) -> str:
    """Rename top-level keys of the answers file, keeping every other line as it is."""
    for old, new in renames.items():
        text = re.sub(rf"^{re.escape(old)}:", f"{new}:", text, flags=re.MULTILINE)
    return text


def apply_renamed_answers(repo: Path, migrations: list[Migration]) -> list[str]:
    """Before the update: rename answers in the answers file; returns what was done."""
    done = []
    answers = repo / ANSWERS_FILE
    for migration in migrations:
        if migration.renamed_answers and answers.exists():
            answers.write_text(rename_answers(answers.read_text(), migration.renamed_answers))
            done += [f"answer {old} -> {new}" for old, new in migration.renamed_answers.items()]
    return done


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)


def _old_render(repo: Path, directory: Path) -> Path:
    """The template at the version the repository had before this update, rendered with the
    answers it had then: the common base of every moved file."""
    import yaml
    from copier import run_copy

    answers = yaml.safe_load(_git(repo, "show", f"HEAD:{ANSWERS_FILE}").stdout)
    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    run_copy(
        answers["_src_path"],
        directory,
        data=data,
        vcs_ref=answers["_commit"],
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )
    return directory


def merge_moved_file(repo: Path, old: str, new: str, base_root: Path) -> str:
    """Three-way merge of the team's file at `old` into the new render at `new`."""
    ours = _git(repo, "show", f"HEAD:{old}")
    target = repo / new
    if ours.returncode != 0 or not target.exists():
        return ""  # the team never had the file, or the new version dropped it
    base = base_root / old
    with tempfile.TemporaryDirectory() as scratch:
        ours_file, base_file = Path(scratch, "ours"), Path(scratch, "base")
        ours_file.write_text(ours.stdout)
        base_file.write_text(base.read_text() if base.exists() else "")
        merged = _git(
            repo,
            "merge-file",
            "-p",
            "-L",
            "before updating",
            "-L",
            "base",
            "-L",
            "after updating",
            str(ours_file),
            str(base_file),
            str(target),
        )
    if merged.returncode < 0 or merged.returncode > 127:
        raise SystemExit(f"migrations: git merge-file failed on {new}: {merged.stderr}")
    target.write_text(merged.stdout)
    for leftover in (repo / old, repo / f"{old}.rej"):
        leftover.unlink(missing_ok=True)
    return f"file {old} -> {new}" + (" (conflicts marked)" if merged.returncode else "")


def apply_moved_files(repo: Path, migrations: list[Migration]) -> list[str]:
    """After the update: merge every moved file into its new path; returns what was done."""
    moves = [(old, new) for migration in migrations for old, new in migration.moved_files.items()]
    if not moves:
        return []
    with tempfile.TemporaryDirectory() as scratch:
        base_root = _old_render(repo, Path(scratch, "base"))
        return [line for old, new in moves if (line := merge_moved_file(repo, old, new, base_root))]


def main() -> int:
    from_version = os.environ.get("VERSION_PEP440_FROM", "")
    to_version = os.environ.get("VERSION_PEP440_TO", "")
    if not from_version or not to_version:
        return 0  # not a versioned update: nothing to migrate
    migrations = pending(MIGRATIONS, from_version, to_version)
    stage = os.environ.get("STAGE", "")
    apply = apply_renamed_answers if stage == "before" else apply_moved_files
    for line in apply(Path.cwd(), migrations):
        print(f"migrated {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
