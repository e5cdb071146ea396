"""Pure normalisation and checks of identifiers, phones, emails and text."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Postcodes are normalised by mappings.postcodes (the one module search uses too), so that every
# postcode the loader accepts is one the index and the query builder understand; the migration's
# CHECK on postcode columns is a looser shape check that any such postcode passes.
_PHONE = re.compile(r"^(?:\+44|0)[0-9]{9,10}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NHS_WEIGHTS: Final = (10, 9, 8, 7, 6, 5, 4, 3, 2)
LOCAL_AUTHORITY_CODE: Final = re.compile(r"^[EWSN][0-9]{8}$")
EMAIL_MAX_LENGTH: Final = 254


def collapse_whitespace(text: str) -> str:
    """Strip the ends and collapse every run of whitespace to one space."""
    return " ".join(text.split())


def has_control_characters(text: str) -> bool:
    """Whether the text holds a control character (never valid in a contact detail)."""
    return _CONTROL.search(text) is not None


def normalise_identifier(text: str) -> str:
    """The identifier without spaces."""
    return "".join(text.split())


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit of nine digits; None when no valid number can end them."""
    total = sum(int(d) * w for d, w in zip(first_nine, _NHS_WEIGHTS, strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else check


def is_valid_nhs_number(identifier: str) -> bool:
    """Ten digits whose last is the modulus-11 check digit of the first nine."""
    if len(identifier) != 10 or not identifier.isascii() or not identifier.isdigit():
        return False
    return nhs_check_digit(identifier[:9]) == int(identifier[9])


def normalise_phone(text: str) -> str | None:
    """A UK phone number with its spacing collapsed; None when it is not one."""
    phone = collapse_whitespace(text)
    if _PHONE.match(phone.replace(" ", "")) is None:
        return None
    return phone


def normalise_email(text: str) -> str | None:
    """The email address stripped and lower-cased; None when it is not one."""
    email = text.strip().lower()
    if len(email) > EMAIL_MAX_LENGTH or _EMAIL.match(email) is None:
        return None
    return email


# A reason (break glass, shield, named access, consent override) is kept in the record and the
# audit for a reviewer to judge: it must say something. Spaces, tabs, zero-width and other
# invisible characters are not words, so only letters and digits are counted.
REASON_MIN_WORD_CHARACTERS: Final = 10
REASON_MAX_LENGTH: Final = 200
_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def reason_word_characters(value: str) -> int:
    """Letters and digits left once whitespace and control, format and separator characters go."""
    return sum(
        1
        for ch in value
        if not ch.isspace()
        and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        and unicodedata.category(ch)[0] in "LN"
    )


def reason_error(
    value: str, *, label: str = "the reason", maximum: int = REASON_MAX_LENGTH
) -> str | None:
    """What is wrong with a reason as typed (the page's words), or None when it will do."""
    if reason_word_characters(value) < REASON_MIN_WORD_CHARACTERS:
        return f"Enter {label}, in at least {REASON_MIN_WORD_CHARACTERS} letters or digits"
    if len(value) > maximum:
        return f"{label[0].upper()}{label[1:]} must be {maximum} characters or fewer"
    return None
