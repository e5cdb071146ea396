"""The search page's form: dates as the GOV.UK date input gives them, and errors by field."""

from __future__ import annotations

from datetime import date

import pytest

from searchapi.pages.search_form import (
    match_tags,
    parse_search_form,
    probability_words,
    too_many_advice,
)
from searchapi.search_schemas import SearchRequest, SearchResult


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (
            {"dob_day": "3", "dob_month": "4", "dob_year": "2016"},
            {"date_of_birth": date(2016, 4, 3)},
        ),
        ({"dob_year": "2016"}, {"birth_year": 2016}),
        ({"postcode": " LS6 "}, {"postcode": "LS6"}),
        ({"gender": "female", "dob_year": "2014"}, {"gender": "female", "birth_year": 2014}),
    ],
    ids=["full-date", "year-alone", "postcode-stripped", "gender"],
)
def test_a_complete_form_makes_a_search_request(
    form: dict[str, str], expected: dict[str, object]
) -> None:
    parsed = parse_search_form({"family_name": "Leech", "given_name": "Jo", **form})
    assert parsed.errors == {} and parsed.request is not None
    dumped = parsed.request.model_dump(exclude_none=True)
    assert all(dumped[key] == value for key, value in expected.items())


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"family_name": "Leech", "dob_day": "3", "dob_month": "4"}, "dob_year"),
        (
            {"family_name": "Leech", "dob_day": "31", "dob_month": "2", "dob_year": "2016"},
            "dob_day",
        ),
        ({"family_name": "Leech", "dob_month": "2", "dob_year": "2016"}, "dob_day"),
        ({"family_name": "Leech", "dob_year": "16"}, "dob_year"),
        ({"given_name": "Jo", "dob_year": "2016"}, "family_name"),
        ({"family_name": "Leech"}, "given_name"),
        ({"family_name": "Leech", "given_name": "Jo", "gender": "robot"}, "gender"),
        ({"family_name": "L" * 101, "given_name": "Jo"}, "family_name"),
    ],
    ids=[
        "no-year",
        "not-a-real-date",
        "month-and-year-only",
        "two-digit-year",
        "no-family-name",
        "family-name-alone",
        "unknown-gender",
        "too-long",
    ],
)
def test_an_incomplete_form_names_the_field_to_fix(form: dict[str, str], field: str) -> None:
    parsed = parse_search_form(form)
    assert parsed.request is None and field in parsed.errors


def test_match_tags_say_how_each_criterion_matched_in_short_words() -> None:
    result = SearchResult(
        identifier="1",
        given_names="William",
        family_name="Leech",
        gender="male",
        date_of_birth=date(2016, 4, 3),
        local_authority=None,
        town=None,
        postcode_outward=None,
        location_withheld=False,
        shielded=False,
        probability=0.9,
        strength="strong",
        match_weight=3.2,
        matched={"given_name": "nickname", "date_of_birth": "typo", "family_name": "exact"},
        comparisons={},
    )
    assert match_tags(result) == ["nickname", "typo in date of birth", "exact family name"]


@pytest.mark.parametrize(
    ("probability", "words"),
    [
        (0.999, "more than 99 in 100 likely"),
        (0.9, "90 in 100 likely"),
        (0.42, "42 in 100 likely"),
        (0.001, "less than 1 in 100 likely"),
    ],
)
def test_a_probability_is_shown_in_plain_words(probability: float, words: str) -> None:
    assert probability_words(probability) == words


def test_too_many_matches_advises_what_is_missing() -> None:
    request = SearchRequest(family_name="Smith", birth_year=2016)
    assert too_many_advice(request) == (
        "Too many matches: add the full date of birth or a postcode."
    )
