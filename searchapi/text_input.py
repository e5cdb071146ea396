"""Free text as the database takes it: on one line, without control characters.

PostgreSQL refuses a NUL in any text, and the schema's CHECKs refuse control characters in
reasons and names; text is made plain where it arrives, so that such input is a clear 4xx
(or quietly a space), never a database error.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Final

from pydantic import AfterValidator, Field

from db.normalise import collapse_whitespace, has_control_characters

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def plain_text(value: str) -> str:
    """Line breaks and runs of whitespace as one space, other control characters dropped."""
    return _CONTROL.sub("", collapse_whitespace(value))


def _one_line(value: str) -> str:
    value = collapse_whitespace(value)
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


def _no_control(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


# A field taken exactly as sent (a password, a code), but never with control characters (422).
NoControl = Annotated[str, AfterValidator(_no_control)]
# A request model's free-text field: whitespace collapsed, control characters refused (422).
OneLine = Annotated[str, AfterValidator(_one_line)]


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


def reason_error(value: str, *, label: str = "the reason") -> str | None:
    """What is wrong with a reason as typed (the page's words), or None when it will do."""
    if reason_word_characters(value) < REASON_MIN_WORD_CHARACTERS:
        return f"Enter {label}, in at least {REASON_MIN_WORD_CHARACTERS} letters or digits"
    if len(value) > REASON_MAX_LENGTH:
        return f"{label[0].upper()}{label[1:]} must be {REASON_MAX_LENGTH} characters or fewer"
    return None


def _reason(value: str) -> str:
    value = _one_line(value)
    if reason_word_characters(value) < REASON_MIN_WORD_CHARACTERS:
        raise ValueError(
            f"must hold at least {REASON_MIN_WORD_CHARACTERS} letters or digits "
            "(spaces and invisible characters do not count)"
        )
    return value


# A request model's reason: one line, at most 200 characters, at least 10 letters or digits.
Reason = Annotated[str, Field(max_length=REASON_MAX_LENGTH), AfterValidator(_reason)]
