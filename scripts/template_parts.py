"""What Copier reads of this repository, and how to copy it elsewhere.

Tests, the example regeneration and the update history all render copies of the
working tree as it is (uncommitted changes included) rather than the git checkout:
a plain folder renders without a clone, and a copy can be committed and tagged as
a release of its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PARTS = ("copier.yml", "extensions", "pulumi_components", "template", "platform")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def copy_template(dst: Path) -> Path:
    """Copy the template parts of the working tree into `dst` (created); symlinks kept."""
    dst.mkdir(parents=True, exist_ok=True)
    for part in TEMPLATE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, dst / part, symlinks=True, ignore=_IGNORED)
        else:
            shutil.copy2(source, dst / part)
    return dst
