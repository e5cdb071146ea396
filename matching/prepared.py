"""A record prepared once for comparison: every value normalised the way the index does it."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from matching.dates import BirthValue, birth_value
from matching.names import (
    NameValue,
    clear_name_memos,
    family_name_value,
    given_name_value,
    name_value_once,
    other_family_names_value,
    other_family_names_value_once,
)
from matching.postcodes import (
    PlaceValue,
    place_value,
    place_value_once,
    previous_postcodes_value,
    previous_postcodes_value_once,
)
from matching.records import MatchRecord

__all__ = ["Prepared", "clear_caches", "gender_value", "prepare", "prepare_once"]

# Genders that say nothing: missing rather than a value that could agree or disagree.
_NO_GENDER = frozenset({"", "unknown", "not known", "not specified"})


class Prepared(NamedTuple):
    """A query or candidate with each field ready for its comparison (None when missing)."""

    given: NameValue | None
    family: NameValue | None
    birth: BirthValue | None
    place: PlaceValue | None
    gender: str | None
    # The folded and joined spellings of former family names (and aliases), and the normalised
    # postcodes lived at before: what the `former` and `previous` levels look in.
    other_families: frozenset[str] = frozenset()
    previous_postcodes: frozenset[str] = frozenset()


def gender_value(text: str | None) -> str | None:
    """The gender in lower case, or None when missing or unknown."""
    if text is None:
        return None
    value = text.strip().casefold()
    return None if value in _NO_GENDER else value


# Candidates recur across searches (and every record is on many training pairs): memoised.
@lru_cache(maxsize=65_536)
def prepare(record: MatchRecord) -> Prepared:
    """Prepare every field of `record` (each value memoised too: names and places repeat)."""
    return Prepared(
        given=given_name_value(record.given_names),
        family=family_name_value(record.family_name),
        birth=birth_value(record.date_of_birth, record.birth_year),
        place=place_value(record.postcode, record.town),
        gender=gender_value(record.gender),
        other_families=other_family_names_value(record.other_family_names),
        previous_postcodes=previous_postcodes_value(record.previous_postcodes),
    )


def prepare_once(record: MatchRecord) -> Prepared:
    """The same as `prepare`, keeping nothing: what a search prepares of its query. A running
    service memoises nothing per search here, since every object a memo keeps is one more that
    each full pass of the garbage collector walks (a million names held cost pauses of a second
    or two, measured at a million children)."""
    return Prepared(
        given=name_value_once(record.given_names, given=True),
        family=name_value_once(record.family_name, given=False),
        birth=birth_value(record.date_of_birth, record.birth_year),
        place=place_value_once(record.postcode, record.town),
        gender=gender_value(record.gender),
        other_families=other_family_names_value_once(record.other_family_names),
        previous_postcodes=previous_postcodes_value_once(record.previous_postcodes),
    )


def clear_caches() -> None:
    """Forget every prepared record and value (for benchmarks of the cold case)."""
    prepare.cache_clear()
    clear_name_memos()
    birth_value.cache_clear()
    place_value.cache_clear()
    other_family_names_value.cache_clear()
    previous_postcodes_value.cache_clear()
