"""The law's dates, pure: when a child is archived, how long an extension may run, when an
archived record is destroyed, and the reasons an extension may be recorded for.

Ages follow the Family Law Reform Act 1969, s. 9: a person attains an age at the start of the
anniversary of their birth. Someone born on 29 February has, in a common year, no such day: the
anniversary is then taken as 1 March (the rule Scotland enacted in the Age of Legal Capacity
(Scotland) Act 1991, s. 6(2), and the one that never makes a child an adult a day early). The
same rule dates the other anniversaries (six years after archiving, two years after an end).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Final

ADULT_AGE: Final = 18
# An extension keeps a record at most until the young person turns 25.
EXTENSION_LIMIT_AGE: Final = 25
# An archived record is held for six years and then destroyed.
ARCHIVE_YEARS: Final = 6


class ExtensionReason(StrEnum):
    """The only reasons a record may stay on past 18 (the CHECK of child_extension.reason)."""

    CARE_LEAVER = "care_leaver"
    SPECIAL_EDUCATIONAL_NEEDS = "special_educational_needs"
    YOUTH_JUSTICE = "youth_justice"
    DISABILITY_TRANSITION = "disability_transition"
    YOUNG_CARER = "young_carer"


EXTENSION_REASON_LABELS: Final = {
    ExtensionReason.CARE_LEAVER: "Care leaver (leaving care support to 25)",
    ExtensionReason.SPECIAL_EDUCATIONAL_NEEDS: (
        "Special educational needs: an education, health and care (EHC) plan in force"
    ),
    ExtensionReason.YOUTH_JUSTICE: "Youth justice: an order or intervention still running",
    ExtensionReason.DISABILITY_TRANSITION: "Disability: transition to adult services",
    ExtensionReason.YOUNG_CARER: "Young carer: support still being given",
}


def anniversary(start: date, years: int) -> date:
    """The day `years` after `start`; 29 February's anniversary in a common year is 1 March."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


def latest_start(today: date, years: int) -> date:
    """The latest date whose `years`th anniversary falls on or before `today`.

    Anniversaries never decrease as the start moves on, so every start up to this one has its
    anniversary by `today` and every later one does not: one comparison in SQL.
    """
    start = date(today.year - years, today.month, min(today.day, 28))
    while anniversary(start + timedelta(days=1), years) <= today:
        start += timedelta(days=1)
    while anniversary(start, years) > today:
        start -= timedelta(days=1)
    return start


def archive_day(date_of_birth: date) -> date:
    """The 18th birthday: the day a child is archived unless an extension is in force."""
    return anniversary(date_of_birth, ADULT_AGE)


def extension_limit(date_of_birth: date) -> date:
    """The 25th birthday: no extension keeps a record on that day or after it."""
    return anniversary(date_of_birth, EXTENSION_LIMIT_AGE)


def destruction_day(archived_on: date, *, years: int = ARCHIVE_YEARS) -> date:
    """The day an archived record is destroyed."""
    return anniversary(archived_on, years)
