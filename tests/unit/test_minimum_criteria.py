"""The minimum criteria by substance: what counts as a name, and what is enough to search on."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from db.errors import InvalidInput
from mappings.query_builder import build_query
from searchapi.minimum_criteria import Basis, Refusal, is_full_postcode, is_name, search_basis
from searchapi.pages.search_form import parse_search_form
from searchapi.search_schemas import SearchRequest

DOB = date(2015, 2, 20)


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("-", False),
        ("--'.,", False),
        ("*", False),
        ("?", False),
        ("**??", False),
        ("42", False),
        ("2015", False),
        ("\U0001f600", False),
        ("\U0001f600\U0001f600\U0001f600", False),
        ("\u200b\u200b\u200b", False),
        ("A", False),
        ("O'", False),
        ("J.", False),
        ("J*", False),
        ("", False),
        ("Ng", True),
        ("Zé", True),
        ("Ó Sé", True),
        ("Smith", True),
        ("Sm*", True),
        ("李", True),
    ],
    ids=[
        "hyphen",
        "punctuation",
        "star-wildcard",
        "question-wildcard",
        "wildcards",
        "digits",
        "year",
        "one-emoji",
        "three-emoji",
        "zero-width-spaces",
        "one-letter",
        "one-letter-and-apostrophe",
        "initial-with-dot",
        "one-letter-and-wildcard",
        "empty",
        "two-letters",
        "accented-two-letters",
        "accented-words",
        "plain-name",
        "two-letters-and-wildcard",
        "han-character-folds-to-letters",
    ],
)
def test_a_name_counts_only_with_two_letters_after_folding(text: str, counts: bool) -> None:
    assert is_name(text) is counts


@pytest.mark.parametrize(
    ("text", "full"),
    [("DD8 9AB", True), ("dd89ab", True), ("DD8", False), ("DD8 9", False), ("-", False)],
    ids=["spaced", "compact-lower-case", "outward-code", "sector", "punctuation"],
)
def test_a_full_postcode_is_a_whole_postcode_not_an_outward_code(text: str, full: bool) -> None:
    assert is_full_postcode(text) is full


_ALLOWED = [
    ({"family_name": "Smith", "given_name": "Evan"}, Basis.FAMILY_NAME),
    ({"family_name": "Smith", "date_of_birth": DOB}, Basis.FAMILY_NAME),
    ({"family_name": "Smith", "birth_year": 2015}, Basis.FAMILY_NAME),
    ({"family_name": "Smith", "postcode": "LS6"}, Basis.FAMILY_NAME),
    ({"family_name": "Zé", "given_name": "Ió"}, Basis.FAMILY_NAME),
    (
        {"given_name": "Evan", "date_of_birth": DOB, "postcode": "DD8 9AB"},
        Basis.GIVEN_NAME_DATE_POSTCODE,
    ),
    (
        {"family_name": "-", "given_name": "Evan", "date_of_birth": DOB, "postcode": "dd89ab"},
        Basis.GIVEN_NAME_DATE_POSTCODE,
    ),
    ({"identifier": "9518461066"}, Basis.IDENTIFIER),
    ({"identifier": "9518461066", "family_name": "-"}, Basis.IDENTIFIER),
]


@pytest.mark.parametrize(
    ("known", "basis"),
    _ALLOWED,
    ids=[
        "family-and-given",
        "family-and-date-of-birth",
        "family-and-year-of-birth",
        "family-and-postcode",
        "accented-two-letter-names",
        "given-date-and-full-postcode",
        "punctuation-family-but-given-date-and-full-postcode",
        "identifier-alone",
        "identifier-with-punctuation-family",
    ],
)
def test_enough_to_search_on_is_told_with_the_fields_that_must_match(
    known: dict[str, Any], basis: Basis
) -> None:
    fields = {
        name: known.get(name)
        for name in (
            "given_name",
            "family_name",
            "date_of_birth",
            "birth_year",
            "postcode",
            "identifier",
        )
    }
    assert search_basis(**fields) is basis


_REFUSED = [
    ({"family_name": "-", "date_of_birth": "2015-04-11"}, "family_name", "letters"),
    ({"family_name": "-", "postcode": "B28 6JU"}, "family_name", "letters"),
    ({"family_name": "*", "birth_year": 2015}, "family_name", "letters"),
    ({"family_name": "??", "given_name": "Evan"}, "family_name", "date_of_birth"),
    ({"family_name": "42", "date_of_birth": "2015-04-11"}, "family_name", "letters"),
    ({"family_name": "\U0001f600\U0001f600", "birth_year": 2015}, "family_name", "letters"),
    ({"family_name": "S", "date_of_birth": "2015-04-11"}, "family_name", "letters"),
    ({"family_name": "Smith"}, "given_name", "given_name"),
    ({"family_name": "Smith", "given_name": "-"}, "given_name", "given_name"),
    ({"family_name": "Smith", "postcode": "-"}, "given_name", "postcode"),
    ({"given_name": "Evan", "date_of_birth": "2015-02-20"}, "family_name", "full postcode"),
    (
        {"given_name": "Evan", "date_of_birth": "2015-02-20", "postcode": "DD8"},
        "family_name",
        "full postcode",
    ),
    (
        {"given_name": "Evan", "birth_year": 2015, "postcode": "DD8 9AB"},
        "family_name",
        "full date_of_birth",
    ),
    (
        {"given_name": "E", "date_of_birth": "2015-02-20", "postcode": "DD8 9AB"},
        "family_name",
        "family_name",
    ),
    ({"postcode": "LS6 2AB", "gender": "male"}, "family_name", "identifier"),
    ({"identifier": "-"}, "family_name", "identifier"),
]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    _REFUSED,
    ids=[
        "hyphen-family-and-date-of-birth",
        "hyphen-family-and-postcode",
        "wildcard-family-and-year",
        "wildcards-family-and-given-name",
        "digits-family",
        "emoji-family",
        "one-letter-family",
        "family-alone",
        "family-and-punctuation-given-name",
        "family-and-punctuation-postcode",
        "given-and-date-without-postcode",
        "given-date-and-outward-code-only",
        "given-year-and-full-postcode",
        "one-letter-given-date-and-postcode",
        "postcode-and-gender",
        "punctuation-identifier",
    ],
)
def test_too_little_is_refused_by_the_api_and_the_page_saying_what_to_add(
    body: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput, match="Too little to search on") as refused:
        SearchRequest.model_validate(body).criteria()
    assert words in refused.value.message
    if "identifier" in body:
        return  # the page has no identifier field: the API's refusal is the whole case
    dates = ("date_of_birth", "birth_year")
    form = {name: str(value) for name, value in body.items() if name not in dates}
    if "date_of_birth" in body:
        year, month, day = body["date_of_birth"].split("-")
        form |= {"dob_year": year, "dob_month": month, "dob_day": day}
    if "birth_year" in body:
        form["dob_year"] = str(body["birth_year"])
    parsed = parse_search_form(form)
    assert parsed.request is None and field in parsed.errors


def test_a_refusal_words_the_api_message_and_the_page_hint_apart() -> None:
    refusal = search_basis(
        given_name="Evan",
        family_name=None,
        date_of_birth=DOB,
        birth_year=None,
        postcode=None,
        identifier=None,
    )
    assert isinstance(refusal, Refusal)
    assert "postcode" in refusal.hint and "_" not in refusal.hint


def test_the_page_accepts_a_given_name_with_the_full_date_and_postcode() -> None:
    form = {
        "given_name": "Evan",
        "dob_day": "20",
        "dob_month": "2",
        "dob_year": "2015",
        "postcode": "DD8 9AB",
    }
    parsed = parse_search_form(form)
    assert parsed.errors == {} and parsed.request is not None


def test_without_a_family_name_the_postcode_and_two_of_name_date_close_postcode_match() -> None:
    request = SearchRequest(given_name="Evan", date_of_birth=DOB, postcode="DD8 9AB")
    criteria = request.criteria()
    at_postcode, two_of = build_query(criteria, access_filter=[])["bool"]["must"]
    assert criteria.required == ("given_name", "date_of_birth", "postcode")
    assert criteria.anchor == "postcode"
    kinds = {
        str(q["constant_score"].get("_name")).split(":")[1]
        for q in at_postcode["dis_max"]["queries"]
        if q["constant_score"].get("_name")
    }
    assert {"exact", "outward"} <= kinds  # at the postcode in some way
    given, date, close = two_of["bool"]["should"]
    assert two_of["bool"]["minimum_should_match"] == 2
    assert "given_name:exact:0" in str(given) and "date_of_birth:exact:0" in str(date)
    # Closely: the same postcode, one character off, two exchanged or a previous one; never
    # only the sector or the district.
    filters = [q["constant_score"]["filter"] for q in close["dis_max"]["queries"]]
    assert {"term": {"postcode": "DD8 9AB"}} in filters
    assert {"term": {"previous_postcodes": "DD8 9AB"}} in filters
    assert not any("postcode_sector" in str(q) or "postcode_outward" in str(q) for q in filters)


def test_an_identifier_alone_must_match_and_other_fields_only_add_to_the_score() -> None:
    criteria = SearchRequest(identifier="9518461066", family_name="X").criteria()
    query = build_query(criteria, access_filter=[])["bool"]
    assert criteria.required == ("identifier",)
    assert query["must"] == [
        {
            "dis_max": {
                "queries": [
                    {
                        "constant_score": {
                            "filter": {"term": {"identifier": "9518461066"}},
                            "boost": 10.0,
                            "_name": "identifier:exact:0",
                        }
                    }
                ]
            }
        }
    ]
    assert any("dis_max" in clause for clause in query["should"])


def test_with_a_family_name_any_two_criteria_must_match_as_before() -> None:
    criteria = SearchRequest(family_name="Smith", given_name="Evan", birth_year=2015).criteria()
    (must,) = build_query(criteria, access_filter=[])["bool"]["must"]
    assert criteria.required == ()
    assert must["bool"]["minimum_should_match"] == 2 and len(must["bool"]["should"]) == 3
