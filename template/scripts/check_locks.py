"""Each lock still matches its requirements file: `python scripts/check_locks.py` (exit 1 if not).

requirements.txt, app/requirements.txt and .github/ci-requirements.txt hold ranges; the .lock
beside each holds what installs actually get (exact versions, a sha256 for every file), made by
the `uv pip compile ...` command in its header. Offline, this checks that every requirement (with
those of the files it includes with `-r`) is pinned in the lock at a version its range allows,
and that every pinned package has hashes. A range changed without relocking fails here, with the
command to run.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {
    "requirements.txt": "requirements.lock",
    "app/requirements.txt": "app/requirements.lock",
    ".github/ci-requirements.txt": ".github/ci-requirements.lock",
}
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


@dataclass
class Pin:
    version: Version
    hashes: int


def requirements(path: Path) -> list[Requirement]:
    """The requirements of a file, following `-r other.txt` (relative to the file)."""
    found = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            found += requirements(path.parent / line.split(None, 1)[1])
        elif not line.startswith("-"):
            found.append(Requirement(line))
    return found


def pins(lock: Path) -> dict[str, list[Pin]]:
    """name -> its pins (a universal lock may pin one package twice, under exclusive markers)."""
    text = re.sub(r"\\\n", " ", lock.read_text())
    found: dict[str, list[Pin]] = {}
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match["name"])
            found.setdefault(name, []).append(Pin(Version(match["version"]), line.count("--hash=sha256:")))
    return found


def problems(root: Path = ROOT) -> list[str]:
    found = []
    for source, target in LOCKS.items():
        lock = root / target
        if not lock.is_file() and not (root / source).is_file():
            continue  # a repository without that part (a platform has no app)
        if not lock.is_file():
            found.append(f"{target} is missing")
            continue
        header = lock.read_text().splitlines()[:2]
        command = header[1].lstrip("# ").strip() if len(header) == 2 else f"uv pip compile ... -o {target}"
        locked = pins(lock)
        for name, entries in locked.items():
            if any(entry.hashes == 0 for entry in entries):
                found.append(f"{target}: {name} has no --hash; relock with `{command}`")
        for requirement in requirements(root / source):
            name = canonicalize_name(requirement.name)
            entries = locked.get(name, [])
            if not entries:
                found.append(f"{target}: {requirement} ({source}) is not locked; relock with `{command}`")
            for entry in entries:
                if not requirement.specifier.contains(entry.version, prereleases=True):
                    found.append(
                        f"{target}: {name}=={entry.version} is outside {requirement} ({source}); "
                        f"relock with `{command}`"
                    )
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
