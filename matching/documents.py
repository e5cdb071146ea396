"""A candidate prepared straight from its index document, whose keys are already computed.

The document builder stores every name key that `mappings.normalise` computes (folded text,
phonetic keys, nickname groups), so a retrieved candidate needs no phonetic algorithm run
again: scoring 200 hits costs the comparisons alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from mappings import fields as f
from matching.dates import birth_value
from matching.names import NameValue, name_value_from_keys, other_family_names_from_folded
from matching.postcodes import PlaceValue, place_value_once, previous_postcodes_value_once
from matching.prepared import Prepared, gender_value

__all__ = ["DOCUMENT_FIELDS", "prepared_from_document", "prepared_from_documents"]

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
    return prepared_from_documents([source], [location])[0]


def prepared_from_documents(
    sources: Sequence[Mapping[str, Any]], locations: Sequence[bool]
) -> list[Prepared]:
    """`prepared_from_document` of each source, with its `location`: the hits of one search.

    Values are shared among the hits alone (a search for "Smith" brings back many a Smith),
    then forgotten with them: nothing is memoised beyond the call but the dates of birth (a
    few thousand values), since the candidates of a million children hardly repeat from one
    search to the next, and a memo of them is garbage that every full pass of the collector
    walks (a million names held made pauses of one to two seconds).
    """
    names: dict[tuple[bool, str], NameValue | None] = {}
    places: dict[tuple[str | None, str | None], PlaceValue | None] = {}

    def name(text: str | None, source: Mapping[str, Any], *, given: bool) -> NameValue | None:
        if text is None:
            return None
        key = (given, text)
        if key not in names:
            if given:
                names[key] = name_value_from_keys(
                    text,
                    folded=source.get(f.GIVEN_NAMES_FOLDED) or "",
                    phonetic=source.get(f.GIVEN_NAME_PHONETIC) or (),
                    nicknames=source.get(f.GIVEN_NAME_NICKNAMES) or (),
                )
            else:
                names[key] = name_value_from_keys(
                    text,
                    folded=source.get(f.FAMILY_NAME_FOLDED) or "",
                    phonetic=source.get(f.FAMILY_NAME_PHONETIC) or (),
                )
        return names[key]

    def place(source: Mapping[str, Any]) -> PlaceValue | None:
        key = (_text(source.get(f.POSTCODE)), _text(source.get(f.TOWN)))
        if key not in places:
            places[key] = place_value_once(*key)
        return places[key]

    prepared = []
    for source, location in zip(sources, locations, strict=True):
        display = source.get(f.DISPLAY) or {}
        born = _text(source.get(f.DATE_OF_BIRTH))
        others = _texts(source.get(f.OTHER_FAMILY_NAMES_FOLDED))
        previous = _texts(source.get(f.PREVIOUS_POSTCODES)) if location else ()
        prepared.append(
            Prepared(
                given=name(_text(display.get(f.DISPLAY_GIVEN_NAMES)), source, given=True),
                family=name(_text(display.get(f.DISPLAY_FAMILY_NAME)), source, given=False),
                birth=None if born is None else birth_value(date.fromisoformat(born)),
                place=place(source) if location else None,
                gender=gender_value(_text(source.get(f.GENDER))),
                other_families=other_family_names_from_folded(others) if others else frozenset(),
                previous_postcodes=previous_postcodes_value_once(previous)
                if previous
                else frozenset(),
            )
        )
    return prepared
