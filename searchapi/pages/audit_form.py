"""The audit pages' filter forms: query-string values in, an `AuditQuery` or errors by field out.

Pure (no I/O). Dates are whole days in the service's local time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from db.audit import AuditEventType
from searchapi.audit_reading import AuditQuery
from searchapi.pages.form_dates import DATE_HINT, end_of, parse_day, start_of

FILTER_FIELDS: Final = ("user", "client", "event", "subject", "request_id", "from", "to")
_TEXT_LIMITS: Final = {"user": 100, "client": 100, "subject": 100, "request_id": 64}
_REQUEST_ID: Final = re.compile(r"[0-9A-Za-z-]{1,64}")
_CURSOR: Final = re.compile(r"[0-9]{1,18}")
_DATE_LABELS: Final = {"from": "from date", "to": "to date"}
CURSOR_REFUSAL: Final = "The page link is not valid: go back to the first page of results"


@dataclass
class AuditForm:
    """What was typed (shown again), the query it makes, the page cursor, and the errors."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    query: AuditQuery | None = None
    before: int | None = None
    after: int | None = None

    def link(self, **cursor: int) -> str:
        """The address of this filter at another page (`before=` or `after=` an event id)."""
        kept = {name: value for name, value in self.values.items() if value}
        return "?" + urlencode({**kept, **{name: str(value) for name, value in cursor.items()}})


def _days(
    values: Mapping[str, str], errors: dict[str, str], names: tuple[str, ...]
) -> dict[str, date]:
    days: dict[str, date] = {}
    for name in names:
        if not values[name]:
            continue
        day = parse_day(values[name])
        if day is None:
            errors[name] = f"Enter the {_DATE_LABELS[name]} as a real date. {DATE_HINT}"
        else:
            days[name] = day
    if "from" in days and "to" in days and days["to"] < days["from"]:
        errors["to"] = "The to date must be the same as or after the from date"
    return days


def _cursor(value: str | None, errors: dict[str, str]) -> int | None:
    if not value:
        return None
    if not _CURSOR.fullmatch(value):
        errors["cursor"] = CURSOR_REFUSAL
        return None
    return int(value)


def parse_audit_form(params: Mapping[str, str], *, zone: ZoneInfo) -> AuditForm:
    """The filter of the audit list, checked field by field."""
    values = {name: params.get(name, "").strip() for name in FILTER_FIELDS}
    errors: dict[str, str] = {}
    for name, limit in _TEXT_LIMITS.items():
        if len(values[name]) > limit:
            errors[name] = f"Enter {limit} characters or fewer"
    if values["request_id"] and "request_id" not in errors:
        if not _REQUEST_ID.fullmatch(values["request_id"]):
            errors["request_id"] = "Enter the request id as the audit shows it, letters and digits"
    known = {kind.value for kind in AuditEventType}
    if values["event"] and values["event"] not in known:
        errors["event"] = "Choose an event type from the list"
    days = _days(values, errors, ("from", "to"))
    before = _cursor(params.get("before"), errors)
    after = _cursor(params.get("after"), errors)
    form = AuditForm(values=values, errors=errors, before=before, after=after)
    if errors:
        return form
    form.query = AuditQuery(
        since=start_of(days["from"], zone) if "from" in days else None,
        until=end_of(days["to"], zone) if "to" in days else None,
        username=values["user"] or None,
        client_name=values["client"] or None,
        event=AuditEventType(values["event"]) if values["event"] else None,
        subject=values["subject"] or None,
        request_id=values["request_id"] or None,
    )
    return form


@dataclass
class PeriodForm:
    """The misuse report's period: whole local days, the last `window_days` by default."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    first: date | None = None
    last: date | None = None


def parse_period_form(params: Mapping[str, str], *, today: date, window_days: int) -> PeriodForm:
    """The report's period, checked; blank ends default to the configured window."""
    values = {name: params.get(name, "").strip() for name in ("from", "to")}
    errors: dict[str, str] = {}
    days = _days(values, errors, ("from", "to"))
    form = PeriodForm(values=values, errors=errors)
    if errors:
        return form
    last = days.get("to", today)
    first = days.get("from", last - timedelta(days=window_days - 1))
    if first > last:
        errors["from"] = "The from date must be the same as or before the to date"
        return form
    form.first, form.last = first, last
    return form
