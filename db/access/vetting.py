"""Users' vetting: identity checked, an enhanced criminal-records (DBS) check and training.

A person may use ContactPoint (sign in, keep a session, or have a CMS act for them) only while
their vetting is current: the identity check and the training recorded, and the DBS check no
more than `VETTING_CHECK_VALID_YEARS` old. The rule is `vetting_problems`; sign-in, sessions
and CMS requests all ask it. Days are the service's local days (`WORKING_HOURS_TIMEZONE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from contactpoint.settings import Settings
from db.errors import DomainError, InvalidInput
from db.models import AppUser
from db.normalise import has_control_characters

# The CHECK of app_user.identity_checked_by.
CHECKER_MAX: Final = 200
# No check or training is recorded from before this year (a date typed wrong).
FIRST_YEAR: Final = 1950


class VettingProblem(StrEnum):
    """What keeps a person's vetting from being current (the audit's `vetting` codes)."""

    IDENTITY_CHECK_MISSING = "identity_check_missing"
    DBS_CHECK_MISSING = "dbs_check_missing"
    DBS_CHECK_LAPSED = "dbs_check_lapsed"
    TRAINING_MISSING = "training_missing"


# How pages and the command line name each problem.
PROBLEM_LABELS: Final = {
    VettingProblem.IDENTITY_CHECK_MISSING: "identity check not recorded",
    VettingProblem.DBS_CHECK_MISSING: "DBS check not recorded",
    VettingProblem.DBS_CHECK_LAPSED: "DBS check lapsed",
    VettingProblem.TRAINING_MISSING: "training not recorded",
}


class VettingState(Protocol):
    """The vetting columns of a user row (an `AppUser`, or a looked-up principal row)."""

    @property
    def identity_checked_on(self) -> date | None: ...

    @property
    def dbs_checked_on(self) -> date | None: ...

    @property
    def training_completed_on(self) -> date | None: ...


@dataclass(frozen=True)
class VettingRules:
    """How long a DBS check lasts, how early admins are warned, where days are counted, and
    whom a refused person is told to ask (from the settings)."""

    check_valid_years: int
    warning_days: int
    zone: ZoneInfo
    contact: str

    @classmethod
    def from_settings(cls, settings: Settings) -> VettingRules:
        """The rules configured for this deployment."""
        return cls(
            check_valid_years=settings.vetting_check_valid_years,
            warning_days=settings.vetting_warning_days,
            zone=ZoneInfo(settings.working_hours_timezone),
            contact=settings.vetting_contact,
        )

    def today(self, now: datetime) -> date:
        """The local day of `now`."""
        return now.astimezone(self.zone).date()


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February (as PostgreSQL does)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def check_lapses_after(checked_on: date, *, rules: VettingRules) -> date:
    """The last day a DBS check of `checked_on` is current: from the next day it is over
    `check_valid_years` old."""
    return add_years(checked_on, rules.check_valid_years)


def vetting_problems(
    user: VettingState, *, rules: VettingRules, today: date
) -> list[VettingProblem]:
    """Why `user`'s vetting is not current on `today` (empty when it is)."""
    problems = []
    if user.identity_checked_on is None:
        problems.append(VettingProblem.IDENTITY_CHECK_MISSING)
    if user.dbs_checked_on is None:
        problems.append(VettingProblem.DBS_CHECK_MISSING)
    elif today > check_lapses_after(user.dbs_checked_on, rules=rules):
        problems.append(VettingProblem.DBS_CHECK_LAPSED)
    if user.training_completed_on is None:
        problems.append(VettingProblem.TRAINING_MISSING)
    return problems


def show_date(day: date) -> str:
    """A date as people read it (3 December 2023)."""
    return f"{day.day} {day:%B %Y}"


def _what_lapsed(
    problems: Sequence[VettingProblem], user: VettingState, *, rules: VettingRules, whose: str
) -> str:
    parts = []
    for problem in problems:
        if problem is VettingProblem.IDENTITY_CHECK_MISSING:
            parts.append(f"no identity check is recorded for {whose} account")
        elif problem is VettingProblem.DBS_CHECK_MISSING:
            parts.append(
                f"no enhanced criminal-records (DBS) check is recorded for {whose} account"
            )
        elif problem is VettingProblem.DBS_CHECK_LAPSED and user.dbs_checked_on is not None:
            last_day = check_lapses_after(user.dbs_checked_on, rules=rules)
            parts.append(
                f"{whose} enhanced criminal-records (DBS) check of "
                f"{show_date(user.dbs_checked_on)} is more than {rules.check_valid_years} years "
                f"old (it lapsed after {show_date(last_day)})"
            )
        elif problem is VettingProblem.TRAINING_MISSING:
            parts.append(f"{whose} mandatory ContactPoint training is not recorded as completed")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def refusal_message(
    problems: Sequence[VettingProblem], user: VettingState, *, rules: VettingRules
) -> str:
    """What a person refused for their vetting is told: what lapsed, and whom to ask."""
    return (
        f"{_what_lapsed(problems, user, rules=rules, whose='your')}. You cannot use ContactPoint "
        f"until it is renewed and recorded: ask {rules.contact}."
    )


def client_refusal_message(
    problems: Sequence[VettingProblem], user: VettingState, *, rules: VettingRules, username: str
) -> str:
    """What a CMS acting for a person whose vetting is not current is told."""
    return (
        f"X-On-Behalf-Of: ContactPoint cannot act for {username!r}: "
        f"{_what_lapsed(problems, user, rules=rules, whose='their')}. They must ask "
        f"{rules.contact} to record it."
    )


@dataclass(frozen=True)
class VettingChange:
    """What an administrator records (None: left as it is). The identity check is one fact,
    who checked and when: both are given together."""

    identity_checked_by: str | None = None
    identity_checked_on: date | None = None
    dbs_checked_on: date | None = None
    training_completed_on: date | None = None

    def as_details(self) -> dict[str, str]:
        """The values recorded, as the audit row keeps them."""
        return {
            name: value.isoformat() if isinstance(value, date) else value
            for name, value in (
                ("identity_checked_by", self.identity_checked_by),
                ("identity_checked_on", self.identity_checked_on),
                ("dbs_checked_on", self.dbs_checked_on),
                ("training_completed_on", self.training_completed_on),
            )
            if value is not None
        }


def apply_change(user: AppUser, change: VettingChange) -> None:
    """Set what `change` records on `user` (checked first with `change_problems`)."""
    if change.identity_checked_by is not None:
        user.identity_checked_by = change.identity_checked_by
        user.identity_checked_on = change.identity_checked_on
    if change.dbs_checked_on is not None:
        user.dbs_checked_on = change.dbs_checked_on
    if change.training_completed_on is not None:
        user.training_completed_on = change.training_completed_on


def change_problems(change: VettingChange, *, today: date) -> dict[str, DomainError]:
    """Every rule the change breaks, by field (empty when it may be recorded)."""
    problems: dict[str, DomainError] = {}
    checker = change.identity_checked_by
    if checker is not None and (
        not checker.strip()
        or checker != checker.strip()
        or len(checker) > CHECKER_MAX
        or has_control_characters(checker)
    ):
        problems["identity_checked_by"] = InvalidInput(
            f"who checked the identity is a name of 1 to {CHECKER_MAX} characters"
        )
    if (checker is None) != (change.identity_checked_on is None):
        field = "identity_checked_by" if checker is None else "identity_checked_on"
        problems.setdefault(
            field, InvalidInput("give who checked the identity and the day they checked it")
        )
    for field, label, value in (
        ("identity_checked_on", "the identity check", change.identity_checked_on),
        ("dbs_checked_on", "the DBS check", change.dbs_checked_on),
        ("training_completed_on", "the training", change.training_completed_on),
    ):
        if value is not None and value > today:
            problems.setdefault(field, InvalidInput(f"the date of {label} cannot be in the future"))
        elif value is not None and value.year < FIRST_YEAR:
            problems.setdefault(
                field, InvalidInput(f"the date of {label} must be in {FIRST_YEAR} or later")
            )
    if not change.as_details():
        problems["vetting"] = InvalidInput("give at least one check or training date to record")
    return problems


def latest_check_lapsing_by(horizon: date, *, rules: VettingRules) -> date:
    """The latest DBS check date that lapses on or before `horizon` (its last current day)."""
    day = add_years(horizon, -rules.check_valid_years)
    # Around 29 February two check dates share a last day: take the later one.
    while check_lapses_after(day + timedelta(days=1), rules=rules) <= horizon:
        day += timedelta(days=1)
    return day
