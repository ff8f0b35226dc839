"""The generated repo's own test command passes right after generation, for a set of answer
combinations in which every answer meets each platform, and the levels and database choices meet
each other. The EKS combination at 99.99 runs on a platform's shared cluster (`cluster: shared`):
the tier whose regional failover a shared cluster cannot build, and the shared path's own suite.

Each generated suite takes half a minute, so the set covers the pairs whose files interact in a
generated repo rather than all pairs: SLA and on-call tool change numbers and receivers that
tests/test_infra_matrix.py, test_monitoring_rules.py and test_alertmanager.py check for every
value, whatever the platform; strategies meet every level in test_infra_matrix.py and
test_render_matrix.py, which run the program and render the files they change."""

from __future__ import annotations

import itertools

import pytest
from conftest import assert_own_suite_and_lint_pass, render
from pairwise import all_pairs
from platform_pair import PLATFORM_STACK

FACTORS = {
    "platform": ("aws-eks", "aws-lambda"),
    "deployment_strategy": ("rolling", "canary", "blue-green"),
    "monitoring_level": ("basic", "standard", "comprehensive"),
    "sla": (99.5, 99.9, 99.95, 99.99),
    "database": ("postgres", "none"),
    "oncall": ("pagerduty", "opsgenie", "slack", "email"),
}
PAIRS = [("platform", factor) for factor in FACTORS if factor != "platform"] + [("monitoring_level", "database")]
SHARED = {"cluster": "shared", "platform_stack": PLATFORM_STACK}
COMBINATIONS = [
    combo | SHARED if (combo["platform"], combo["sla"]) == ("aws-eks", 99.99) else combo
    for combo in all_pairs(FACTORS, PAIRS)
]


def test_the_combinations_cover_the_chosen_pairs():
    covered = {frozenset({(a, combo[a]), (b, combo[b])}) for combo in COMBINATIONS for a, b in PAIRS}
    for a, b in PAIRS:
        for va, vb in itertools.product(FACTORS[a], FACTORS[b]):
            assert frozenset({(a, va), (b, vb)}) in covered
    assert len(COMBINATIONS) <= 8  # platform x SLA alone needs 8
    assert sum(combo.get("cluster") == "shared" for combo in COMBINATIONS) == 1


def test_all_pairs_covers_every_pair_by_default():
    combos = all_pairs(FACTORS)
    for a, b in itertools.combinations(FACTORS, 2):
        seen = {(combo[a], combo[b]) for combo in combos}
        assert seen == set(itertools.product(FACTORS[a], FACTORS[b]))


@pytest.mark.slow
@pytest.mark.parametrize(
    "answers", COMBINATIONS, ids=lambda a: "-".join(str(v) for k, v in a.items() if k != "platform_stack")
)
def test_generated_repo_passes_its_own_tests(tmp_path, answers):
    assert_own_suite_and_lint_pass(render(tmp_path / "svc", **answers))
