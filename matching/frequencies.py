"""Value frequencies of the population, for the term-frequency adjustment of exact agreements.

Agreeing on "Smith" says little, agreeing on a rare name says a lot: on a level with the
adjustment, u is the share of the population holding the agreeing value instead of the level's
average u.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from matching.comparisons import COMPARISONS
from matching.prepared import prepare
from matching.records import MatchRecord

__all__ = ["MINIMUM_STORED_COUNT", "Frequencies", "count_frequencies"]

# Values held by one child only are not stored (most names and postcodes at scale): a value
# missing from the table counts as held once.
MINIMUM_STORED_COUNT = 2


@dataclass(frozen=True, slots=True)
class Frequencies:
    """How many of `population` children hold each value, per comparison."""

    population: int
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def share(self, comparison: str, value: str | None) -> float | None:
        """The share of the population holding `value`, or None without a table for it."""
        table = self.counts.get(comparison)
        if table is None or value is None or self.population <= 0:
            return None
        return max(table.get(value, 1), 1) / self.population


def count_frequencies(
    records: Iterable[MatchRecord], *, minimum_count: int = MINIMUM_STORED_COUNT
) -> Frequencies:
    """Count the values of every comparison that has a term-frequency adjustment."""
    keyed = [(c.name, c.frequency_key) for c in COMPARISONS if c.frequency_key is not None]
    counters: dict[str, Counter[str]] = {name: Counter() for name, _ in keyed}
    population = 0
    for record in records:
        population += 1
        prepared = prepare(record)
        for name, key in keyed:
            value = key(prepared)
            if value is not None:
                counters[name][value] += 1
    return Frequencies(
        population=population,
        counts={
            name: {value: n for value, n in sorted(counter.items()) if n >= minimum_count}
            for name, counter in counters.items()
        },
    )
