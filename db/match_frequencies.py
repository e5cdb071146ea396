"""The match engine's value frequencies in PostgreSQL: replaced whole, read whole.

The counting is the match engine's (names are normalised in Python, as the index does it);
this module only stores and reads the counts, as plain data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from db.models import MatchFrequency, MatchFrequencyTotal, MatchLevelCount

__all__ = [
    "StoredFrequencies",
    "StoredLevelCounts",
    "match_statistics_version",
    "read_match_frequencies",
    "read_match_level_counts",
    "replace_match_frequencies",
    "replace_match_level_counts",
]

_INSERT_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class StoredFrequencies:
    """How many of `population` children hold each value, per comparison."""

    population: int
    counts: dict[str, dict[str, int]]


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(islice(rows, _INSERT_BATCH)):
        yield batch


def replace_match_frequencies(
    *, session: Session, population: int, counts: Mapping[str, Mapping[str, int]]
) -> int:
    """Replace every stored frequency by `counts` over `population` children, in the session's
    transaction (readers see the old counts until it commits); returns the values written."""
    session.execute(delete(MatchFrequency))
    session.execute(delete(MatchFrequencyTotal))
    if counts:
        session.execute(
            insert(MatchFrequencyTotal),
            [{"comparison": name, "population": population} for name in counts],
        )
    rows = (
        {"comparison": name, "value": value, "holders": holders}
        for name, table in counts.items()
        for value, holders in table.items()
    )
    written = 0
    for batch in _batches(rows):
        session.execute(insert(MatchFrequency), batch)
        written += len(batch)
    return written


def read_match_frequencies(*, session: Session) -> StoredFrequencies | None:
    """The stored frequencies, or None when they were never built."""
    totals = session.execute(
        select(MatchFrequencyTotal.comparison, MatchFrequencyTotal.population)
    ).all()
    if not totals:
        return None
    counts: dict[str, dict[str, int]] = {name: {} for name, _ in totals}
    rows = session.execute(
        select(MatchFrequency.comparison, MatchFrequency.value, MatchFrequency.holders)
    )
    for name, value, holders in rows:
        counts.setdefault(name, {})[value] = int(holders)
    # Written together by one rebuild: every comparison was counted over the same children.
    return StoredFrequencies(population=max(int(n) for _, n in totals), counts=counts)


@dataclass(frozen=True, slots=True)
class StoredLevelCounts:
    """Per comparison, the random pairs sampled (both values present) and those per level."""

    sampled: dict[str, int]
    counts: dict[str, dict[str, int]]


def replace_match_level_counts(
    *,
    session: Session,
    sampled: Mapping[str, int],
    counts: Mapping[str, Mapping[str, int]],
) -> None:
    """Replace every stored level count, in the session's transaction."""
    session.execute(delete(MatchLevelCount))
    rows = [
        {"comparison": name, "level": level, "pairs": pairs, "sampled": sampled.get(name, 0)}
        for name, table in counts.items()
        for level, pairs in table.items()
    ]
    if rows:
        session.execute(insert(MatchLevelCount), rows)


def read_match_level_counts(*, session: Session) -> StoredLevelCounts | None:
    """The stored level counts, or None when they were never sampled."""
    rows = session.execute(
        select(
            MatchLevelCount.comparison,
            MatchLevelCount.level,
            MatchLevelCount.pairs,
            MatchLevelCount.sampled,
        )
    ).all()
    if not rows:
        return None
    sampled: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    for name, level, pairs, total in rows:
        sampled[name] = int(total)
        counts.setdefault(name, {})[level] = int(pairs)
    return StoredLevelCounts(sampled=sampled, counts=counts)


def match_statistics_version(*, session: Session) -> tuple[object, ...]:
    """When the frequencies and level counts were last rebuilt (and how many rows they are): a
    reader re-reads them only when this changed, without reading the tables themselves."""
    frequencies = session.execute(
        select(func.max(MatchFrequencyTotal.rebuilt_at), func.count())
    ).one()
    levels = session.execute(select(func.max(MatchLevelCount.rebuilt_at), func.count())).one()
    return (*frequencies, *levels)
