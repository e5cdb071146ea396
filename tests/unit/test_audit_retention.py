"""Which months retention drops: whole months wholly before the cutoff, a leap day included."""

from __future__ import annotations

from datetime import date

import pytest

from db.audit.retention import expired_months, month_of, retention_cutoff


@pytest.mark.parametrize(
    ("today", "years", "cutoff"),
    [
        (date(2026, 12, 3), 7, date(2019, 12, 3)),
        (date(2028, 2, 29), 7, date(2021, 2, 28)),
        (date(2028, 2, 29), 4, date(2024, 2, 29)),
    ],
    ids=["ordinary-day", "leap-day-to-28-february", "leap-day-to-leap-day"],
)
def test_the_cutoff_is_the_same_day_the_given_years_back(
    today: date, years: int, cutoff: date
) -> None:
    assert retention_cutoff(today, years) == cutoff


def test_only_months_that_end_by_the_cutoff_expire_and_the_default_never() -> None:
    partitions = [
        "audit_event_2019_11",
        "audit_event_default",
        "audit_event_2019_12",
        "audit_event_2019_10",
    ]

    assert expired_months(partitions, cutoff=date(2019, 12, 3)) == [
        "audit_event_2019_10",
        "audit_event_2019_11",
    ]
    assert expired_months(partitions, cutoff=date(2020, 1, 1)) == [
        "audit_event_2019_10",
        "audit_event_2019_11",
        "audit_event_2019_12",
    ]


def test_a_partition_name_gives_its_month() -> None:
    assert month_of("audit_event_2031_05") == date(2031, 5, 1)
    assert month_of("audit_event_default") is None
    assert month_of("audit_event_2031_5") is None
