"""Every answer combination renders cleanly, deterministically, with only its own files."""

from __future__ import annotations

import filecmp
import itertools
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, render, render_fresh

from pulumi_components.reliability.tiers import tier_for

PLATFORMS = ("aws-eks", "aws-lambda")
STRATEGIES = ("rolling", "canary", "blue-green")
LEVELS = ("basic", "standard", "comprehensive")
SLAS = (99.5, 99.9, 99.95, 99.99)

QUESTION_NAMES = [n for n in yaml.safe_load((ROOT / "copier.yml").read_text()) if not n.startswith("_")]
# Jinja that survived rendering: a block tag, or an expression naming an answer or the plan.
# (GitHub `${{ }}`, Prometheus `{{ $labels }}` and Go templates `{{ .X }}` are meant to stay.)
LEFTOVER_JINJA = re.compile(
    r"\{%-?\s|\s-?%\}|\{\{-?\s*(?:" + "|".join(QUESTION_NAMES + ["reliability_plan", "plan", "_copier"]) + r")\b"
)


def rendered_files(repo: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(repo)): p
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts
    }


def check_parses(path: Path) -> None:
    text = path.read_text()
    if path.suffix in (".yml", ".yaml"):
        list(yaml.safe_load_all(text))
    elif path.suffix == ".json":
        json.loads(text)
    elif path.suffix == ".py":
        compile(text, str(path), "exec")


def expected_stacks(environments) -> set[str]:
    return {f"Pulumi.{env}.yaml" for env in environments}


def _eks(a):
    return a["platform"] == "aws-eks"


# Paths (a file, or a folder ending in "/") that belong to some answers only: each must be
# present exactly when its predicate holds.
BELONGS_TO = {
    "app/Dockerfile": _eks,
    "deploy/": _eks,
    "deploy/argo-rollouts.yaml": lambda a: _eks(a) and a["deployment_strategy"] != "rolling",
    "monitoring/prometheus/rules.yml": _eks,
    "monitoring/alertmanager/alertmanager.yml": _eks,
    "monitoring/gameday.py": _eks,
    "monitoring/values/kube-prometheus-stack.yaml": _eks,
    "monitoring/values/loki.yaml": lambda a: _eks(a) and a["monitoring_level"] != "basic",
    "monitoring/values/tempo.yaml": lambda a: _eks(a) and a["monitoring_level"] == "comprehensive",
    "monitoring/dashboards/": lambda a: _eks(a) and a["monitoring_level"] != "basic",
    "monitoring/dashboards/error-budget.json": lambda a: _eks(a) and a["monitoring_level"] == "comprehensive",
    "monitoring/loki/": lambda a: _eks(a) and a["monitoring_level"] == "comprehensive",
    ".github/workflows/restore-test.yml": lambda a: a["database"] == "postgres",
    ".github/workflows/failover.yml": lambda a: tier_for(a["sla"]).cross_region_replica,
    "docs/runbooks/DatabaseUnavailable.md": lambda a: (
        _eks(a) and a["database"] == "postgres" and a["monitoring_level"] != "basic"
    ),
    "docs/runbooks/FunctionThrottled.md": lambda a: not _eks(a),
    "compose.yaml": _eks,
    "monitoring/local/": _eks,
    "app/service/migrations/": lambda a: a["database"] == "postgres",
    "docs/schema-migrations.md": lambda a: a["database"] == "postgres",
}


def present(files: dict[str, Path], path: str) -> bool:
    return any(name.startswith(path) for name in files) if path.endswith("/") else path in files


@pytest.mark.parametrize(
    ("platform", "strategy", "level", "sla"), list(itertools.product(PLATFORMS, STRATEGIES, LEVELS, SLAS))
)
def test_every_combination_renders_cleanly(tmp_path, platform, strategy, level, sla):
    # Half the SLAs go without a database, so each platform, strategy and level is seen both ways.
    database = "none" if sla in (99.5, 99.95) else "postgres"
    answers = dict(platform=platform, deployment_strategy=strategy, monitoring_level=level, sla=sla, database=database)
    repo = render(tmp_path / "svc", **answers)
    files = rendered_files(repo)
    for path, belongs in BELONGS_TO.items():
        assert present(files, path) == belongs(answers), f"{path} {'missing' if belongs(answers) else 'unexpected'}"
    for name, path in files.items():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        leftover = LEFTOVER_JINJA.search(text)
        assert not leftover, f"{name}: unrendered Jinja {leftover.group(0)!r}"
        assert not name.endswith(".jinja"), f"{name} kept its template suffix"
        check_parses(path)
    empty = [str(d.relative_to(repo)) for d in repo.rglob("*") if d.is_dir() and not any(d.iterdir())]
    assert not empty, f"empty folders (git would drop them): {empty}"
    stacks = {name for name in files if name.startswith("Pulumi.") and name != "Pulumi.yaml"}
    assert stacks == expected_stacks(("dev", "staging", "prod"))
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["platform"] == platform and answers["sla"] == sla


def test_only_chosen_environments_get_a_stack(tmp_path):
    repo = render(tmp_path / "svc", environments=["staging", "prod"])
    assert {p.name for p in repo.glob("Pulumi.*.yaml")} == expected_stacks(("staging", "prod"))


def test_template_internals_are_not_rendered(tmp_path):
    repo = render(tmp_path / "svc")
    assert not (repo / "_macros").exists()
    assert not list(repo.rglob("__pycache__"))
    assert (repo / "infra" / "components" / "reliability" / "plan.py").is_file()  # vendored, not linked
    assert not (repo / "infra" / "components").is_symlink()


def test_same_answers_render_byte_identical_trees(tmp_path):
    answers = dict(platform="aws-eks", deployment_strategy="blue-green", monitoring_level="comprehensive", sla=99.99)
    # Two runs of Copier: a fresh render against render()'s (which is one too, or the cached copy of one).
    first, second = render_fresh(tmp_path / "one", **answers), render(tmp_path / "two", **answers)
    names = rendered_files(first).keys()
    assert names == rendered_files(second).keys()
    _, mismatch, errors = filecmp.cmpfiles(first, second, list(names), shallow=False)
    assert not mismatch and not errors
