"""A small all-pairs generator: every value of every question meets every value of
every other question in at least one combination, with far fewer combinations than
the full product."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any


def all_pairs(
    factors: Mapping[str, Sequence[Any]], pairs: Sequence[tuple[str, str]] | None = None, tries: int = 20
) -> list[dict[str, Any]]:
    """Combinations in which every value of `a` meets every value of `b`, for each (a, b) in
    `pairs` (default: every two factors): the shortest list of `tries` greedy constructions, each
    seeding and filling in its own (seeded, so repeatable) order. Every combination costs a
    generated suite, so one fewer is worth the few milliseconds of search."""
    names = list(factors)
    chosen = pairs or list(itertools.combinations(names, 2))
    wanted = [tuple(sorted(pair, key=names.index)) for pair in chosen]
    candidates = (_greedy(factors, wanted, random.Random(seed)) for seed in range(tries))
    return min(candidates, key=len)


def _greedy(
    factors: Mapping[str, Sequence[Any]], wanted: Sequence[tuple[str, str]], rng: random.Random
) -> list[dict[str, Any]]:
    names = list(factors)
    uncovered = {((a, va), (b, vb)) for a, b in wanted for va in factors[a] for vb in factors[b]}
    combos: list[dict[str, Any]] = []
    while uncovered:
        # Seed with an uncovered pair, then fill each other factor with the value that covers most.
        (a, va), (b, vb) = rng.choice(sorted(uncovered, key=repr))
        combo = {a: va, b: vb}
        rest = [name for name in names if name not in combo]
        rng.shuffle(rest)
        for name in rest:
            scores = {
                value: sum(
                    (((name, value), (m, combo[m])) in uncovered) or (((m, combo[m]), (name, value)) in uncovered)
                    for m in combo
                )
                for value in factors[name]
            }
            best = max(scores.values())
            combo[name] = rng.choice([value for value in factors[name] if scores[value] == best])
        ordered = {name: combo[name] for name in names}
        uncovered -= {((a, ordered[a]), (b, ordered[b])) for a, b in wanted}
        combos.append(ordered)
    return combos
