"""Reasons are words: at least ten letters or digits, by one rule for the pages and the API."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from db.normalise import reason_error, reason_word_characters
from searchapi.pages.fields import ACCESS_REASON, BREAK_GLASS_REASON, REASON
from searchapi.record_schemas import BreakGlassRequest, ReasonRequest, ShieldAccessRequest

_BLANK = [
    " " * 10,
    "\t" * 10,
    "\u200b" * 10,
    "\u00a0" * 10,
    "\u2028\u2029" * 5,
    "\u200b \u200c\u200d\ufeff" * 4,
    "\u202e" * 10,
    "!?.-*" * 3,
    "Section 47",
]
_BLANK_IDS = [
    "spaces",
    "tabs",
    "zero-width-spaces",
    "no-break-spaces",
    "line-and-paragraph-separators",
    "format-characters",
    "bidi-override",
    "punctuation",
    "nine-letters-and-digits",
]


@pytest.mark.parametrize("reason", _BLANK, ids=_BLANK_IDS)
def test_a_reason_without_ten_letters_or_digits_is_refused_by_the_page(reason: str) -> None:
    assert reason_error(reason) == "Enter the reason, in at least 10 letters or digits"
    for rule in (REASON, BREAK_GLASS_REASON, ACCESS_REASON):
        assert rule.error(reason) is not None


@pytest.mark.parametrize("reason", _BLANK, ids=_BLANK_IDS)
@pytest.mark.parametrize(
    "model",
    [ReasonRequest, BreakGlassRequest],
    ids=["shield-or-override", "break-glass"],
)
def test_a_reason_without_ten_letters_or_digits_is_refused_by_the_api(
    reason: str, model: type[ReasonRequest] | type[BreakGlassRequest]
) -> None:
    with pytest.raises(ValidationError, match="letters or digits"):
        model.model_validate({"reason": reason})
    with pytest.raises(ValidationError, match="letters or digits"):
        ShieldAccessRequest.model_validate({"username": "j.smith", "reason": reason})


@pytest.mark.parametrize(
    ("reason", "count"),
    [
        ("Section 47 enquiry", 16),
        ("\u200bSection\u200b47\u200benquiry", 16),
        ("Éloïse at risk", 12),
        ("Déménagé à Lyon", 13),
    ],
    ids=["plain", "zero-width-between-words", "accented", "accented-words"],
)
def test_letters_and_digits_of_any_script_count(reason: str, count: int) -> None:
    assert reason_word_characters(reason) == count
    assert reason_error(reason) is None
    assert BreakGlassRequest.model_validate({"reason": reason}).reason


def test_a_reason_keeps_its_two_hundred_character_limit() -> None:
    assert reason_error("x" * 201) == "The reason must be 200 characters or fewer"
    with pytest.raises(ValidationError, match="at most 200"):
        ReasonRequest.model_validate({"reason": "x" * 201})
    assert ReasonRequest.model_validate({"reason": "x" * 200}).reason == "x" * 200
