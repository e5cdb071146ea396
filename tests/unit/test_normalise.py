"""Normalisation rules, table-driven, and properties tying index-time keys to query-time keys."""

from __future__ import annotations

import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.normalise import (
    UK_POSTCODE_RE,
    address_tokens,
    date_parts,
    exchanged_variants,
    family_name_keys,
    fold,
    given_name_keys,
    inward_code,
    name_tokens,
    nickname_groups,
    normalise_outward_code,
    normalise_postcode,
    outward_code,
    phonetic_keys,
    postcode_sector,
    swapped_day_month,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Zoë", "zoe", id="diaeresis"),
        pytest.param("Siobhán", "siobhan", id="fada"),
        pytest.param("Müller", "muller", id="umlaut"),
        pytest.param("O'Brien", "obrien", id="ascii-apostrophe"),
        pytest.param("O\u2019Brien", "obrien", id="typographic-apostrophe"),
        pytest.param("O`Brien", "obrien", id="backtick"),
        pytest.param("O\u00b4Brien", "obrien", id="acute-accent-as-apostrophe"),
        pytest.param("Mary-Anne", "mary anne", id="hyphen"),
        pytest.param("Mary\u2013Anne", "mary anne", id="en-dash"),
        pytest.param("St. John, Jr", "st john jr", id="dots-and-commas"),
        pytest.param("  JEAN   luc\t", "jean luc", id="whitespace-collapsed"),
        pytest.param("Strauß", "strauss", id="sharp-s"),
        pytest.param("Đorđević", "dordevic", id="d-stroke"),
        pytest.param("", "", id="empty"),
        pytest.param("'-.", "", id="punctuation-only"),
    ],
)
def test_fold_gives_the_plain_ascii_spelling(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Mary-Anne", ["mary", "anne", "maryanne"], id="hyphenated-given-name"),
        pytest.param(
            "O'Brien-Smith", ["obrien", "smith", "obriensmith"], id="apostrophe-and-hyphen"
        ),
        pytest.param("Van der Berg", ["van", "der", "berg", "vanderberg"], id="particles"),
        pytest.param("Zoë", ["zoe"], id="single-name"),
        pytest.param("Anne Anne", ["anne", "anneanne"], id="repeated-token-once"),
        pytest.param("", [], id="empty"),
    ],
)
def test_name_tokens_are_the_folded_parts_then_the_joined_form(
    text: str, expected: list[str]
) -> None:
    assert name_tokens(text) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("thompson", "tomson", id="thompson-tomson"),
        pytest.param("thompson", "thomson", id="thompson-thomson"),
        pytest.param("smith", "smyth", id="smith-smyth"),
        pytest.param("siobhan", "shivaun", id="siobhan-shivaun"),
        pytest.param("niamh", "neve", id="niamh-neve"),
        pytest.param("sean", "shaun", id="sean-shaun"),
        pytest.param("catherine", "kathryn", id="catherine-kathryn"),
        pytest.param("stephen", "steven", id="stephen-steven"),
        pytest.param("mohammed", "muhammad", id="mohammed-muhammad"),
        pytest.param("macdonald", "mcdonald", id="macdonald-mcdonald"),
        pytest.param("muller", "mueller", id="muller-mueller"),
    ],
)
def test_names_that_sound_alike_share_a_phonetic_key(first: str, second: str) -> None:
    assert phonetic_keys(first) & phonetic_keys(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("smith", "jones", id="smith-jones"),
        pytest.param("william", "oliver", id="william-oliver"),
        pytest.param("bhatt", "vat", id="initial-bh-is-not-v"),
    ],
)
def test_names_that_sound_different_share_no_phonetic_key(first: str, second: str) -> None:
    assert not phonetic_keys(first) & phonetic_keys(second)


def test_phonetic_keys_are_prefixed_by_algorithm() -> None:
    assert phonetic_keys("thompson") >= {"dm:TMSN", "ny:TANSAN"}
    assert all(key.startswith(("dm:", "ny:")) for key in phonetic_keys("siobhan"))


@pytest.mark.parametrize(
    "token", [pytest.param("", id="empty"), pytest.param("12a", id="house-number")]
)
def test_tokens_that_are_not_words_have_no_phonetic_keys(token: str) -> None:
    assert phonetic_keys(token) == set()


@pytest.mark.parametrize(
    ("nickname", "name"),
    [
        pytest.param("bill", "william", id="bill-william"),
        pytest.param("will", "william", id="will-william"),
        pytest.param("billy", "william", id="billy-william"),
        pytest.param("bill", "billy", id="bill-billy"),
        pytest.param("liam", "william", id="liam-william"),
        pytest.param("alfie", "alfred", id="alfie-alfred"),
        pytest.param("ellie", "eleanor", id="ellie-eleanor"),
        pytest.param("harry", "henry", id="harry-henry"),
        pytest.param("kate", "katherine", id="kate-katherine"),
        pytest.param("kate", "catherine", id="kate-catherine"),
        pytest.param("jim", "james", id="jim-james"),
        pytest.param("jack", "john", id="jack-john"),
        pytest.param("peggy", "margaret", id="peggy-margaret"),
        pytest.param("maisie", "margaret", id="maisie-margaret"),
        pytest.param("sasha", "alexandra", id="sasha-alexandra"),
        pytest.param("archie", "archibald", id="archie-archibald"),
        pytest.param("freddie", "frederick", id="freddie-frederick"),
        pytest.param("ollie", "oliver", id="ollie-oliver"),
        pytest.param("evie", "evelyn", id="evie-evelyn"),
        pytest.param("millie", "amelia", id="millie-amelia"),
        pytest.param("millie", "millicent", id="millie-millicent"),
        pytest.param("lottie", "charlotte", id="lottie-charlotte"),
        pytest.param("kit", "christopher", id="kit-christopher"),
        pytest.param("mo", "muhammad", id="mo-muhammad"),
        pytest.param("mohammed", "muhammad", id="mohammed-muhammad"),
    ],
)
def test_a_nickname_shares_a_group_with_its_name(nickname: str, name: str) -> None:
    assert nickname_groups(nickname) & nickname_groups(name)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("william", "oliver", id="william-oliver"),
        pytest.param("william", "robert", id="william-robert-not-joined-through-bill"),
        pytest.param("william", "fred", id="william-fred-noise-removed"),
        pytest.param("amelia", "millicent", id="two-names-sharing-a-nickname-stay-apart"),
        pytest.param("oliver", "olivia", id="oliver-olivia"),
        pytest.param("james", "john", id="james-john"),
        pytest.param("henry", "harriet", id="henry-harriet"),
    ],
)
def test_different_names_share_no_nickname_group(first: str, second: str) -> None:
    assert not nickname_groups(first) & nickname_groups(second)


def test_an_unknown_name_has_no_nickname_groups() -> None:
    assert nickname_groups("xqzzy") == set()


def test_family_names_have_no_nickname_groups() -> None:
    assert family_name_keys("Bill").nicknames == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("sw1a1aa", "SW1A 1AA", id="lower-case-no-space"),
        pytest.param("SW1A 1AA", "SW1A 1AA", id="already-normal"),
        pytest.param(" sw1a   1aa ", "SW1A 1AA", id="extra-spaces"),
        pytest.param("ls62ab", "LS6 2AB", id="area-district"),
        pytest.param("EC1A 1BB", "EC1A 1BB", id="area-district-letter"),
        pytest.param("W1A 0AX", "W1A 0AX", id="one-letter-area-district-letter"),
        pytest.param("M1 1AE", "M1 1AE", id="one-letter-area"),
        pytest.param("B33 8TH", "B33 8TH", id="two-digit-district"),
        pytest.param("DN55 1PT", "DN55 1PT", id="two-letter-two-digit"),
        pytest.param("gir0aa", "GIR 0AA", id="girobank"),
        pytest.param("", None, id="empty"),
        pytest.param("SW1A 1A", None, id="inward-too-short"),
        pytest.param("QA1 1AA", None, id="q-never-first"),
        pytest.param("SW1A 1AC", None, id="c-never-in-unit"),
        pytest.param("12345", None, id="digits"),
        pytest.param("SW1A-1AA", None, id="hyphen-is-not-spacing"),
        pytest.param("LS6", None, id="outward-only"),
    ],
)
def test_normalise_postcode(text: str, expected: str | None) -> None:
    assert normalise_postcode(text) == expected


@pytest.mark.parametrize(
    ("text", "outward", "inward", "sector"),
    [
        pytest.param("sw1a1aa", "SW1A", "1AA", "SW1A 1", id="sw1a"),
        pytest.param("LS6 2AB", "LS6", "2AB", "LS6 2", id="ls6"),
        pytest.param("m11ae", "M1", "1AE", "M1 1", id="m1"),
        pytest.param("not a postcode", None, None, None, id="invalid"),
    ],
)
def test_postcode_parts(
    text: str, outward: str | None, inward: str | None, sector: str | None
) -> None:
    assert (outward_code(text), inward_code(text), postcode_sector(text)) == (
        outward,
        inward,
        sector,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("ls6", "LS6", id="lower-case"),
        pytest.param(" SW1A ", "SW1A", id="spaces"),
        pytest.param("LS6 2AB", None, id="full-postcode"),
        pytest.param("6LS", None, id="not-an-outward-code"),
    ],
)
def test_normalise_outward_code(text: str, expected: str | None) -> None:
    assert normalise_outward_code(text) == expected


@pytest.mark.parametrize(
    ("lines", "town", "expected"),
    [
        pytest.param(["12 Mill Ln"], "Leeds", ["12", "mill", "lane", "leeds"], id="ln-lane"),
        pytest.param(["12 High St."], "Leeds", ["12", "high", "street", "leeds"], id="st-at-end"),
        pytest.param(
            ["Flat 2", "St Mary's Rd"],
            "St Albans",
            ["flat", "2", "saint", "marys", "road", "albans"],
            id="st-at-start-is-saint",
        ),
        pytest.param(
            ["12a Oak Ave, Headingley"],
            "Leeds",
            ["12a", "oak", "avenue", "headingley", "leeds"],
            id="comma-splits-a-line",
        ),
        pytest.param(["3 Rose Gdns"], "York", ["3", "rose", "gardens", "york"], id="gdns"),
    ],
)
def test_address_tokens(lines: list[str], town: str, expected: list[str]) -> None:
    assert address_tokens(lines, town) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(date(2019, 3, 4), date(2019, 4, 3), id="both-orders-valid"),
        pytest.param(date(2019, 3, 14), None, id="day-above-twelve"),
        pytest.param(date(2019, 5, 5), date(2019, 5, 5), id="day-equals-month"),
    ],
)
def test_swapped_day_month(value: date, expected: date | None) -> None:
    assert swapped_day_month(value) == expected


def test_date_parts() -> None:
    parts = date_parts(date(2019, 3, 14))
    assert (parts.year, parts.month, parts.day) == (2019, 3, 14)


# Properties: the same function at index and query time, stable under the variation a searcher adds.

_NAME_ALPHABET = string.ascii_letters + "éëöüáíóúñçß' -\u2019`."
names = st.text(alphabet=_NAME_ALPHABET, max_size=30)
any_text = st.text(max_size=40)


@given(any_text)
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(any_text)
def test_fold_gives_only_lower_case_ascii_words(text: str) -> None:
    folded = fold(text)
    assert set(folded) <= set(string.ascii_lowercase + string.digits + " ")
    assert folded == " ".join(folded.split())


@given(names)
def test_query_tokens_equal_the_stored_tokens(text: str) -> None:
    # What a query builder computes from the typed text is what the document builder stored.
    assert list(given_name_keys(text).tokens) == name_tokens(text)
    assert list(family_name_keys(text).tokens) == name_tokens(text)


@given(names)
def test_case_spacing_and_accents_do_not_change_name_keys(text: str) -> None:
    variant = "  " + fold(text).upper().replace(" ", "   ") + " "
    assert given_name_keys(variant) == given_name_keys(text)


@given(names)
def test_hyphens_and_spaces_give_the_same_name_keys(text: str) -> None:
    assert given_name_keys(text.replace("-", " ")) == given_name_keys(text.replace(" ", "-"))


@given(names)
def test_name_keys_are_sorted_and_unique(text: str) -> None:
    keys = given_name_keys(text)
    assert list(keys.phonetic) == sorted(set(keys.phonetic))
    assert list(keys.nicknames) == sorted(set(keys.nicknames))
    assert len(keys.tokens) == len(set(keys.tokens))


_postcodes = st.from_regex(UK_POSTCODE_RE, fullmatch=True)


@given(_postcodes, st.sampled_from(["", " ", "  "]), st.booleans())
def test_normalise_postcode_ignores_spacing_and_case(compact: str, space: str, lower: bool) -> None:
    typed = f"{compact[:-3]}{space}{compact[-3:]}"
    typed = typed.lower() if lower else typed
    expected = f"{compact[:-3]} {compact[-3:]}"
    assert normalise_postcode(typed) == expected


@given(any_text)
def test_normalise_postcode_is_idempotent(text: str) -> None:
    postcode = normalise_postcode(text)
    if postcode is not None:
        assert normalise_postcode(postcode) == postcode


@given(st.lists(names, min_size=1, max_size=3), names)
def test_address_tokens_ignore_case_and_accents(lines: list[str], town: str) -> None:
    upper = [line.upper() for line in lines]
    assert address_tokens(upper, town.upper()) == address_tokens(lines, town)


@given(st.dates())
def test_swapping_day_and_month_twice_gives_the_date_back(value: date) -> None:
    swapped = swapped_day_month(value)
    if swapped is not None:
        assert swapped_day_month(swapped) == value


def test_a_postcode_with_two_characters_exchanged_anywhere_is_among_its_variants() -> None:
    variants = exchanged_variants("EB3 5AB")
    assert "EB5 3AB" in variants  # digits across the space
    assert "EB3 5BA" in variants  # adjacent letters
    assert "EB3 5AB" not in variants
    # Only valid postcodes, each once: a letter never stands where a digit must.
    assert all(normalise_postcode(v) == v for v in variants)
    assert len(set(variants)) == len(variants)
    assert "3BE 5AB" not in variants


def test_exchanging_equal_characters_is_no_variant() -> None:
    # Of CC0 0AA only C and 0 can change places, and one way alone gives a valid postcode.
    assert exchanged_variants("CC0 0AA") == ["C0C 0AA"]
    assert exchanged_variants("M1 1AA") == []
