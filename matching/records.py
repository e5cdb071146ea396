"""What the matcher compares: a search query or a child record, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["MatchRecord"]


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """One side of a comparison: a practitioner's query or a candidate child.

    Every field may be missing (None). A query may know only the year of birth (`birth_year`)
    or only a postcode district ("LS6" in `postcode`). For a shielded child the caller leaves
    `postcode`, `town` and `previous_postcodes` out when the searcher may not see the location,
    so that the ranking cannot reveal it. A child's former family names (and aliases) and the
    postcodes it lived at before are `other_family_names` and `previous_postcodes`.
    """

    given_names: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    birth_year: int | None = None
    postcode: str | None = None
    town: str | None = None
    gender: str | None = None
    identifier: str | None = None
    other_family_names: tuple[str, ...] = ()
    previous_postcodes: tuple[str, ...] = ()
