"""Free text as the database takes it: on one line, without control characters.

PostgreSQL refuses a NUL in any text, and the schema's CHECKs refuse control characters in
reasons and names; text is made plain where it arrives, so that such input is a clear 4xx
(or quietly a space), never a database error.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, Field

from db.normalise import (
    REASON_MAX_LENGTH,
    REASON_MIN_WORD_CHARACTERS,
    collapse_whitespace,
    has_control_characters,
    reason_word_characters,
)

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
