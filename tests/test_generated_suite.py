"""The generated repo's own test command passes right after generation, for a set of answer
combinations in which every answer meets each platform, and the strategies, levels and database
choices meet each other.

Each generated suite takes half a minute, so the set covers the pairs whose files interact in a
generated repo rather than all pairs: SLA and on-call tool change numbers and receivers that
tests/test_infra_matrix.py, test_monitoring_rules.py and test_alertmanager.py check for every
value, whatever the platform."""

from __future__ import annotations

import itertools

import pytest
from conftest import assert_own_suite_and_lint_pass, render
from pairwise import all_pairs
from platform_pair import shared_service

FACTORS = {
    "platform": ("aws-eks", "aws-lambda"),
    "deployment_strategy": ("rolling", "canary", "blue-green"),
    "monitoring_level": ("basic", "standard", "comprehensive"),
    "sla": (99.5, 99.9, 99.95, 99.99),
    "database": ("postgres", "none"),
    "oncall": ("pagerduty", "opsgenie", "slack", "email"),
}
PAIRS = [("platform", factor) for factor in FACTORS if factor != "platform"] + [
    ("deployment_strategy", "monitoring_level"),
    ("monitoring_level", "database"),
]
COMBINATIONS = all_pairs(FACTORS, PAIRS)


def test_the_combinations_cover_the_chosen_pairs():
    covered = {frozenset({(a, combo[a]), (b, combo[b])}) for combo in COMBINATIONS for a, b in PAIRS}
    for a, b in PAIRS:
        for va, vb in itertools.product(FACTORS[a], FACTORS[b]):
            assert frozenset({(a, va), (b, vb)}) in covered
    assert len(COMBINATIONS) <= 9  # strategy x level alone needs 9


def test_all_pairs_covers_every_pair_by_default():
    combos = all_pairs(FACTORS)
    for a, b in itertools.combinations(FACTORS, 2):
        seen = {(combo[a], combo[b]) for combo in combos}
        assert seen == set(itertools.product(FACTORS[a], FACTORS[b]))


@pytest.mark.slow
@pytest.mark.parametrize("answers", COMBINATIONS, ids=lambda a: "-".join(str(v) for v in a.values()))
def test_generated_repo_passes_its_own_tests(tmp_path, answers):
    assert_own_suite_and_lint_pass(render(tmp_path / "svc", **answers))


@pytest.mark.slow
def test_a_shared_service_at_99_99_passes_its_own_tests(tmp_path):
    """The tier whose failover a shared cluster cannot build (the platform's own suite, at 99.99 too,
    runs in test_platform_pair.py); the same answers as the 99.99 pair of test_infra_matrix.py."""
    answers = shared_service(sla=99.99, monitoring_level="comprehensive", deployment_strategy="canary")
    assert_own_suite_and_lint_pass(render(tmp_path / "shop", **answers))
