"""Carry a generated repository across template updates without losing a team's file.

Copier runs this around `copier update` (copier.yml `_migrations`), inside the
repository being updated, with STAGE ("before" or "after"), VERSION_FROM,
VERSION_PEP440_FROM and VERSION_PEP440_TO set. Every release that renames a
question, moves a generated file or moves template code out of a team-owned file
adds a row to MIGRATIONS; the rows between the two versions apply in order:

- before the update, a renamed question's recorded answer moves to its new name
  in `.copier-answers.yml`, so the update neither asks again nor loses it;
- after the update, a moved file is merged three ways into its new path: the
  old version's render is the base, the team's file at the old path is "before
  updating", the new version's render at the new path is "after updating".
  Edits that do not overlap merge cleanly; overlapping ones get the same inline
  conflict markers Copier writes. The old path is then removed;
- after the update, a team-owned file whose template part changed (template code
  moved out of it) is merged the same way, in place: Copier itself never touches
  a `_skip_if_exists` file.

On every update, whatever the versions: a team-owned file (`_skip_if_exists`)
that the new render no longer generates (the runbook notes of an alert the new
answers drop) is deleted by Copier; it is put back aside, under `retired/` next
to where it was, and when a later update generates it again the team's text
returns to its place.

As a Jinja extension (copier.yml `_jinja_extensions`) it gives the update
messages `reject_bad_update_data()`, which checks `--data` against the new
version's questions before Copier renders anything, and `update_report()`, which
names the conflicted files and the team files moved aside.

Uses the standard library, Jinja and Copier itself (it runs with Copier's interpreter).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.ext import Extension

ANSWERS_FILE = ".copier-answers.yml"
TEMPLATE_ROOT = Path(__file__).resolve().parents[1]  # the template checkout at the version updated to
RETIRED = "retired"  # where a team-owned file the template stopped generating is kept
# Copier's inline conflict markers (copier/_main.py, `git merge-file -L "before updating" ...`).
CONFLICT_MARKERS = (b"<<<<<<< before updating", b">>>>>>> after updating")


@dataclass(frozen=True)
class Migration:
    version: str  # the first release with the new names
    renamed_answers: dict[str, str] = field(default_factory=dict)  # old question -> new question
    moved_files: dict[str, str] = field(default_factory=dict)  # old path -> new path
    # Team-owned files (`_skip_if_exists`) whose template part changed in this release: the change up
    # to this release is merged three ways in place. Plain files only (no .jinja): the template's
    # text is the file under template/ at the release's tag.
    merged_team_files: tuple[str, ...] = ()


# Newest last. Released versions and what they changed are listed in CHANGELOG.md.
MIGRATIONS: tuple[Migration, ...] = (
    # The probes, the request handling and (in earlier commits already) the game-day fault hook moved
    # out of the team's app/service/core.py into routing.py, response.py and server.py: repos
    # generated before 1.0.0 drop the template's copy from their core.py, so nothing runs twice,
    # and keep their own code.
    Migration("1.0.0", merged_team_files=("app/service/core.py",)),
)


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


def _head_bytes(repo: Path, path: str) -> bytes | None:
    """The committed content of `path` (relative to `repo`), or None when HEAD does not have it."""
    shown = subprocess.run(["git", "show", f"HEAD:./{path}"], cwd=repo, capture_output=True)
    return shown.stdout if shown.returncode == 0 else None


def _paths(repo: Path, command: str, *args: str) -> list[str]:
    """The paths a git command lists (NUL-separated, so any file name works), relative to `repo`."""
    return [path for path in _git(repo, command, "-z", *args).stdout.split("\0") if path]


def _old_render(repo: Path, directory: Path) -> Path:
    """The template at the version the repository had before this update, rendered with the
    answers it had then: the common base of every moved or merged file."""
    import yaml
    from copier import run_copy

    answers = yaml.safe_load(_git(repo, "show", f"HEAD:./{ANSWERS_FILE}").stdout)
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


def merge3(repo: Path, ours: str, base: str, theirs: Path) -> bool:
    """Merge the change from `base` to `ours` into the file `theirs`, with Copier's labels;
    True when some hunks conflict (then marked inline)."""
    with tempfile.TemporaryDirectory() as scratch:
        ours_file, base_file = Path(scratch, "ours"), Path(scratch, "base")
        ours_file.write_text(ours)
        base_file.write_text(base)
        merged = _git(
            repo,
            "merge-file",
            "-p",
            "-L",
            "before updating",
            "-L",
            "last update",
            "-L",
            "after updating",
            str(ours_file),
            str(base_file),
            str(theirs),
        )
    if merged.returncode < 0 or merged.returncode > 127:
        raise SystemExit(f"migrations: git merge-file failed on {theirs}: {merged.stderr}")
    theirs.write_text(merged.stdout)
    return merged.returncode > 0


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def merge_moved_file(repo: Path, old: str, new: str, base_root: Path) -> str:
    """Three-way merge of the team's file at `old` into the new render at `new`."""
    ours = _head_bytes(repo, old)
    target = repo / new
    if ours is None or not target.exists():
        return ""  # the team never had the file, or the new version dropped it
    conflicts = merge3(repo, ours.decode(), _read(base_root / old), target)
    for leftover in (repo / old, repo / f"{old}.rej"):
        leftover.unlink(missing_ok=True)
    return f"file {old} -> {new}" + (" (conflicts marked)" if conflicts else "")


def release_text(path: str, version: str, template_root: Path = TEMPLATE_ROOT) -> str | None:
    """The template's `path` (under template/) as the first final release at or after `version`
    shipped it: the text a migration row merges, whatever later releases did to the file.
    None when the template checkout has no such tag or file."""
    releases = sorted(
        (_version(tag), tag)
        for tag in _git(template_root, "tag", "--list").stdout.split()
        if re.fullmatch(r"v?\d+(\.\d+)*", tag) and _version(tag) >= _version(version)
    )
    if not releases:
        return None
    shown = _git(template_root, "show", f"{releases[0][1]}:template/{path}")
    return shown.stdout if shown.returncode == 0 else None


def merge_team_file(repo: Path, path: str, base: str, theirs: str) -> str:
    """Three-way merge of the template's change to a team-owned file (`base` -> `theirs`) into the
    team's version of it ("before updating"); the result replaces the team's file."""
    ours = repo / path
    if not ours.exists():
        return ""  # the team removed its file
    with tempfile.TemporaryDirectory() as scratch:
        merged = Path(scratch, "merged")
        merged.write_text(theirs)
        conflicts = merge3(repo, ours.read_text(), base, merged)
        ours.write_text(merged.read_text())
    return f"team file {path}: the template's change merged" + (" (conflicts marked)" if conflicts else "")


def merge_team_files(repo: Path, team_files: list[tuple[str, str]], base_root: Path) -> list[str]:
    """Each (path, release) in order: the template's change to that team file up to the release,
    from what the repository's version generated (or the previous row's release) on."""
    done, bases = [], {}
    for path, version in team_files:
        theirs = release_text(path, version)
        if theirs is None:  # no such tag in the template checkout: the version updated to
            current = TEMPLATE_ROOT / "template" / path
            theirs = current.read_text() if current.exists() else None
        if theirs is None:
            continue  # the template no longer ships the file
        done.append(merge_team_file(repo, path, bases.get(path, _read(base_root / path)), theirs))
        bases[path] = theirs
    return done


def apply_file_migrations(repo: Path, migrations: list[Migration]) -> list[str]:
    """After the update: merge every moved file into its new path and every reshaped team file in
    place, over one render of the old version; returns what was done."""
    moves = [(old, new) for migration in migrations for old, new in migration.moved_files.items()]
    team_files = [(path, migration.version) for migration in migrations for path in migration.merged_team_files]
    if not moves and not team_files:
        return []
    with tempfile.TemporaryDirectory() as scratch:
        base_root = _old_render(repo, Path(scratch, "base"))
        done = [merge_moved_file(repo, old, new, base_root) for old, new in moves]
        done += merge_team_files(repo, team_files, base_root)
    return [line for line in done if line]


# --- team-owned files the template stops generating --------------------------------------------


def team_owned_patterns(template_root: Path = TEMPLATE_ROOT) -> list[str]:
    """copier.yml `_skip_if_exists`: the files the team owns once generated."""
    import yaml

    return list(yaml.safe_load((template_root / "copier.yml").read_text()).get("_skip_if_exists", []))


def _matcher(patterns: Iterable[str]) -> Any:
    """The path matcher Copier itself uses for `_skip_if_exists` (gitignore-style patterns)."""
    from pathspec import PathSpec

    try:
        return PathSpec.from_lines("gitignore", patterns).match_file
    except LookupError:  # pathspec < 1.0 names the style gitwildmatch
        return PathSpec.from_lines("gitwildmatch", patterns).match_file


def retired_path(path: str) -> str:
    """docs/runbooks/notes/X.md -> docs/runbooks/notes/retired/X.md"""
    parent, _, name = path.rpartition("/")
    return f"{parent}/{RETIRED}/{name}" if parent else f"{RETIRED}/{name}"


def original_path(retired: str) -> str | None:
    """The inverse of retired_path, or None when `retired` is not in a retired/ folder."""
    parts = retired.split("/")
    if len(parts) < 2 or parts[-2] != RETIRED:
        return None
    return "/".join([*parts[:-2], parts[-1]])


def keep_team_files(repo: Path, patterns: list[str]) -> list[str]:
    """After the update: a team-owned file Copier deleted (the new render no longer has it) goes to
    retired/ next to where it was; a team-owned file the update created afresh while the team's
    text waits in retired/ gets that text back. Returns what was done."""
    owned = _matcher(patterns)
    done = []
    for path in _paths(repo, "diff", "--relative", "--name-only", "--diff-filter=D", "HEAD", "--"):
        content = _head_bytes(repo, path)
        if owned(path) and content is not None and not (repo / path).exists():
            kept = repo / retired_path(path)
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_bytes(content)
            done.append(f"kept {path} at {retired_path(path)}: the template no longer generates it")
    for path in _paths(repo, "ls-files", "--others", "--exclude-standard"):
        kept = retired_path(path)
        content = _head_bytes(repo, kept)
        if owned(path) and content is not None and (repo / kept).exists():
            (repo / path).write_bytes(content)
            (repo / kept).unlink()
            done.append(f"restored {path} from {kept}: the template generates it again")
    return done


# --- what the update messages say ---------------------------------------------------------------


def conflicted_files(repo: Path) -> list[str]:
    """Files the update left with Copier's inline conflict markers, and .rej files (--conflict rej)."""
    changed = set(_paths(repo, "ls-files", "--modified", "--others", "--exclude-standard"))
    changed |= set(_paths(repo, "ls-files", "--others", "--ignored", "--exclude-standard", "--", "*.rej"))
    changed |= {line.split("\t", 1)[1] for line in _paths(repo, "ls-files", "--unmerged")}
    found = []
    for path in sorted(changed):
        file = repo / path
        if not file.is_file():
            continue
        if path.endswith(".rej") or any(line.rstrip() in CONFLICT_MARKERS for line in file.open("rb")):
            found.append(path)
    return found


def kept_team_files(repo: Path, patterns: list[str]) -> list[tuple[str, str]]:
    """(team file, where it is kept) for every file this update moved aside to retired/."""
    owned = _matcher(patterns)
    kept = []
    for path in _paths(repo, "ls-files", "--others", "--exclude-standard"):
        original = original_path(path)
        if original and owned(original) and _head_bytes(repo, original) is not None:
            kept.append((original, path))
    return kept


def update_report(repo: Path, patterns: list[str]) -> str:
    """The paragraphs of the post-update message on what needs the team: conflicts, kept files."""
    paragraphs = []
    kept = kept_team_files(repo, patterns)
    if kept:
        paragraphs.append(
            "Team files the template no longer generates are kept, moved aside (an update never deletes "
            "a team's file; they move back if a later update generates them again):\n"
            + "\n".join(f"  {original} -> {path}" for original, path in kept)
        )
    conflicts = conflicted_files(repo)
    if conflicts:
        paragraphs.append(
            "Conflicts to resolve before committing (where the template and the team changed the same "
            "lines: keep what is right between '<<<<<<< before updating' and '>>>>>>> after updating', "
            "remove the markers, `git add` the file; for a .rej file, apply its hunks by hand and delete it):\n"
            + "\n".join(f"  {path}" for path in conflicts)
        )
    else:
        paragraphs.append("No conflicts: review the diff before committing.")
    return "\n\n".join(paragraphs)


# --- checked before the update renders anything ------------------------------------------------


def bad_update_data(questions: dict[str, Any], data: dict[str, Any], last: dict[str, Any], jinja_env: Any) -> str:
    """Copier's own error for the first `--data` answer the new version's questions refuse, or ''.

    Copier checks `--data` only when it renders the new version, after it has rendered the old one
    and run the "before" migrations; the same parsing, choices and validator, run first."""
    from copier._user_data import AnswersMap, Question

    answers = AnswersMap(init=dict(data), last=dict(last))
    context = {**last, **data}
    for name, details in questions.items():
        if name not in data:
            continue
        question = Question(var_name=name, answers=answers, context=context, jinja_env=jinja_env, **(details or {}))
        try:
            answer = question.parse_answer(data[name])
            context[name] = answer
            question.validate_answer(answer)
        except ValueError as error:
            return str(error) or f"Invalid answer for question '{name}': {data[name]!r}"
    return ""


@pass_context
def reject_bad_update_data(context: Any) -> str:
    """Fails the update (Copier's UserMessageError, printed without a traceback) when an answer
    given with --data is refused; '' otherwise. Called from the messages Copier renders before it
    renders the old version (`_message_before_update`) and before the "before" migrations."""
    import yaml
    from copier.errors import UserMessageError

    conf = context["_copier_conf"]
    data = dict(conf["data"] or {})
    if not data:
        return ""
    config = yaml.safe_load((Path(conf["src_path"]) / "copier.yml").read_text())
    questions = {name: spec for name, spec in config.items() if not name.startswith("_")}
    answers_file = Path(conf["dst_path"]) / conf["answers_file"]
    last = yaml.safe_load(answers_file.read_text()) if answers_file.is_file() else {}
    last = {key: value for key, value in (last or {}).items() if not key.startswith("_")}
    error = bad_update_data(questions, data, last, context.environment)
    if error:
        raise UserMessageError(f"{error}\nNothing was changed: fix the --data answer and run copier update again.")
    return ""


@pass_context
def update_message(context: Any) -> str:
    """update_report() for the repository being updated, with this version's team-owned files."""
    conf = context["_copier_conf"]
    return update_report(Path(conf["dst_path"]), team_owned_patterns(Path(conf["src_path"])))


class UpdateExtension(Extension):
    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.globals.update(reject_bad_update_data=reject_bad_update_data, update_report=update_message)


def main() -> int:
    from_version = os.environ.get("VERSION_PEP440_FROM", "")
    to_version = os.environ.get("VERSION_PEP440_TO", "")
    if not from_version or not to_version:
        return 0  # not a versioned update: nothing to migrate
    migrations = pending(MIGRATIONS, from_version, to_version)
    repo = Path.cwd()
    if os.environ.get("STAGE", "") == "before":
        done = apply_renamed_answers(repo, migrations)
    else:
        done = apply_file_migrations(repo, migrations) + keep_team_files(repo, team_owned_patterns())
    for line in done:
        print(f"migrated {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
