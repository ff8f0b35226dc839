"""The template's user guide: one entry per question, and a strict MkDocs build."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import yaml
from conftest import ROOT

from pulumi_components.reliability import ALL_ALERT_NAMES
from pulumi_components.reliability.tiers import TIERS

QUESTIONS = [name for name in yaml.safe_load((ROOT / "copier.yml").read_text()) if not name.startswith("_")]


def test_every_question_has_a_docs_entry():
    documented = re.findall(r"^## `([a-z_]+)`$", (ROOT / "docs" / "questions.md").read_text(), flags=re.M)
    assert sorted(documented) == sorted(QUESTIONS), "docs/questions.md must have one `## `name`` entry per question"


def test_mkdocs_builds_strictly_with_the_models_tier_and_alert_tables(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    page = (site / "reliability-model" / "index.html").read_text()
    assert "tier-table" not in page
    for tier in TIERS:
        assert f"<th>{tier.name}</th>" in page
        assert tier.db_instance_class in page
    guide = (site / "observability" / "index.html").read_text()
    assert "alert-table" not in guide
    for name in ALL_ALERT_NAMES:
        assert f"<td><code>{name}</code></td>" in guide
