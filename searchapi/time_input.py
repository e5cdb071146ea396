"""Times a caller sends (`from`, `to`, an expiry): bounded to what the service and PostgreSQL hold.

PostgreSQL refuses a UTC offset beyond about ±16 h, and a period's arithmetic overflows near
the ends of the calendar; such a time is a 422 naming its field, never a database error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator

# Years a time may name, in the API and the pages' forms: far enough for any audit period or
# account expiry, and far from the ends of the calendar, where a day's start or end cannot be
# computed.
FIRST_YEAR: Final = 1900
LAST_YEAR: Final = 2200
# The widest offsets of real time zones (Kiribati +14, Baker Island -12).
MAX_OFFSET: Final = timedelta(hours=14)
TIME_RULE: Final = (
    f"an ISO 8601 time between the years {FIRST_YEAR} and {LAST_YEAR}, with a UTC offset "
    "within ±14 hours (UTC when none is given)"
)


def _bounded(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is None:
        # A time without a zone is taken as UTC.
        value = value.replace(tzinfo=UTC)
    elif abs(offset) > MAX_OFFSET:
        raise ValueError("the UTC offset must be within ±14 hours")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    return value.astimezone(UTC)


# A time in a body or a query: aware, in UTC, within the years and offsets above (422 otherwise).
BoundedTime = Annotated[datetime, AfterValidator(_bounded)]


def out_of_order(field: str, message: str) -> RequestValidationError:
    """The 422 of a period whose ends are the wrong way round, naming `field`."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", field), "msg": message, "input": None}]
    )


@dataclass(frozen=True)
class Period:
    """A `from`/`to` pair of query parameters, each optional, `from` never after `to`."""

    since: datetime | None
    until: datetime | None


async def period_of_query(
    since: Annotated[BoundedTime | None, Query(alias="from", description=TIME_RULE)] = None,
    until: Annotated[BoundedTime | None, Query(alias="to", description=TIME_RULE)] = None,
) -> Period:
    """Dependency: the `from` and `to` query parameters, checked one against the other."""
    if since is not None and until is not None and until < since:
        raise out_of_order("to", "must not be before from")
    return Period(since=since, until=until)
