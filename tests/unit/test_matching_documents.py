"""A candidate prepared from its index document is the candidate prepared from the child."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings import IndexedChild, build_child_document
from matching import (
    MatchRecord,
    names,
    postcodes,
    prepare,
    prepare_once,
    prepared_from_document,
    prepared_from_documents,
    score,
)
from matching.prepared import clear_caches
from tests.unit.matching_support import hand_model

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
)


def _record(child: IndexedChild) -> MatchRecord:
    return MatchRecord(
        given_names=child.given_names,
        family_name=child.family_name,
        date_of_birth=child.date_of_birth,
        postcode=child.postcode,
        town=child.town,
        gender=child.gender,
        other_family_names=child.other_family_names,
        previous_postcodes=child.previous_postcodes,
    )


def test_the_document_gives_the_same_prepared_candidate_as_the_child() -> None:
    assert prepared_from_document(build_child_document(CHILD)) == prepare(_record(CHILD))


_NAME = st.text(alphabet=st.sampled_from("abcdeilmnorsty ÉéöØ'’-"), min_size=0, max_size=20).filter(
    lambda text: text.strip() != ""
)


@given(given_names=_NAME, family_name=_NAME, town=_NAME)
def test_any_names_give_the_same_keys_from_the_document_as_from_the_text(
    given_names: str, family_name: str, town: str
) -> None:
    child = replace(CHILD, given_names=given_names, family_name=family_name, town=town)
    assert prepared_from_document(build_child_document(child)) == prepare(_record(child))


@pytest.mark.parametrize("gender", ["female", "unknown"])
def test_gender_comes_from_the_document(gender: str) -> None:
    child = replace(CHILD, gender=gender)
    assert (
        prepared_from_document(build_child_document(child)).gender == prepare(_record(child)).gender
    )


def test_a_withheld_location_is_left_out() -> None:
    prepared = prepared_from_document(build_child_document(CHILD), location=False)
    assert prepared.place is None
    assert prepared.given == prepare(_record(CHILD)).given


MOVED = replace(
    CHILD, other_family_names=("Ó Súilleabháin", "Hall-Jones"), previous_postcodes=("eb35ab",)
)


def test_former_family_names_and_previous_postcodes_come_from_the_document() -> None:
    prepared = prepared_from_document(build_child_document(MOVED))
    assert prepared == prepare(_record(MOVED))
    assert prepared.previous_postcodes == {"EB3 5AB"}
    assert {"o suilleabhain", "osuilleabhain", "hall jones", "halljones"} <= prepared.other_families


def test_a_withheld_location_leaves_the_previous_postcodes_out_but_not_the_former_names() -> None:
    prepared = prepared_from_document(build_child_document(MOVED), location=False)
    assert prepared.place is None and prepared.previous_postcodes == frozenset()
    assert prepared.other_families == prepare(_record(MOVED)).other_families


def test_the_scorer_takes_prepared_candidates_and_records_alike() -> None:
    query = MatchRecord(given_names="Zoe", family_name="OBrien Smith", postcode="LS6 2AB")
    from_document = prepared_from_document(build_child_document(CHILD))
    (a,) = score(query, [from_document], hand_model())
    (b,) = score(query, [_record(CHILD)], hand_model())
    assert a.match_weight == b.match_weight
    assert a.record is from_document


def test_the_hits_of_a_search_are_prepared_each_as_alone_with_their_own_locations() -> None:
    sibling = replace(CHILD, identifier="9434765927", given_names="Alfie", shielded=True)
    sources = [build_child_document(child) for child in (CHILD, MOVED, sibling, CHILD)]
    locations = [True, True, False, True]
    batch = prepared_from_documents(sources, locations)
    assert batch == [
        prepared_from_document(source, location=seen)
        for source, seen in zip(sources, locations, strict=True)
    ]
    assert batch[2].place is None and batch[2].previous_postcodes == frozenset()
    assert batch[0].family is batch[3].family  # shared within the call


def test_a_search_memoises_nothing_of_its_query_or_its_hits() -> None:
    # Whatever a memo keeps, every full pass of the garbage collector walks: a running service
    # keeps nothing per search (the date of birth, a few thousand values, aside).
    clear_caches()
    query = MatchRecord(given_names="Zoe Mae", family_name="Smith", postcode="LS6 2AB")
    sources = [build_child_document(child) for child in (CHILD, MOVED)]
    wanted = prepare_once(query)
    score(wanted, prepared_from_documents(sources, [True, True]), hand_model())
    assert wanted == prepare(replace(query))
    clear_caches()
    score(wanted, prepared_from_documents(sources, [True, True]), hand_model())
    prepare_once(query)
    assert len(names._GIVEN_MEMO) == len(names._FAMILY_MEMO) == 0
    assert prepare.cache_info().currsize == 0
    assert postcodes.place_value.cache_info().currsize == 0
    assert postcodes.previous_postcodes_value.cache_info().currsize == 0
    assert names.other_family_names_value.cache_info().currsize == 0
