"""The match engine's value frequencies, counted from PostgreSQL and stored there.

Derived data like the index: rebuilt by every `contactpoint reindex` (after the alias swap, so
searches never wait for it) and by `contactpoint matching frequencies`; the API reads them
(`searchapi.ranking`). The counting is the match engine's, so names and postcodes are
normalised as the scorer normalises them.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.match_frequencies import read_match_frequencies, replace_match_frequencies
from db.models import Child
from matching import Frequencies, MatchRecord, count_frequencies

__all__ = ["child_records", "load_match_frequencies", "rebuild_match_frequencies"]

_READ_BATCH = 10_000


def child_records(session: Session, sample: int | None = None) -> Iterator[MatchRecord]:
    """Every child (or `sample` of them at random) as a MatchRecord."""
    statement = select(
        Child.given_names,
        Child.family_name,
        Child.date_of_birth,
        Child.postcode,
        Child.town,
        Child.gender,
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
        )


def rebuild_match_frequencies(*, session: Session) -> Frequencies:
    """Count the values of every child and replace the stored frequencies with the counts, in
    the session's transaction."""
    frequencies = count_frequencies(child_records(session))
    replace_match_frequencies(
        session=session, population=frequencies.population, counts=frequencies.counts
    )
    return frequencies


def load_match_frequencies(*, session: Session) -> Frequencies | None:
    """The stored frequencies, ready to put into a model (`dataclasses.replace(model,
    frequencies=...)`), or None when they were never built."""
    stored = read_match_frequencies(session=session)
    if stored is None:
        return None
    return Frequencies(population=stored.population, counts=stored.counts)
