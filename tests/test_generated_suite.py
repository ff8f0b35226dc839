"""The generated repo's own test command passes right after generation, for a
pairwise-covering set of answer combinations."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from conftest import render, run_generated_tests
from pairwise import all_pairs

FACTORS = {
    "platform": ("aws-eks", "aws-lambda"),
    "deployment_strategy": ("rolling", "canary", "blue-green"),
    "monitoring_level": ("basic", "standard", "comprehensive"),
    "sla": (99.5, 99.9, 99.95, 99.99),
    "database": ("postgres", "none"),
    "oncall": ("pagerduty", "opsgenie", "slack", "email"),
}
COMBINATIONS = all_pairs(FACTORS)


def test_the_combinations_cover_every_pair():
    covered = {
        frozenset({(a, combo[a]), (b, combo[b])})
        for combo in COMBINATIONS
        for a, b in itertools.combinations(FACTORS, 2)
    }
    for a, b in itertools.combinations(FACTORS, 2):
        for va, vb in itertools.product(FACTORS[a], FACTORS[b]):
            assert frozenset({(a, va), (b, vb)}) in covered
    assert len(COMBINATIONS) < 30


@pytest.mark.slow
@pytest.mark.parametrize("answers", COMBINATIONS, ids=lambda a: "-".join(str(v) for v in a.values()))
def test_generated_repo_passes_its_own_tests(tmp_path, answers):
    repo = render(tmp_path / "svc", **answers)
    result = run_generated_tests(repo)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    # The generated CI's lint job, as it runs it.
    for lint in (["check", "."], ["format", "--check", "."]):
        ruff = subprocess.run([sys.executable, "-m", "ruff", *lint], cwd=repo, capture_output=True, text=True)
        assert ruff.returncode == 0, ruff.stdout[-3000:]
