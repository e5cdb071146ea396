"""Date-of-birth parts, so a search can match on a part or on day and month typed the wrong way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["DateParts", "date_parts", "one_digit_variants", "swapped_day_month"]


@dataclass(frozen=True, slots=True)
class DateParts:
    """Year, month and day of a date as plain integers."""

    year: int
    month: int
    day: int


def date_parts(value: date) -> DateParts:
    """The year, month and day of a date."""
    return DateParts(year=value.year, month=value.month, day=value.day)


def swapped_day_month(value: date) -> date | None:
    """The date with day and month exchanged (2019-03-04 gives 2019-04-03), or None if invalid.

    Catches 04/03 typed for 03/04 (UK versus US order). A date whose day equals its month is its
    own swap.
    """
    try:
        return date(value.year, value.day, value.month)
    except ValueError:
        return None


def one_digit_variants(value: date) -> list[date]:
    """Every valid date that differs from `value` in exactly one digit of YYYYMMDD."""
    digits = value.strftime("%Y%m%d")
    found: set[date] = set()
    for position, original in enumerate(digits):
        for digit in "0123456789":
            if digit == original:
                continue
            candidate = digits[:position] + digit + digits[position + 1 :]
            try:
                found.add(date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:])))
            except ValueError:
                continue
    return sorted(found)
