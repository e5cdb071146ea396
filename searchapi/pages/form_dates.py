"""Dates typed into the pages' forms: parsed strictly, read in the service's local time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from searchapi.time_input import FIRST_YEAR, LAST_YEAR

_ISO: Final = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_UK: Final = re.compile(r"(\d{1,2})[/ .-](\d{1,2})[/ .-](\d{4})")
DATE_HINT: Final = "For example, 27/3/2025"


def parse_day(text: str) -> date | None:
    """The date of `text` (27/3/2025 or 2025-03-27), or None when it is not a real date (or its
    year is not between FIRST_YEAR and LAST_YEAR)."""
    text = text.strip()
    if found := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in found.groups())
    elif found := _UK.fullmatch(text):
        day, month, year = (int(part) for part in found.groups())
    else:
        return None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def start_of(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of `day` in `zone`, as a UTC time."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def end_of(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the end of `day` in `zone` (exclusive), as a UTC time."""
    return start_of(day + timedelta(days=1), zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The date of `moment` in `zone`."""
    return moment.astimezone(zone).date()


def show_day(day: date) -> str:
    """A date as the forms take it back (27/3/2025)."""
    return f"{day.day}/{day.month}/{day.year}"


def show_time(moment: datetime, zone: ZoneInfo) -> str:
    """A moment in `zone`, as people read it (27 Mar 2025, 14:03:12)."""
    return moment.astimezone(zone).strftime("%-d %b %Y, %H:%M:%S")
