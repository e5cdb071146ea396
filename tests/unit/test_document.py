"""The child document: exactly the expected fields, every one declared in the strict mapping."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings import (
    LOCATION_DISPLAY_FIELDS,
    LOCATION_FIELDS,
    LOCATION_SEARCH_FIELDS,
    IndexedChild,
    build_child_document,
    index_mappings,
)
from mappings.normalise import (
    address_tokens,
    family_name_keys,
    given_name_keys,
    nickname_groups,
    phonetic_keys,
)

CHILD = IndexedChild(
    identifier="9434765919",
    given_names="Zoë Mae",
    family_name="O'Brien-Smith",
    gender="female",
    date_of_birth=date(2019, 3, 4),
    address_lines=("12 Mill Ln",),
    town="Leeds",
    postcode="ls62ab",
    status="active",
    record_version=3,
    shielded=False,
    local_authority_code="E08000035",
    local_authority_name="Leeds",
    education_setting_name="Hyde Park Primary School",
    gp_practice_name="Burley Park Medical Centre",
)

EXPECTED_FIELDS = {
    "identifier",
    "given_names_folded",
    "family_name_folded",
    "given_name_tokens",
    "family_name_tokens",
    "name_tokens",
    "given_name_phonetic",
    "family_name_phonetic",
    "given_name_nicknames",
    "full_name",
    "other_family_names_folded",
    "other_family_name_tokens",
    "other_family_name_phonetic",
    "date_of_birth",
    "dob_year",
    "dob_month",
    "dob_day",
    "dob_swapped",
    "gender",
    "address",
    "address_tokens",
    "town",
    "postcode",
    "postcode_outward",
    "postcode_sector",
    "previous_postcodes",
    "previous_postcode_sectors",
    "previous_postcode_outwards",
    "education_setting",
    "gp_practice",
    "local_authority_code",
    "status",
    "shielded",
    "record_version",
    "display",
}
EXPECTED_DISPLAY_FIELDS = {
    "identifier",
    "given_names",
    "family_name",
    "gender",
    "date_of_birth",
    "local_authority_name",
    "town",
    "postcode_outward",
}


def _paths(document: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            paths |= _paths(value, f"{path}.")
        else:
            paths.add(path)
    return paths


def _mapped_paths(properties: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, spec in properties.items():
        if "properties" in spec:
            paths |= _mapped_paths(spec["properties"], f"{prefix}{key}.")
        else:
            paths.add(f"{prefix}{key}")
    return paths


def test_document_has_exactly_the_expected_fields() -> None:
    document = build_child_document(CHILD)
    assert set(document) == EXPECTED_FIELDS
    assert set(document["display"]) == EXPECTED_DISPLAY_FIELDS


def test_every_document_field_is_declared_in_the_strict_mapping() -> None:
    mappings = index_mappings()
    assert mappings["dynamic"] == "strict"
    assert _paths(build_child_document(CHILD)) == _mapped_paths(mappings["properties"])


def test_location_fields_are_fields_of_the_document() -> None:
    assert _paths(build_child_document(CHILD)) >= LOCATION_FIELDS
    assert LOCATION_FIELDS == LOCATION_SEARCH_FIELDS | LOCATION_DISPLAY_FIELDS


@pytest.mark.parametrize(
    "field",
    [
        "postcode",
        "postcode_outward",
        "postcode_sector",
        "previous_postcodes",
        "previous_postcode_sectors",
        "previous_postcode_outwards",
        "address_tokens",
        "town",
        "address",
    ],
)
def test_address_and_postcode_fields_are_location_fields(field: str) -> None:
    assert field in LOCATION_SEARCH_FIELDS


@pytest.mark.parametrize(
    "field", ["local_authority_code", "given_name_tokens", "date_of_birth", "shielded"]
)
def test_names_dates_and_local_authority_are_not_location_fields(field: str) -> None:
    assert field not in LOCATION_FIELDS


def test_document_holds_the_normalised_keys() -> None:
    document = build_child_document(CHILD)
    assert document["given_names_folded"] == "zoe mae"
    assert document["family_name_folded"] == "obrien smith"
    assert document["given_name_tokens"] == ["zoe", "mae", "zoemae"]
    assert document["family_name_tokens"] == ["obrien", "smith", "obriensmith"]
    assert document["name_tokens"] == ["zoe", "mae", "zoemae", "obrien", "smith", "obriensmith"]
    assert document["full_name"] == "zoe mae obrien smith"
    assert document["postcode"] == "LS6 2AB"
    assert document["postcode_outward"] == "LS6"
    assert document["postcode_sector"] == "LS6 2"
    assert document["address_tokens"] == ["12", "mill", "lane", "leeds"]
    assert document["town"] == "leeds"
    assert document["education_setting"] == "hyde park primary school"


def test_document_keys_are_those_a_query_computes_from_the_typed_name() -> None:
    document = build_child_document(replace(CHILD, given_names="William", family_name="Thompson"))
    assert set(phonetic_keys("tomson")) & set(document["family_name_phonetic"])
    assert nickname_groups("bill") & set(document["given_name_nicknames"])
    assert document["given_name_phonetic"] == list(given_name_keys("WILLIAM").phonetic)


def test_date_of_birth_and_its_parts() -> None:
    document = build_child_document(CHILD)
    assert document["date_of_birth"] == "2019-03-04"
    assert (document["dob_year"], document["dob_month"], document["dob_day"]) == (2019, 3, 4)
    assert document["dob_swapped"] == "2019-04-03"


def test_a_date_that_cannot_be_swapped_has_no_swapped_form() -> None:
    document = build_child_document(replace(CHILD, date_of_birth=date(2019, 3, 14)))
    assert document["dob_swapped"] is None


def test_display_block_keeps_the_names_as_registered() -> None:
    display = build_child_document(CHILD)["display"]
    assert display == {
        "identifier": "9434765919",
        "given_names": "Zoë Mae",
        "family_name": "O'Brien-Smith",
        "gender": "female",
        "date_of_birth": "2019-03-04",
        "local_authority_name": "Leeds",
        "town": "Leeds",
        "postcode_outward": "LS6",
    }


def test_a_shielded_childs_location_is_still_indexed() -> None:
    document = build_child_document(replace(CHILD, shielded=True))
    assert document["shielded"] is True
    assert document["postcode"] == "LS6 2AB"
    assert document["address_tokens"]


def test_an_invalid_postcode_leaves_the_postcode_fields_empty() -> None:
    document = build_child_document(replace(CHILD, postcode="not a postcode"))
    assert (document["postcode"], document["postcode_outward"], document["postcode_sector"]) == (
        None,
        None,
        None,
    )
    assert document["display"]["postcode_outward"] is None


def test_optional_organisations_may_be_absent() -> None:
    document = build_child_document(
        replace(
            CHILD, education_setting_name=None, gp_practice_name=None, local_authority_code=None
        )
    )
    assert (document["education_setting"], document["gp_practice"]) == (None, None)
    assert document["local_authority_code"] is None


def test_document_carries_no_contact_or_involvement_details() -> None:
    words = {word for path in _paths(build_child_document(CHILD)) for word in path.split("_")}
    forbidden = {"carer", "carers", "phone", "email", "involvement", "involvements", "consent"}
    assert not words & forbidden


_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40
)


@given(_names, _names, st.text(max_size=40))
def test_stored_keys_equal_the_keys_a_query_computes(
    given_text: str, family: str, line: str
) -> None:
    # The query builder calls the same functions on what the searcher types; whatever the text,
    # the keys it computes are exactly the keys the document stored.
    document = build_child_document(
        replace(CHILD, given_names=given_text, family_name=family, address_lines=(line,))
    )
    given_keys, family_keys = given_name_keys(given_text), family_name_keys(family)
    assert document["given_name_tokens"] == list(given_keys.tokens)
    assert document["given_name_phonetic"] == list(given_keys.phonetic)
    assert document["given_name_nicknames"] == list(given_keys.nicknames)
    assert document["family_name_tokens"] == list(family_keys.tokens)
    assert document["family_name_phonetic"] == list(family_keys.phonetic)
    assert document["address_tokens"] == address_tokens([line], CHILD.town)


def test_other_family_names_are_keyed_like_the_family_name() -> None:
    child = replace(CHILD, other_family_names=("Ó Súilleabháin", "Smith", "smith"))
    document = build_child_document(child)
    keys = [family_name_keys(name) for name in ("Ó Súilleabháin", "Smith")]
    assert document["other_family_names_folded"] == [key.folded for key in keys]
    assert document["other_family_name_tokens"] == [t for key in keys for t in key.tokens]
    phonetic = list(dict.fromkeys(p for key in keys for p in key.phonetic))
    assert document["other_family_name_phonetic"] == phonetic


def test_previous_postcodes_are_normalised_with_their_sector_and_district() -> None:
    child = replace(CHILD, previous_postcodes=("eb35ab", "EB3 5AD", "LS6 2AB", "not one"))
    document = build_child_document(child)
    assert document["previous_postcodes"] == ["EB3 5AB", "EB3 5AD", "LS6 2AB"]
    assert document["previous_postcode_sectors"] == ["EB3 5", "LS6 2"]
    assert document["previous_postcode_outwards"] == ["EB3", "LS6"]


def test_a_child_without_history_has_empty_history_fields() -> None:
    document = build_child_document(CHILD)
    assert document["other_family_names_folded"] == document["previous_postcodes"] == []
