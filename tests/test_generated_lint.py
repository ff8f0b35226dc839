"""The generated Markdown renders as written and the generated YAML has no duplicate keys:
pymarkdownlnt and yamllint over a few answer combinations, with the configurations in tests/lint/
(each disabled rule names its reason there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import render
from platform_pair import PLATFORM

LINT = Path(__file__).parent / "lint"
BIN = Path(sys.executable).parent
# Between them: both platforms, every monitoring level, a database and none, the multi-region SLA,
# every rollout strategy and the paging and non-paging on-call tools; and a platform.
COMBINATIONS = [
    dict(platform="aws-eks", monitoring_level="comprehensive", database="postgres", sla=99.99,
         deployment_strategy="canary", oncall="pagerduty"),
    dict(platform="aws-eks", monitoring_level="basic", database="none", sla=99.5,
         deployment_strategy="blue-green", oncall="slack"),
    dict(platform="aws-lambda", monitoring_level="standard", database="postgres", sla=99.9,
         deployment_strategy="rolling", oncall="email"),
    # A platform repository: the render tests/test_platform_pair.py makes, shared through the cache.
    PLATFORM,
]  # fmt: skip


def markdown_findings(root: Path) -> str:
    result = subprocess.run(
        [BIN / "pymarkdown", "--config", LINT / "pymarkdown.yaml", "scan", "--recurse", root],
        capture_output=True,
        text=True,
    )
    return result.stdout + result.stderr if result.returncode else ""


def yaml_findings(root: Path) -> str:
    result = subprocess.run(
        [BIN / "yamllint", "--config-file", LINT / "yamllint.yaml", "--format", "parsable", "--no-warnings", root],
        capture_output=True,
        text=True,
    )
    return result.stdout + result.stderr if result.returncode else ""


@pytest.mark.parametrize("answers", COMBINATIONS, ids=lambda a: "-".join(str(v) for v in a.values()))
def test_generated_markdown_and_yaml_lint_clean(tmp_path, answers):
    repo = render(tmp_path / "svc", **answers)
    assert markdown_findings(repo) == ""
    assert yaml_findings(repo) == ""


def test_the_linters_catch_what_they_are_here_for(tmp_path):
    (tmp_path / "postmortem.md").write_text("# Post-mortem: <incident title>\n")
    assert "MD033" in markdown_findings(tmp_path)  # a bare `<incident title>` would vanish as an HTML tag
    (tmp_path / "postmortem.md").unlink()
    (tmp_path / "values.yaml").write_text("replicas: 1\nreplicas: 2\n")
    assert "key-duplicates" in yaml_findings(tmp_path)
