"""Checks of the sources' own identifiers and of the values every feed shares.

Values are normalised by the import's own validators (`db.load.import_line`), so that a name,
a postcode or a phone from a feed is spelt as one from the import and the index reads both alike.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, ValidationInfo
from stdnum.gb import upn

from db.load.import_line import Day
from db.normalise import is_valid_nhs_number, normalise_identifier

# A GRO birth entry: the registration district's code, the year and the entry number.
_BIRTH_ENTRY = re.compile(r"^[A-Z0-9]{2,10}/[0-9]{4}/[0-9]{1,6}$")
# HMRC's child benefit reference: CHB, eight digits, two letters.
_CLAIM = re.compile(r"^CHB[0-9]{8}[A-Z]{2}$")
# An ODS code of a GP practice (a letter and five characters) and a school's URN (6 digits).
_ODS = re.compile(r"^[A-Z][0-9A-Z]{5}$")
_URN = re.compile(r"^[0-9]{6}$")
MAX_AGE_YEARS: Final = 25


def is_valid_upn(value: str) -> bool:
    """Thirteen characters: the check letter, a known local authority number, the school's
    establishment number, the year and a serial (python-stdnum's `gb.upn`)."""
    return bool(upn.is_valid(value))


def _compact_upper(value: object) -> object:
    return normalise_identifier(value).upper() if isinstance(value, str) else value


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if pattern.match(value) is None:
            raise ValueError(f"is not {what}")
        return value

    return AfterValidator(check)


def _upn(value: str) -> str:
    if not is_valid_upn(value):
        raise ValueError(
            "is not a unique pupil number (a check letter, a local authority number and 11 "
            "more characters)"
        )
    return value


def _nhs_number(value: str) -> str:
    if not is_valid_nhs_number(value):
        raise ValueError("is not an NHS number (10 digits, the last a modulus-11 check digit)")
    return value


Upn = Annotated[str, BeforeValidator(_compact_upper), AfterValidator(_upn)]
NhsNumber = Annotated[str, BeforeValidator(_compact_upper), AfterValidator(_nhs_number)]
BirthEntry = Annotated[
    str,
    BeforeValidator(_compact_upper),
    _matching(_BIRTH_ENTRY, "a birth entry such as E09000001/2024/123"),
]
ClaimReference = Annotated[
    str,
    BeforeValidator(_compact_upper),
    _matching(_CLAIM, "a child benefit reference such as CHB12345678AB"),
]
OdsCode = Annotated[
    str, BeforeValidator(_compact_upper), _matching(_ODS, "an ODS code such as Y12345")
]
Urn = Annotated[str, BeforeValidator(_compact_upper), _matching(_URN, "a school URN (6 digits)")]


def plausible_birth(value: date, today: date) -> date:
    """A date of birth that is not in the future nor more than MAX_AGE_YEARS ago."""
    if value > today:
        raise ValueError("is in the future")
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
    if value < oldest:
        raise ValueError(f"is more than {MAX_AGE_YEARS} years ago")
    return value


def not_future(value: date, today: date) -> date:
    """A date that has happened."""
    if value > today:
        raise ValueError("is in the future")
    return value


def today_of(info: ValidationInfo) -> date:
    """The day validation runs as of: the context's `today` (tests, replays), else today."""
    context = info.context or {}
    today = context.get("today")
    return today if isinstance(today, date) else date.today()


def _born(value: date, info: ValidationInfo) -> date:
    return plausible_birth(value, today_of(info))


def _happened(value: date, info: ValidationInfo) -> date:
    return not_future(value, today_of(info))


# A date of birth (not in the future, at most MAX_AGE_YEARS ago), and a date that has happened.
BirthDay = Annotated[date, AfterValidator(_born)]
PastDay = Annotated[date, AfterValidator(_happened)]
# The same, read from text (YYYY-MM-DD), as the CSV feeds give them.
BirthDayText = Annotated[Day, AfterValidator(_born)]
PastDayText = Annotated[Day, AfterValidator(_happened)]
