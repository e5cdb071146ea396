"""The rule of current vetting and the vetting form, without servers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.datastructures import FormData

from db.access.vetting import (
    VettingChange,
    VettingProblem,
    VettingRules,
    add_years,
    change_problems,
    check_lapses_after,
    latest_check_lapsing_by,
    refusal_message,
    vetting_problems,
)
from searchapi.pages.vetting_form import parse_vetting_form

RULES = VettingRules(
    check_valid_years=3,
    warning_days=60,
    zone=ZoneInfo("Europe/London"),
    contact="the ContactPoint service desk",
)
TODAY = date(2026, 12, 3)


@dataclass(frozen=True)
class Row:
    identity_checked_on: date | None = date(2020, 1, 1)
    dbs_checked_on: date | None = date(2025, 1, 1)
    training_completed_on: date | None = date(2020, 1, 1)


@pytest.mark.parametrize(
    ("checked", "problems"),
    [
        (date(2023, 12, 3), []),
        (date(2023, 12, 4), []),
        (date(2023, 12, 2), [VettingProblem.DBS_CHECK_LAPSED]),
        (date(2019, 6, 1), [VettingProblem.DBS_CHECK_LAPSED]),
        (TODAY, []),
    ],
    ids=["exactly-3-years", "a-day-short-of-3-years", "3-years-and-a-day", "7-years", "today"],
)
def test_a_dbs_check_is_current_until_it_is_over_three_years_old(
    checked: date, problems: list[VettingProblem]
) -> None:
    assert vetting_problems(Row(dbs_checked_on=checked), rules=RULES, today=TODAY) == problems


def test_every_missing_part_is_named() -> None:
    row = Row(identity_checked_on=None, dbs_checked_on=None, training_completed_on=None)
    assert vetting_problems(row, rules=RULES, today=TODAY) == [
        VettingProblem.IDENTITY_CHECK_MISSING,
        VettingProblem.DBS_CHECK_MISSING,
        VettingProblem.TRAINING_MISSING,
    ]


def test_a_leap_day_check_lapses_after_the_28th_of_february() -> None:
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert check_lapses_after(date(2024, 2, 29), rules=RULES) == date(2027, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


@pytest.mark.parametrize(
    "horizon",
    [date(2027, 2, 27), date(2027, 2, 28), date(2027, 3, 1), date(2026, 12, 31), date(2028, 2, 29)],
)
def test_the_latest_check_lapsing_by_a_day_is_exactly_the_boundary(horizon: date) -> None:
    latest = latest_check_lapsing_by(horizon, rules=RULES)
    assert check_lapses_after(latest, rules=RULES) <= horizon
    assert check_lapses_after(latest + timedelta(days=1), rules=RULES) > horizon


def test_the_refusal_says_what_lapsed_when_and_whom_to_ask() -> None:
    row = Row(dbs_checked_on=date(2023, 1, 10), training_completed_on=None)
    problems = vetting_problems(row, rules=RULES, today=TODAY)
    message = refusal_message(problems, row, rules=RULES)
    assert message == (
        "Your enhanced criminal-records (DBS) check of 10 January 2023 is more than 3 years "
        "old (it lapsed after 10 January 2026); your mandatory ContactPoint training is not "
        "recorded as completed. You cannot use ContactPoint until it is renewed and recorded: "
        "ask the ContactPoint service desk."
    )


def test_the_local_day_decides_near_midnight() -> None:
    # 23:30 UTC on 31 May is already 1 June in London (summer time).
    assert RULES.today(datetime(2026, 5, 31, 23, 30, tzinfo=UTC)) == date(2026, 6, 1)


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (VettingChange(dbs_checked_on=TODAY), set()),
        (VettingChange(dbs_checked_on=TODAY + timedelta(days=1)), {"dbs_checked_on"}),
        (VettingChange(identity_checked_by="Jo"), {"identity_checked_on"}),
        (VettingChange(identity_checked_on=TODAY), {"identity_checked_by"}),
        (
            VettingChange(identity_checked_by=" Jo", identity_checked_on=TODAY),
            {"identity_checked_by"},
        ),
        (
            VettingChange(identity_checked_by="J\x00", identity_checked_on=TODAY),
            {"identity_checked_by"},
        ),
        (
            VettingChange(identity_checked_by="x" * 201, identity_checked_on=TODAY),
            {"identity_checked_by"},
        ),
        (VettingChange(training_completed_on=date(1949, 12, 31)), {"training_completed_on"}),
        (VettingChange(), {"vetting"}),
    ],
    ids=[
        "fine",
        "future",
        "no-date",
        "no-name",
        "untrimmed",
        "control",
        "too-long",
        "old",
        "empty",
    ],
)
def test_a_change_breaking_a_rule_is_refused_by_field(
    change: VettingChange, fields: set[str]
) -> None:
    assert set(change_problems(change, today=TODAY)) == fields


def test_the_form_reads_uk_dates_and_leaves_blank_fields_as_they_were() -> None:
    form = FormData(
        [
            ("identity_checked_by", "  Jo Bloggs  "),
            ("identity_checked_on", "1/12/2026"),
            ("dbs_checked_on", "2026-12-02"),
            ("training_completed_on", ""),
        ]
    )
    parsed = parse_vetting_form(form, today=TODAY)
    assert parsed.errors == {}
    assert parsed.change == VettingChange(
        identity_checked_by="Jo Bloggs",
        identity_checked_on=date(2026, 12, 1),
        dbs_checked_on=date(2026, 12, 2),
    )


def test_the_form_gives_every_error_at_once_and_no_missing_date_for_a_bad_one() -> None:
    form = FormData(
        [
            ("identity_checked_by", "Jo Bloggs"),
            ("identity_checked_on", "31/2/2026"),
            ("dbs_checked_on", "4/12/2026"),
            ("training_completed_on", "soon"),
        ]
    )
    errors = parse_vetting_form(form, today=TODAY).errors
    assert list(errors) == ["identity_checked_on", "dbs_checked_on", "training_completed_on"]
    assert errors["identity_checked_on"].startswith("Enter the date of the identity check as a")
    assert errors["dbs_checked_on"] == "The date of the DBS check cannot be in the future"


def test_an_empty_form_says_to_give_something() -> None:
    errors = parse_vetting_form(FormData([]), today=TODAY).errors
    assert errors == {"identity_checked_by": "Give at least one check or training date to record"}
