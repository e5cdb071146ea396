"""The match engine's value frequencies, counted from PostgreSQL and stored there.

Derived data like the index: rebuilt by every `contactpoint reindex` (after the alias swap, so
searches never wait for it) and by `contactpoint matching frequencies`; the API reads them
(`db.ranker`). The counting is the match engine's, so names and postcodes are
normalised as the scorer normalises them. The same pass samples random pairs of the children
and counts the comparison level of each: the population's own u (`matching.u_sampling`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from db.match_frequencies import (
    read_match_frequencies,
    read_match_level_counts,
    replace_match_frequencies,
    replace_match_level_counts,
)
from db.models import Child, OtherName, PreviousAddress
from matching import Frequencies, MatchRecord, count_frequencies
from matching.u_sampling import LevelCounts, count_levels

__all__ = [
    "child_records",
    "load_match_frequencies",
    "load_match_level_counts",
    "rebuild_match_frequencies",
]

_READ_BATCH = 10_000
# u from the population: random pairs among a uniform sample of its children.
U_SAMPLE_RECORDS = 200_000
U_PAIRS = 300_000


def child_records(session: Session, sample: int | None = None) -> Iterator[MatchRecord]:
    """Every child (or `sample` of them at random) as a MatchRecord, with its history."""
    # The history in the same statement (correlated, by index): never a query per child.
    former = (
        select(func.array_agg(aggregate_order_by(OtherName.family_name, OtherName.position)))
        .where(OtherName.child_id == Child.id)
        .scalar_subquery()
    )
    previous = (
        select(
            func.array_agg(aggregate_order_by(PreviousAddress.postcode, PreviousAddress.position))
        )
        .where(PreviousAddress.child_id == Child.id)
        .scalar_subquery()
    )
    statement = select(
        Child.given_names,
        Child.family_name,
        Child.date_of_birth,
        Child.postcode,
        Child.town,
        Child.gender,
        former.label("other_family_names"),
        previous.label("previous_postcodes"),
    )
    statement = (
        statement.order_by(func.random()).limit(sample)
        if sample is not None
        else statement.order_by(Child.id)
    )
    for row in session.execute(statement.execution_options(yield_per=_READ_BATCH)):
        yield MatchRecord(
            given_names=row.given_names,
            family_name=row.family_name,
            date_of_birth=row.date_of_birth,
            postcode=row.postcode,
            town=row.town,
            gender=row.gender,
            other_family_names=tuple(row.other_family_names or ()),
            previous_postcodes=tuple(row.previous_postcodes or ()),
        )


def _kept(
    records: Iterator[MatchRecord], kept: list[MatchRecord], rng: random.Random
) -> Iterator[MatchRecord]:
    """`records` passed on, with a uniform sample of at most U_SAMPLE_RECORDS of them kept."""
    for seen, record in enumerate(records):
        if seen < U_SAMPLE_RECORDS:
            kept.append(record)
        elif (slot := rng.randrange(seen + 1)) < U_SAMPLE_RECORDS:
            kept[slot] = record
        yield record


def rebuild_match_frequencies(*, session: Session, seed: int = 1) -> Frequencies:
    """Count the values of every child, and the levels random pairs of them fall into (for u),
    and replace the stored frequencies and level counts with them, in the session's
    transaction."""
    kept: list[MatchRecord] = []
    frequencies = count_frequencies(_kept(child_records(session), kept, random.Random(seed)))
    replace_match_frequencies(
        session=session, population=frequencies.population, counts=frequencies.counts
    )
    levels = count_levels(kept, pairs=U_PAIRS, seed=seed)
    replace_match_level_counts(session=session, sampled=levels.pairs, counts=levels.counts)
    return frequencies


def load_match_level_counts(*, session: Session) -> LevelCounts | None:
    """The stored level counts, for `matching.with_population_u`, or None when never sampled."""
    stored = read_match_level_counts(session=session)
    if stored is None:
        return None
    return LevelCounts(pairs=stored.sampled, counts=stored.counts)


def load_match_frequencies(*, session: Session) -> Frequencies | None:
    """The stored frequencies, ready to put into a model (`dataclasses.replace(model,
    frequencies=...)`), or None when they were never built."""
    stored = read_match_frequencies(session=session)
    if stored is None:
        return None
    return Frequencies(population=stored.population, counts=stored.counts)
