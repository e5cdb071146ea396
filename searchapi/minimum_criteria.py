"""The minimum criteria of a search, judged by substance: one rule for the page and the API.

A search must never return a list to browse. It needs a family name and one more thing known
(a given name, a date of birth, a year of birth or a postcode); or, without the family name, a
given name, the full date of birth and a full postcode; or an identifier. A name counts only
with at least two letters once folded as the index folds it, so "-", "*", "42" or an emoji is
no name at all. Pure: the request model and the page's form both call `search_basis`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from mappings.normalise import fold, normalise_postcode

# Fewer letters than this is an initial or punctuation, which would match a whole population.
MIN_NAME_LETTERS: Final = 2
# The shortest outward code ("B1") has two characters; less than that locates nobody.
_MIN_POSTCODE_CHARACTERS: Final = 2
_NOT_A_NAME: Final = "punctuation, wildcards, digits and emoji alone are not a name"


class Basis(StrEnum):
    """What makes a search specific enough; its fields must match for a child to be found.

    Without a family name the child must be at the postcode given (in some way) and agree on at
    least two of: the given name, the date of birth, the postcode closely (exactly, one character
    off, two exchanged, or a previous one). A misheard given name or a mistyped date is then no
    bar at the child's own postcode, while a made-up postcode never turns a given name and a
    date of birth into a national list.
    """

    IDENTIFIER = "identifier"
    FAMILY_NAME = "family_name"
    GIVEN_NAME_DATE_POSTCODE = "given_name_date_postcode"

    @property
    def required(self) -> tuple[str, ...]:
        """The query fields a candidate must match (none: any two of those given)."""
        if self is Basis.IDENTIFIER:
            return ("identifier",)
        if self is Basis.GIVEN_NAME_DATE_POSTCODE:
            return ("given_name", "date_of_birth", "postcode")
        return ()

    @property
    def anchor(self) -> str | None:
        """The required field that, matched closely, stands in for one of the others."""
        return "postcode" if self is Basis.GIVEN_NAME_DATE_POSTCODE else None


@dataclass(frozen=True)
class Refusal:
    """Too little to search on: what to add, for the API (`message`) and a page (`hint`),
    and the field of the form the hint belongs to."""

    field: str
    message: str
    hint: str


def name_letters(text: str | None) -> int:
    """How many letters a name has once folded; symbols folded to words (emoji) do not count."""
    if not text:
        return 0
    # anyascii spells an emoji as ":smile:": only the letters of the name's own letters count.
    letters = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LM")
    return sum(1 for ch in fold(letters) if ch.isalpha())


def is_name(text: str | None) -> bool:
    """Whether `text` counts as a name: at least two letters after folding."""
    return name_letters(text) >= MIN_NAME_LETTERS


def is_full_postcode(text: str | None) -> bool:
    """Whether `text` is a whole postcode ("DD8 9AB"), not just an outward code ("DD8")."""
    return bool(text) and normalise_postcode(text or "") is not None


def _has_postcode(text: str | None) -> bool:
    return sum(1 for ch in text or "" if ch.isascii() and ch.isalnum()) >= _MIN_POSTCODE_CHARACTERS


def _has_identifier(text: str | None) -> bool:
    compact = "".join((text or "").split())
    return bool(compact) and compact.isascii() and compact.isalnum()


def _without_family_name(date_of_birth: date | None, postcode: str | None) -> Refusal:
    # Called only when a given name counts and one of the other two is missing.
    missing = []
    if date_of_birth is None:
        missing.append(("the full date_of_birth", "the full date of birth"))
    if not is_full_postcode(postcode):
        missing.append(("a full postcode", "a full postcode, like DD8 9AB"))
    without = " and ".join(api for api, _ in missing)
    words = " and ".join(page for _, page in missing)
    return Refusal(
        field="family_name",
        message=(
            f"Too little to search on: add a family_name (at least {MIN_NAME_LETTERS} letters), "
            f"or with the given_name alone add {without} (a search must not return a list to "
            "browse)."
        ),
        hint=f"Enter the family name, or with the given name alone enter {words}",
    )


def search_basis(
    *,
    given_name: str | None,
    family_name: str | None,
    date_of_birth: date | None,
    birth_year: int | None,
    postcode: str | None,
    identifier: str | None,
) -> Basis | Refusal:
    """What makes these criteria enough to search on, or the refusal saying what to add."""
    if is_name(family_name) and (
        is_name(given_name)
        or date_of_birth is not None
        or birth_year is not None
        or _has_postcode(postcode)
    ):
        return Basis.FAMILY_NAME
    if is_name(given_name) and date_of_birth is not None and is_full_postcode(postcode):
        return Basis.GIVEN_NAME_DATE_POSTCODE
    if _has_identifier(identifier):
        return Basis.IDENTIFIER
    if is_name(family_name):
        return Refusal(
            field="given_name",
            message=(
                "Too little to search on: add one of given_name (at least "
                f"{MIN_NAME_LETTERS} letters), date_of_birth, birth_year or postcode "
                "(a search must not return a list to browse)."
            ),
            hint="Enter a given name, a date of birth or year of birth, or a postcode",
        )
    if is_name(given_name):
        return _without_family_name(date_of_birth, postcode)
    if family_name and not is_name(family_name):
        return Refusal(
            field="family_name",
            message=(
                f"Too little to search on: the family_name needs at least {MIN_NAME_LETTERS} "
                f"letters ({_NOT_A_NAME}); add a family_name or an identifier."
            ),
            hint=f"Enter the family name, in at least {MIN_NAME_LETTERS} letters",
        )
    return Refusal(
        field="family_name",
        message=(
            f"Too little to search on: add a family_name (at least {MIN_NAME_LETTERS} letters) "
            "and one of given_name, date_of_birth, birth_year or postcode; or a given_name, the "
            "full date_of_birth and a full postcode; or an identifier (a search must not return "
            "a list to browse)."
        ),
        hint="Enter the family name",
    )
