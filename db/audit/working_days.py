"""Working days: Monday to Friday in the deployment's time zone.

Bank holidays are ignored (they differ between the nations and are announced year by year):
a review due over one is reported a day early, which errs on the side of looking.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_SATURDAY = 5


def add_working_days(moment: datetime, days: int, *, zone: ZoneInfo) -> datetime:
    """`days` working days after `moment`, at the same local time of day.

    A moment at a weekend counts from the start of the next Monday, so a break glass on a
    Saturday is due at the same time as one at midnight on Monday.
    """
    local = moment.astimezone(zone)
    if local.weekday() >= _SATURDAY:
        monday = local.date() + timedelta(days=7 - local.weekday())
        local = datetime.combine(monday, time(0), tzinfo=zone)
    day, clock = local.date(), local.timetz().replace(tzinfo=None)
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < _SATURDAY:
            remaining -= 1
    # Combined afresh in the zone: the UTC offset is that of the due day (summer time).
    return datetime.combine(day, clock, tzinfo=zone)


def is_overdue(moment: datetime, *, now: datetime, days: int, zone: ZoneInfo) -> bool:
    """Whether more than `days` working days have passed since `moment` at `now`."""
    return add_working_days(moment, days, zone=zone) <= now
