"""The search benchmark's hard corruptions, each drawn by many seeds: every query is corrupted
as its kind says and stays a request the API accepts."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from rapidfuzz.distance import OSA

from benchmarks._corruptions import (
    any_typo,
    exchanged_names,
    replaced_family_name,
    transposed_postcode,
    year_off,
)
from mappings.normalise import family_name_keys, fold, normalise_postcode
from mappings.query_builder import Criteria
from searchapi.search_schemas import SearchRequest

SEEDS = range(300)
FAMILIES = ("Smith", "Smyth", "Schmidt", "Phillips", "Filips", "Jones", "Taylor-Brown", "Khan")


def _criteria(body: dict[str, Any]) -> Criteria:
    """The criteria the API makes of the body (it raises on too little to search on)."""
    return SearchRequest.model_validate(body).criteria()


def test_a_replaced_family_name_neither_starts_nor_sounds_like_the_recorded_one() -> None:
    for seed in SEEDS:
        other = replaced_family_name(random.Random(seed), "Brown", FAMILIES)

        assert other in FAMILIES
        assert fold(other)[0] != "b"
        assert not set(family_name_keys(other).phonetic) & set(family_name_keys("Brown").phonetic)
    # Taylor-Brown sounds like Brown in its second part: it is never the replacement.
    drawn = {replaced_family_name(random.Random(seed), "Brown", FAMILIES) for seed in SEEDS}
    assert "Taylor-Brown" not in drawn
    assert len(drawn) > 3


def test_a_family_name_alike_in_sound_but_not_in_letter_is_no_replacement() -> None:
    drawn = {
        replaced_family_name(random.Random(seed), "Phillips", ("Filips", "Jones")) for seed in SEEDS
    }

    assert drawn == {"Jones"}


def test_no_replacement_when_every_family_name_starts_alike() -> None:
    families = ("Smith", "Smyth", "Sanders")

    assert replaced_family_name(random.Random(1), "Stone", families) is None


def test_a_query_with_a_replaced_family_name_is_accepted() -> None:
    other = replaced_family_name(random.Random(3), "Brown", FAMILIES)
    body = {
        "given_name": "Al",
        "family_name": other,
        "date_of_birth": "2015-06-01",
        "postcode": "LS6 2AB",
    }

    assert _criteria(body).family_name == other
    # Even without the family name, given name, date of birth and postcode are enough.
    without = _criteria({**body, "family_name": None})
    assert without.required == ("given_name", "date_of_birth", "postcode")


def _exchanged(seed: int, given: str = "Oliver", family: str = "Taylor") -> dict[str, Any]:
    return exchanged_names(
        random.Random(seed),
        given_name=given,
        family_name=family,
        date_of_birth=date(2014, 3, 17),
        postcode="LS6 2AB",
    )


def test_exchanged_names_carry_exactly_one_more_error() -> None:
    exchanged = {
        "given_name": "Taylor",
        "family_name": "Oliver",
        "date_of_birth": "2014-03-17",
        "postcode": "LS6 2AB",
    }
    errors = set()
    for seed in SEEDS:
        body = _exchanged(seed)
        wrong = [field for field in exchanged if body[field] != exchanged[field]]

        assert len(wrong) == 1, body
        field = wrong[0]
        if field in ("given_name", "family_name"):
            assert OSA.distance(body[field], exchanged[field]) == 1
            assert fold(body[field]) != fold(exchanged[field])
            errors.add("name")
        else:
            assert len(body[field]) == len(exchanged[field])
            assert sum(a != b for a, b in zip(body[field], exchanged[field], strict=True)) == 1
            errors.add(field)
            if field == "date_of_birth":
                assert date.fromisoformat(body[field]) != date(2014, 3, 17)
        assert _criteria(body).family_name == body["family_name"]
    assert errors == {"name", "date_of_birth", "postcode"}


def test_short_names_exchanged_are_never_mistyped_below_what_a_search_needs() -> None:
    for seed in SEEDS:
        body = _exchanged(seed, given="Al", family="Ng")

        assert (body["given_name"], body["family_name"]) == ("Ng", "Al")
        assert _criteria(body).family_name == "Al"


def test_a_mistyped_name_is_more_than_an_apostrophe_dropped() -> None:
    mistyped = [
        body["given_name"]
        for body in (_exchanged(seed, given="Jo", family="O'Neil") for seed in SEEDS)
        if body["given_name"] != "O'Neil"
    ]

    assert mistyped
    assert all(fold(name) != "oneil" for name in mistyped)


def test_a_typo_anywhere_always_changes_the_name_once_folded() -> None:
    for seed in SEEDS:
        assert fold(any_typo(random.Random(seed), "Smith")) != "smith"


@pytest.mark.parametrize(
    ("postcode", "expected"),
    [
        pytest.param("EB3 5AB", "EB5 3AB", id="digits-across-the-space"),
        pytest.param("LS25 3AB", "LS23 5AB", id="two-digit-district"),
    ],
)
def test_digits_either_side_of_the_space_are_transposed(postcode: str, expected: str) -> None:
    for seed in range(20):
        assert transposed_postcode(random.Random(seed), postcode) == expected


@pytest.mark.parametrize("postcode", ["LS25 5AB", "SW11 1AB", "BD1 1XY"])
def test_without_two_digits_to_exchange_two_adjacent_alike_characters_are(postcode: str) -> None:
    seen = set()
    for seed in SEEDS:
        transposed = transposed_postcode(random.Random(seed), postcode)

        assert transposed is not None
        moved = [i for i, (a, b) in enumerate(zip(postcode, transposed, strict=True)) if a != b]
        assert len(moved) == 2 and moved[1] == moved[0] + 1
        assert transposed[moved[0]] == postcode[moved[1]]
        assert transposed[moved[1]] == postcode[moved[0]]
        assert normalise_postcode(transposed) == transposed
        seen.add(transposed)
    assert len(seen) > 1


def test_a_postcode_with_no_two_alike_characters_side_by_side_swaps_unlike_ones() -> None:
    transposed = transposed_postcode(random.Random(5), "E1 1AA")

    assert transposed in {"1E 1AA", "E1 A1A"}


@pytest.mark.parametrize(
    "dob",
    [date(2014, 3, 17), date(2009, 12, 31), date(2020, 1, 1)],
    ids=["march", "new-years-eve", "new-years-day"],
)
def test_the_year_is_one_off_either_way_with_day_and_month_kept(dob: date) -> None:
    years = set()
    for seed in SEEDS:
        off = year_off(random.Random(seed), dob)

        assert abs(off.year - dob.year) == 1
        assert (off.month, off.day) == (dob.month, dob.day)
        years.add(off.year)
    assert years == {dob.year - 1, dob.year + 1}


def test_29_february_a_year_off_becomes_the_28th() -> None:
    offs = {year_off(random.Random(seed), date(2016, 2, 29)) for seed in SEEDS}

    assert offs == {date(2015, 2, 28), date(2017, 2, 28)}
