"""u from the population itself: the levels that random pairs of its children fall into.

u = P(level | two records are not the same child) depends on the population (how dense its
postcodes are, how common its names), so the service does not rank with the u of the population
the model file was trained on: every frequency rebuild (each reindex) samples random pairs of
the children in PostgreSQL, and the ranking takes u from those counts while m stays the model
file's (m describes how one child's records differ, which travels; u does not).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from matching.comparisons import COMPARISONS, MISSING
from matching.model import ComparisonParameters, LevelParameters, MatchModel
from matching.prepared import Prepared, prepare
from matching.records import MatchRecord

__all__ = ["LevelCounts", "count_levels", "with_population_u"]

# Fewer pairs than this with both values present, and a comparison keeps the file's u.
MINIMUM_PAIRS = 10_000


@dataclass(frozen=True, slots=True)
class LevelCounts:
    """Per comparison: how many sampled pairs (both values present) fell into each fine level."""

    pairs: Mapping[str, int]
    counts: Mapping[str, Mapping[str, int]]


def count_levels(records: Sequence[MatchRecord], *, pairs: int, seed: int = 1) -> LevelCounts:
    """Sample `pairs` random pairs of distinct records (at most as many as there are distinct
    pairs) and count the level of each comparison (coarse levels, for a side that knows less,
    never occur between two full records)."""
    prepared: list[Prepared] = [prepare(record) for record in records]
    totals = dict.fromkeys((c.name for c in COMPARISONS), 0)
    counts = {c.name: dict.fromkeys((x.name for x in c.levels), 0) for c in COMPARISONS}
    if len(prepared) < 2:
        return LevelCounts(pairs=totals, counts=counts)
    rng = random.Random(seed)
    last = len(prepared) - 1
    # No more pairs than there are distinct pairs: a small population gives few, and keeps the
    # model file's u (MINIMUM_PAIRS) rather than counting its few pairs over and over.
    pairs = min(pairs, len(prepared) * last // 2)
    names = [[x.name for x in c.levels] for c in COMPARISONS]
    for _ in range(pairs):
        i = rng.randint(0, last)
        j = rng.randint(0, last - 1)
        j += j >= i  # a distinct second record, uniformly
        a, b = prepared[i], prepared[j]
        for comparison, levels in zip(COMPARISONS, names, strict=True):
            level = comparison.level_of(a, b)
            if MISSING < level < len(levels):
                totals[comparison.name] += 1
                counts[comparison.name][levels[level]] += 1
    return LevelCounts(pairs=totals, counts=counts)


def with_population_u(model: MatchModel, sampled: LevelCounts | None) -> MatchModel:
    """`model` with each comparison's u from `sampled` (a level no pair fell into: half a pair),
    where enough pairs were sampled; m, the prior and the frequencies unchanged."""
    if sampled is None:
        return model
    comparisons: dict[str, ComparisonParameters] = {}
    for comparison in COMPARISONS:
        params = model.comparisons[comparison.name]
        total = sampled.pairs.get(comparison.name, 0)
        table = sampled.counts.get(comparison.name, {})
        if total < MINIMUM_PAIRS:
            comparisons[comparison.name] = params
            continue
        raw = [max(table.get(level.name, 0), 0.5) / total for level in comparison.levels]
        scale = sum(raw)
        comparisons[comparison.name] = ComparisonParameters(
            levels={
                level.name: LevelParameters(m=params.levels[level.name].m, u=u / scale)
                for level, u in zip(comparison.levels, raw, strict=True)
            },
            m_source=params.m_source,
        )
    return replace(model, comparisons=comparisons)
