"""Comparison levels, field by field and level by level: the first level that applies wins."""

from __future__ import annotations

from datetime import date

import pytest

from matching import COMPARISONS, MatchRecord
from matching.comparisons import comparison_named
from matching.prepared import prepare


def _level(comparison: str, query: MatchRecord, record: MatchRecord) -> str:
    found = comparison_named(comparison)
    index = found.level_of(prepare(query), prepare(record))
    return "missing" if index == -1 else found.level_names[index]


def _names(given: str | None, family: str | None = None) -> MatchRecord:
    return MatchRecord(given_names=given, family_name=family)


GIVEN_CASES = [
    pytest.param(_names("Molly Sienna"), _names("molly  SIENNA"), "exact", id="exact-case-space"),
    pytest.param(_names("Zoë"), _names("Zoe"), "folded", id="folded-accent"),
    pytest.param(_names("Mary-Anne"), _names("Mary Anne"), "folded", id="folded-hyphen"),
    pytest.param(_names("Mary Anne"), _names("Maryanne"), "folded", id="folded-joined"),
    pytest.param(_names("Molly"), _names("Molly Sienna"), "subset", id="subset-first-only"),
    pytest.param(_names("Sienna"), _names("Molly Sienna"), "subset", id="subset-second-only"),
    pytest.param(_names("Sienna Molly"), _names("Molly Sienna"), "subset", id="subset-reordered"),
    pytest.param(_names("Molly Rose"), _names("Molly Sienna"), "overlap", id="overlap-one-word"),
    pytest.param(_names("Bill"), _names("William"), "nickname", id="nickname-bill-william"),
    pytest.param(_names("Alfie"), _names("Alfred James"), "nickname", id="nickname-of-a-word"),
    pytest.param(_names("Siobhan"), _names("Shivaun"), "phonetic", id="phonetic-siobhan"),
    pytest.param(_names("Catherine"), _names("Kathryn"), "phonetic", id="phonetic-catherine"),
    pytest.param(_names("Harriet"), _names("Hxrriet"), "one_edit", id="one-edit-substitution"),
    pytest.param(_names("Isabella"), _names("Isabelxa"), "one_edit", id="one-edit-late"),
    pytest.param(_names("Harriet"), _names("Hxrrixt"), "two_edits", id="two-edits"),
    pytest.param(_names("Amy"), _names("Axx"), "else", id="two-edits-too-short"),
    pytest.param(_names("Hall", "Molly"), _names("Molly", "Hall"), "swapped", id="swapped"),
    pytest.param(_names("Hal", "Molly"), _names("Molly", "Hall"), "swapped", id="swapped-typo"),
    pytest.param(_names("Hall"), _names("Molly", "Hall"), "swapped", id="swapped-family-alone"),
    # One way only, while the other way can be checked and disagrees: no exchange here (the
    # family names' comparison weighs it as crossed, once).
    pytest.param(_names("Hall", "Jessica"), _names("Jessica", "Smith"), "else", id="one-way"),
    pytest.param(
        _names("Ballantyne", "Jessica"), _names("Emily", "Ballantyne"), "else", id="one-way-back"
    ),
    pytest.param(_names("Oscar"), _names("Harriet"), "else", id="else"),
    pytest.param(_names(None), _names("Molly"), "missing", id="missing-query"),
    pytest.param(_names("Molly"), _names(None), "missing", id="missing-record"),
    pytest.param(_names("-"), _names("Molly"), "missing", id="missing-no-letters"),
]


@pytest.mark.parametrize(("query", "record", "expected"), GIVEN_CASES)
def test_given_names_level(query: MatchRecord, record: MatchRecord, expected: str) -> None:
    assert _level("given_names", query, record) == expected


def _family(
    family: str | None, given: str | None = None, *, former: tuple[str, ...] = ()
) -> MatchRecord:
    return MatchRecord(given_names=given, family_name=family, other_family_names=former)


FAMILY_CASES = [
    pytest.param(_family("Smith"), _family("SMITH"), "exact", id="exact-case"),
    pytest.param(_family("O'Brien"), _family("OBrien"), "folded", id="folded-apostrophe"),
    pytest.param(_family("Müller"), _family("Muller"), "folded", id="folded-umlaut"),
    pytest.param(_family("Taylorbrown"), _family("Taylor-Brown"), "folded", id="folded-joined"),
    pytest.param(_family("Hall"), _family("Nowak", former=("Hall",)), "former", id="former"),
    pytest.param(
        _family("O'Brien"), _family("Nowak", former=("Obrien",)), "former", id="former-folded"
    ),
    pytest.param(
        _family("Taylorbrown"),
        _family("Nowak", former=("Taylor Brown",)),
        "former",
        id="former-joined",
    ),
    pytest.param(
        _family("Nowak", former=("Hall",)), _family("Hall"), "former", id="former-of-the-query"
    ),
    pytest.param(
        _family("Smith"), _family("SMITH", former=("Hall",)), "exact", id="exact-before-former"
    ),
    pytest.param(
        _family("Brown"),
        _family("Taylor-Brown", former=("Brown",)),
        "former",
        id="former-before-subset",
    ),
    pytest.param(
        _family("Hal"), _family("Nowak", former=("Hall",)), "else", id="former-only-exact"
    ),
    pytest.param(_family("Brown"), _family("Taylor-Brown"), "subset", id="subset-double-barrel"),
    pytest.param(_family("Taylor-Brown"), _family("Brown-Jones"), "overlap", id="overlap"),
    pytest.param(_family("Tomson"), _family("Thompson"), "phonetic", id="phonetic-thompson"),
    pytest.param(_family("Smyth"), _family("Smith"), "phonetic", id="phonetic-smyth"),
    pytest.param(_family("Chxmbers"), _family("Chambers"), "one_edit", id="one-edit"),
    pytest.param(_family("Chabmers"), _family("Chambers"), "one_edit", id="one-edit-transposed"),
    pytest.param(_family("Chxmbxrs"), _family("Chambers"), "two_edits", id="two-edits"),
    # Exchanged both ways: weighed once, by the given names; the family name says nothing.
    pytest.param(_family("Molly", "Hall"), _family("Hall", "Molly"), "missing", id="swapped"),
    pytest.param(_family("Molly"), _family("Hall", "Molly Sienna"), "swapped", id="swapped-word"),
    pytest.param(
        _family("Jessica", "Ballantyne"), _family("Smith", "Jessica"), "crossed", id="one-way"
    ),
    pytest.param(
        _family("Smith", "Ballantine"), _family("Ballantyne", "Jessica"), "crossed", id="crossed"
    ),
    pytest.param(_family("Smith", "Jessica"), _family("Nowak", "Ella"), "else", id="not-crossed"),
    pytest.param(_family("Nowak"), _family("Patel"), "else", id="else"),
    pytest.param(_family(None), _family("Patel"), "missing", id="missing-query"),
    pytest.param(_family("Patel"), _family(""), "missing", id="missing-record-empty"),
]


@pytest.mark.parametrize(("query", "record", "expected"), FAMILY_CASES)
def test_family_name_level(query: MatchRecord, record: MatchRecord, expected: str) -> None:
    assert _level("family_name", query, record) == expected


def _born(day: date | None = None, year: int | None = None) -> MatchRecord:
    return MatchRecord(date_of_birth=day, birth_year=year)


DOB_CASES = [
    pytest.param(_born(date(2019, 3, 4)), _born(date(2019, 3, 4)), "exact", id="exact"),
    pytest.param(
        _born(date(2019, 4, 3)), _born(date(2019, 3, 4)), "day_month_swapped", id="swapped"
    ),
    pytest.param(_born(date(2019, 3, 5)), _born(date(2019, 3, 4)), "one_digit", id="digit-day"),
    pytest.param(
        _born(date(2019, 3, 21)), _born(date(2019, 3, 12)), "one_digit", id="transposed-day"
    ),
    pytest.param(
        _born(date(2019, 2, 13)), _born(date(2019, 1, 23)), "one_digit", id="transposed-across"
    ),
    pytest.param(_born(date(2018, 3, 4)), _born(date(2019, 3, 4)), "one_digit", id="digit-year"),
    pytest.param(
        _born(date(2020, 3, 4)), _born(date(2019, 3, 4)), "year_off_by_one", id="year-off-by-one"
    ),
    pytest.param(_born(date(2019, 8, 27)), _born(date(2019, 3, 4)), "year_only", id="year-only"),
    pytest.param(_born(date(2012, 8, 27)), _born(date(2019, 3, 4)), "else", id="else"),
    pytest.param(_born(year=2019), _born(date(2019, 3, 4)), "year_agrees", id="year-query-agrees"),
    pytest.param(
        _born(year=2018), _born(date(2019, 3, 4)), "year_disagrees", id="year-query-disagrees"
    ),
    pytest.param(_born(), _born(date(2019, 3, 4)), "missing", id="missing-query"),
    pytest.param(_born(date(2019, 3, 4)), _born(), "missing", id="missing-record"),
]


@pytest.mark.parametrize(("query", "record", "expected"), DOB_CASES)
def test_date_of_birth_level(query: MatchRecord, record: MatchRecord, expected: str) -> None:
    assert _level("date_of_birth", query, record) == expected


def _at(
    postcode: str | None, town: str | None = None, *, before: tuple[str, ...] = ()
) -> MatchRecord:
    return MatchRecord(postcode=postcode, town=town, previous_postcodes=before)


POSTCODE_CASES = [
    pytest.param(_at("eb35ab"), _at("EB3 5AB"), "exact", id="exact-normalised"),
    pytest.param(_at("EB3 5AD"), _at("EB3 5AB"), "near", id="near-one-character"),
    pytest.param(_at("EB5 3AB"), _at("EB3 5AB"), "near", id="near-transposed-across-space"),
    pytest.param(_at("EB3 5BA"), _at("EB3 5AB"), "near", id="near-transposed-letters"),
    pytest.param(_at("EB3 5CB"), _at("EB3 5AB"), "near", id="near-invalid-query"),
    pytest.param(_at("LS6 1AA"), _at("EB3 5AB", before=("ls61aa",)), "previous", id="previous"),
    pytest.param(
        _at("EB3 5AB", before=("LS6 1AA",)), _at("LS6 1AA"), "previous", id="previous-of-query"
    ),
    pytest.param(
        _at("EB3 5AB"), _at("EB3 5AB", before=("LS6 1AA",)), "exact", id="exact-before-previous"
    ),
    pytest.param(
        _at("EB3 5AD"), _at("EB3 5AB", before=("EB3 5AD",)), "near", id="near-before-previous"
    ),
    pytest.param(
        _at("LS6 1AA"),
        _at("EB3 5AB", before=("EB9 9ZZ", "LS6 1AA")),
        "previous",
        id="previous-second",
    ),
    pytest.param(
        _at("LS6 1XY", "York"),
        _at("EB3 5AB", "Leeds", before=("LS6 1AA",)),
        "else",
        id="previous-only-exact",
    ),
    pytest.param(
        _at("LS6"),
        _at("EB3 5AB", before=("LS6 1AA",)),
        "outward_disagrees",
        id="previous-not-for-district",
    ),
    pytest.param(_at("EB3 5XY"), _at("EB3 5AB"), "sector", id="sector"),
    pytest.param(_at("EB3 7XY"), _at("EB3 5AB"), "outward", id="outward"),
    pytest.param(_at("LS6 1AA", "Leeds"), _at("EB3 5AB", "LEEDS"), "town", id="town"),
    pytest.param(_at("EB7 1XY", "Ebford"), _at("EB3 5AB", "Leeds"), "area", id="area"),
    pytest.param(_at("LS6 1XY", "York"), _at("EB3 5AB", "Leeds"), "else", id="else"),
    pytest.param(_at("EB3"), _at("EB3 5AB"), "outward_agrees", id="district-query-agrees"),
    pytest.param(_at("EB4"), _at("EB3 5AB"), "outward_disagrees", id="district-query-differs"),
    pytest.param(_at(None, "Leeds"), _at("EB3 5AB", "Leeds"), "town_agrees", id="town-query"),
    pytest.param(
        _at(None, "York"), _at("EB3 5AB", "Leeds"), "town_disagrees", id="town-query-differs"
    ),
    pytest.param(_at(None), _at("EB3 5AB"), "missing", id="missing-query"),
    pytest.param(_at("not a postcode"), _at("EB3 5AB"), "missing", id="missing-unreadable"),
    pytest.param(_at("EB3 5AB"), _at(None), "missing", id="missing-record-shielded"),
]


@pytest.mark.parametrize(("query", "record", "expected"), POSTCODE_CASES)
def test_postcode_level(query: MatchRecord, record: MatchRecord, expected: str) -> None:
    assert _level("postcode", query, record) == expected


GENDER_CASES = [
    pytest.param("female", "Female", "agree", id="agree"),
    pytest.param("male", "female", "else", id="else"),
    pytest.param("unknown", "female", "missing", id="missing-unknown"),
    pytest.param(None, "female", "missing", id="missing-query"),
]


@pytest.mark.parametrize(("query", "record", "expected"), GENDER_CASES)
def test_gender_level(query: str | None, record: str | None, expected: str) -> None:
    assert _level("gender", MatchRecord(gender=query), MatchRecord(gender=record)) == expected


ALL_CASES = {
    "given_names": GIVEN_CASES,
    "family_name": FAMILY_CASES,
    "date_of_birth": DOB_CASES,
    "postcode": POSTCODE_CASES,
    "gender": GENDER_CASES,
}


@pytest.mark.parametrize("comparison", [c.name for c in COMPARISONS])
def test_every_level_of_every_comparison_has_a_case(comparison: str) -> None:
    covered = {case.values[2] for case in ALL_CASES[comparison]}
    assert covered == {*comparison_named(comparison).level_names, "missing"}


@pytest.mark.parametrize("comparison", [c.name for c in COMPARISONS])
def test_levels_are_symmetric_on_whole_records(comparison: str) -> None:
    found = comparison_named(comparison)
    a = prepare(MatchRecord("Molly Sienna", "Hall", date(2019, 3, 4), None, "EB3 5AB", "Leeds"))
    b = prepare(MatchRecord("Sienna", "Hal", date(2019, 4, 3), None, "EB3 5AD", "Leeds"))
    assert found.level_of(a, b) == found.level_of(b, a)


@pytest.mark.parametrize("comparison", ["family_name", "postcode"])
def test_history_levels_are_symmetric(comparison: str) -> None:
    found = comparison_named(comparison)
    moved = MatchRecord(
        family_name="Nowak",
        postcode="EB3 5AB",
        other_family_names=("Hall",),
        previous_postcodes=("LS6 1AA",),
    )
    known = MatchRecord(family_name="Hall", postcode="LS6 1AA")
    level = found.level_of(prepare(moved), prepare(known))
    assert level == found.level_of(prepare(known), prepare(moved))
    assert found.level_names[level] in {"former", "previous"}
