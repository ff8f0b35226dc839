"""A small all-pairs generator: every value of every question meets every value of
every other question in at least one combination, with far fewer combinations than
the full product."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any


def all_pairs(
    factors: Mapping[str, Sequence[Any]], pairs: Sequence[tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """Combinations in which every value of `a` meets every value of `b`, for each (a, b) in
    `pairs` (default: every two factors)."""
    names = list(factors)
    chosen = pairs or list(itertools.combinations(names, 2))
    wanted = [tuple(sorted(pair, key=names.index)) for pair in chosen]
    uncovered = {((a, va), (b, vb)) for a, b in wanted for va in factors[a] for vb in factors[b]}
    combos: list[dict[str, Any]] = []
    while uncovered:
        # Seed with an uncovered pair, then fill each other factor greedily.
        (a, va), (b, vb) = min(uncovered, key=repr)
        combo = {a: va, b: vb}
        for name in names:
            if name in combo:
                continue
            combo[name] = max(
                factors[name],
                key=lambda v, n=name: sum(
                    (((n, v), (m, combo[m])) in uncovered) or (((m, combo[m]), (n, v)) in uncovered) for m in combo
                ),
            )
        ordered = {name: combo[name] for name in names}
        uncovered -= {((a, ordered[a]), (b, ordered[b])) for a, b in wanted}
        combos.append(ordered)
    return combos
