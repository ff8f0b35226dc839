"""Carry a generated repository across renamed questions and moved files.

Copier runs this before `copier update` (copier.yml `_migrations`), inside the
repository being updated, with VERSION_PEP440_FROM and VERSION_PEP440_TO set.
Every release that renames a question or moves a generated file adds a row to
MIGRATIONS; the rows between the two versions are applied in order:

- a renamed question's recorded answer moves to its new name in
  `.copier-answers.yml`, so the update neither asks again nor loses it;
- a moved file (with the team's edits in it) moves to its new path, so Copier
  merges the new template's version into it instead of starting a fresh copy.

Standard library only: it runs with Copier's own interpreter.
"""

from __future__ import annotations

import os
import re
import sys
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


def apply(repo: Path, migrations: list[Migration]) -> list[str]:
    """Apply `migrations` to the repository at `repo`; returns what was done, for the log."""
    done = []
    answers = repo / ANSWERS_FILE
    for migration in migrations:
        if migration.renamed_answers and answers.exists():
            answers.write_text(rename_answers(answers.read_text(), migration.renamed_answers))
            done += [f"answer {old} -> {new}" for old, new in migration.renamed_answers.items()]
        for old, new in migration.moved_files.items():
            source, target = repo / old, repo / new
            if source.exists() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                source.rename(target)
                done.append(f"file {old} -> {new}")
    return done


def main() -> int:
    from_version = os.environ.get("VERSION_PEP440_FROM", "")
    to_version = os.environ.get("VERSION_PEP440_TO", "")
    if not from_version or not to_version:
        return 0  # not a versioned update: nothing to migrate
    for line in apply(Path.cwd(), pending(MIGRATIONS, from_version, to_version)):
        print(f"migrated {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
