"""Reading the audit back: filtered pages for the API, a stream for the export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from db.audit.events import AuditEventType
from db.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    """Which events: a time range, a user, a CMS, an event type, a subject (a child's identifier
    or an account's name), a request id, and the authorities in scope.

    `authorities` None means every event (auditors); a set means only the events that involve
    one of those authorities (a local authority's managers); an empty set means none.
    """

    since: datetime | None = None
    until: datetime | None = None
    username: str | None = None
    event: AuditEventType | None = None
    authorities: frozenset[str] | None = None
    client_name: str | None = None
    subject: str | None = None
    request_id: str | None = None


def _filtered(
    statement: Select[tuple[AuditEvent]], where: AuditFilter
) -> Select[tuple[AuditEvent]]:
    if where.since is not None:
        statement = statement.where(AuditEvent.occurred_at >= where.since)
    if where.until is not None:
        statement = statement.where(AuditEvent.occurred_at < where.until)
    if where.username is not None:
        statement = statement.where(AuditEvent.username == where.username.strip().lower())
    if where.event is not None:
        statement = statement.where(AuditEvent.event == where.event.value)
    if where.authorities is not None:
        statement = statement.where(AuditEvent.authorities.overlap(sorted(where.authorities)))
    if where.client_name is not None:
        statement = statement.where(AuditEvent.client_name == where.client_name.strip())
    if where.subject is not None:
        statement = statement.where(AuditEvent.subject == where.subject.strip())
    if where.request_id is not None:
        statement = statement.where(AuditEvent.request_id == where.request_id.strip())
    return statement


def list_events(
    *,
    session: Session,
    where: AuditFilter,
    limit: int,
    before_id: int | None = None,
    after_id: int | None = None,
) -> list[AuditEvent]:
    """The newest `limit` events that match, older than `before_id` (the cursor) if given.

    With `after_id`, the oldest `limit` events newer than it (the page before), still newest
    first.
    """
    statement = _filtered(select(AuditEvent), where)
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    if after_id is not None:
        statement = statement.where(AuditEvent.id > after_id).order_by(AuditEvent.id)
        return list(reversed(session.scalars(statement.limit(limit)).all()))
    return list(session.scalars(statement.order_by(AuditEvent.id.desc()).limit(limit)))


def iter_events(*, session: Session, where: AuditFilter, batch: int = 1000) -> Iterator[AuditEvent]:
    """Every matching event, oldest first, fetched `batch` rows at a time."""
    statement = _filtered(select(AuditEvent), where).order_by(AuditEvent.id)
    yield from session.scalars(statement.execution_options(yield_per=batch))


def event_as_dict(event: AuditEvent) -> dict[str, Any]:
    """An event as plain JSON-ready data."""
    return {
        "id": event.id,
        "occurred_at": event.occurred_at.isoformat(),
        "event": event.event,
        "outcome": event.outcome,
        "user_id": event.user_id,
        "username": event.username,
        "client_id": event.client_id,
        "client_name": event.client_name,
        "authorities": list(event.authorities),
        "subject": event.subject,
        "request_id": event.request_id,
        "client_address": event.client_address,
        "details": event.details,
    }
