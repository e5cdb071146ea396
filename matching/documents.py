"""A candidate prepared straight from its index document, whose keys are already computed.

The document builder stores every name key that `mappings.normalise` computes (folded text,
phonetic keys, nickname groups), so a retrieved candidate needs no phonetic algorithm run
again: scoring 200 hits costs the comparisons alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from mappings import fields as f
from matching.dates import birth_value
from matching.names import family_name_value, given_name_value, other_family_names_from_folded
from matching.postcodes import place_value, previous_postcodes_value
from matching.prepared import Prepared, gender_value

__all__ = ["DOCUMENT_FIELDS", "prepared_from_document"]

# The `_source` fields `prepared_from_document` reads: what a search asks Elasticsearch for.
DOCUMENT_FIELDS: tuple[str, ...] = (
    f"{f.DISPLAY}.{f.DISPLAY_GIVEN_NAMES}",
    f"{f.DISPLAY}.{f.DISPLAY_FAMILY_NAME}",
    f.GIVEN_NAMES_FOLDED,
    f.GIVEN_NAME_PHONETIC,
    f.GIVEN_NAME_NICKNAMES,
    f.FAMILY_NAME_FOLDED,
    f.FAMILY_NAME_PHONETIC,
    f.DATE_OF_BIRTH,
    f.POSTCODE,
    f.TOWN,
    f.GENDER,
    f.OTHER_FAMILY_NAMES_FOLDED,
    f.PREVIOUS_POSTCODES,
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _texts(value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list | tuple) else ()
    return tuple(x for x in values if isinstance(x, str) and x)


def prepared_from_document(source: Mapping[str, Any], *, location: bool = True) -> Prepared:
    """The candidate of an index document's `_source`, as `prepare` would make it from the child.

    `location=False` leaves the postcode, town and previous postcodes out, for a shielded child
    whose location the searcher may not see: the ranking must not reveal where the child lives.
    """
    display = source.get(f.DISPLAY) or {}
    given_text = _text(display.get(f.DISPLAY_GIVEN_NAMES))
    family_text = _text(display.get(f.DISPLAY_FAMILY_NAME))
    born = _text(source.get(f.DATE_OF_BIRTH))
    return Prepared(
        given=given_name_value(
            given_text,
            folded=source.get(f.GIVEN_NAMES_FOLDED) or "",
            phonetic=source.get(f.GIVEN_NAME_PHONETIC) or (),
            nicknames=source.get(f.GIVEN_NAME_NICKNAMES) or (),
        ),
        family=family_name_value(
            family_text,
            folded=source.get(f.FAMILY_NAME_FOLDED) or "",
            phonetic=source.get(f.FAMILY_NAME_PHONETIC) or (),
        ),
        birth=None if born is None else birth_value(date.fromisoformat(born)),
        place=place_value(_text(source.get(f.POSTCODE)), _text(source.get(f.TOWN)))
        if location
        else None,
        gender=gender_value(_text(source.get(f.GENDER))),
        other_families=other_family_names_from_folded(
            _texts(source.get(f.OTHER_FAMILY_NAMES_FOLDED))
        ),
        previous_postcodes=previous_postcodes_value(_texts(source.get(f.PREVIOUS_POSTCODES)))
        if location
        else frozenset(),
    )
