"""Working days: Monday to Friday in London, weekends skipped, summer time respected."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from db.audit.working_days import add_working_days, is_overdue

LONDON = ZoneInfo("Europe/London")


def _london(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LONDON)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (_london(2026, 3, 2, 10, 0), _london(2026, 3, 4, 10, 0)),
        (_london(2026, 3, 5, 15, 30), _london(2026, 3, 9, 15, 30)),
        (_london(2026, 3, 6, 15, 0), _london(2026, 3, 10, 15, 0)),
        (_london(2026, 3, 7, 10, 0), _london(2026, 3, 11, 0, 0)),
        (_london(2026, 3, 8, 23, 59), _london(2026, 3, 11, 0, 0)),
        (_london(2026, 3, 27, 9, 0), _london(2026, 3, 31, 9, 0)),
    ],
    ids=[
        "monday-to-wednesday",
        "thursday-over-the-weekend",
        "friday-to-tuesday",
        "saturday-counts-from-monday",
        "sunday-night-counts-from-monday",
        "over-the-change-to-summer-time",
    ],
)
def test_two_working_days_skip_the_weekend(start: datetime, due: datetime) -> None:
    assert add_working_days(start, 2, zone=LONDON) == due


def test_the_due_time_keeps_the_local_hour_across_the_clock_change() -> None:
    due = add_working_days(_london(2026, 3, 27, 9, 0), 2, zone=LONDON)
    assert due.astimezone(UTC) == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)


def test_a_break_glass_is_overdue_only_once_two_working_days_have_passed() -> None:
    friday = _london(2026, 3, 6, 15, 0)
    assert not is_overdue(friday, now=_london(2026, 3, 9, 23, 0), days=2, zone=LONDON)
    assert not is_overdue(friday, now=_london(2026, 3, 10, 14, 59), days=2, zone=LONDON)
    assert is_overdue(friday, now=_london(2026, 3, 10, 15, 0), days=2, zone=LONDON)


def test_a_moment_in_utc_is_read_in_the_local_zone() -> None:
    # 23:30 UTC on Friday 3 July is 00:30 on Saturday in London: due from Monday 00:00.
    late_friday = datetime(2026, 7, 3, 23, 30, tzinfo=UTC)
    assert add_working_days(late_friday, 2, zone=LONDON) == _london(2026, 7, 8, 0, 0)
