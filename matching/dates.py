"""Comparison levels of the date of birth (or, for a query that knows only that, the year)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import NamedTuple

from mappings.normalise import swapped_day_month

__all__ = [
    "DOB_COARSE_LEVELS",
    "DOB_LEVELS",
    "BirthValue",
    "birth_value",
    "dob_level",
    "exchanged_once",
]

DOB_LEVELS = (
    "exact",
    "day_month_swapped",
    "one_digit",
    "year_off_by_one",
    "year_only",
    "else",
)
# When one side knows only the year, the finer levels cannot be told apart.
DOB_COARSE_LEVELS = ("year_agrees", "year_disagrees")
MISSING = -1
_L = {name: index for index, name in enumerate(DOB_LEVELS + DOB_COARSE_LEVELS)}


class BirthValue(NamedTuple):
    """A date of birth, or a year of birth alone (`day` is None)."""

    year: int
    day: date | None
    digits: str  # YYYYMMDD; empty for a year alone
    swapped: date | None


@lru_cache(maxsize=65_536)
def birth_value(day: date | None, year: int | None = None) -> BirthValue | None:
    """The date of birth prepared for comparison; a year alone when only `year` is known."""
    if day is not None:
        return BirthValue(
            year=day.year,
            day=day,
            digits=f"{day.year:04d}{day.month:02d}{day.day:02d}",
            swapped=swapped_day_month(day),
        )
    if year is not None:
        return BirthValue(year=year, day=None, digits="", swapped=None)
    return None


def _differences(a: str, b: str, limit: int) -> list[int]:
    """Positions where equally long `a` and `b` differ, stopping once past `limit`."""
    found: list[int] = []
    for index, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y:
            found.append(index)
            if len(found) > limit:
                break
    return found


def exchanged_once(a: str, b: str, *, adjacent: bool = False) -> bool:
    """Whether equally long `a` and `b` differ only by two characters exchanged (adjacent
    ones when `adjacent`)."""
    different = _differences(a, b, 2)
    if len(different) != 2:
        return False
    first, second = different
    if adjacent and second != first + 1:
        return False
    return a[first] == b[second] and a[second] == b[first]


def _one_digit_apart(a: str, b: str) -> bool:
    """One digit different, or two adjacent digits transposed (12 for 21)."""
    different = _differences(a, b, 2)
    if len(different) == 1:
        return True
    return len(different) == 2 and exchanged_once(a, b, adjacent=True)


def dob_level(a: BirthValue | None, b: BirthValue | None) -> int:
    """The index in DOB_LEVELS (then DOB_COARSE_LEVELS) at which `a` and `b` agree, or MISSING."""
    if a is None or b is None:
        return MISSING
    if a.day is None or b.day is None:
        return _L["year_agrees"] if a.year == b.year else _L["year_disagrees"]
    if a.day == b.day:
        return _L["exact"]
    if a.swapped == b.day:
        return _L["day_month_swapped"]
    # Year, month and day all different is at least three digits: skip the digit count.
    same_part = a.year == b.year or a.day.month == b.day.month or a.day.day == b.day.day
    if same_part and _one_digit_apart(a.digits, b.digits):
        return _L["one_digit"]
    if abs(a.year - b.year) == 1 and a.digits[4:] == b.digits[4:]:
        return _L["year_off_by_one"]
    if a.year == b.year:
        return _L["year_only"]
    return _L["else"]
