"""Relock the generated repositories' Python dependencies: `python -m scripts.lock_requirements`.

Each requirements file of a generated repo (ranges) has a lock beside it (exact versions with
every wheel's and sdist's sha256), committed in the template and copied into each repo:

    requirements.txt              -> requirements.lock (one per platform: the inputs differ)
    app/requirements.txt          -> app/requirements.lock (the image installs it)
    .github/ci-requirements.txt   -> .github/ci-requirements.lock (CI's tools, pip-audit among them)

The inputs are rendered per platform into a directory laid out like a generated repo and compiled
there with `uv pip compile --universal --python-version 3.11 --generate-hashes`: one lock for every
Python from 3.11 (CI) to the image's 3.12 and every OS, with the very command a team reruns in its
repo written in each lock's header. Resolution needs PyPI; the suite checks offline that each
committed lock still pins what its ranges allow (template/scripts/check_locks.py). Run this after
changing any of those requirements files.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import jinja2

from pulumi_components.reliability import Answers, plan_service
from pulumi_components.reliability.facts import ServiceFacts, service_facts
from pulumi_components.reliability.vocabulary import Platform

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template"
PLATFORMS = ("aws-eks", "aws-lambda")
COMPILE = ["pip", "compile", "--universal", "--python-version", "3.11", "--generate-hashes", "--quiet"]
# input in a generated repo -> its lock there
LOCKS = {
    "requirements.txt": "requirements.lock",
    "app/requirements.txt": "app/requirements.lock",
    ".github/ci-requirements.txt": ".github/ci-requirements.lock",
}


def template_lock(lock: str, platform: str) -> Path:
    """Where the template keeps a lock: the root one per platform, the others once."""
    if lock == "requirements.lock":
        return TEMPLATE / f"{{% if platform == '{platform}' %}}requirements.lock{{% endif %}}"
    return TEMPLATE / lock


def _facts(platform: str) -> ServiceFacts:
    """What the requirements templates branch on, for a service on `platform`."""
    answers = Answers(project_name="Lock", service_slug="lock", team="lock", owner_email="lock@example.com")
    return service_facts(plan_service(replace(answers, platform=Platform(platform))))


def render_inputs(platform: str, into: Path) -> None:
    """The requirements files as a repo generated for `platform` has them."""
    for name in LOCKS:
        source = TEMPLATE / name
        text = (
            source.read_text()
            if source.exists()
            else jinja2.Template(Path(f"{source}.jinja").read_text()).render(
                platform=platform, service_facts=lambda: _facts(platform)
            )
        )
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_text(text if text.endswith("\n") else text + "\n")


def uv() -> str:
    try:
        from uv import find_uv_bin  # the uv package from PyPI (the dev extra)
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            sys.exit("uv is needed: python -m pip install 'uv>=0.13,<0.14'")
        return found
    return find_uv_bin()


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    for platform in PLATFORMS:
        with tempfile.TemporaryDirectory() as work:
            repo = Path(work)
            render_inputs(platform, repo)
            for requirements, lock in LOCKS.items():
                subprocess.run([uv(), *COMPILE, requirements, "-o", lock], cwd=repo, check=True)
                template_lock(lock, platform).write_text((repo / lock).read_text())
                print(f"{platform}: {lock}")


if __name__ == "__main__":
    main()
