"""Reading the audit and running the misuse report, for the API and the pages alike.

Both reads are scoped by `audit_scope` and audited in turn, in the caller's transaction, so
the API route and the page cannot differ in what they show or what they record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.audit import (
    AuditContext,
    AuditEventType,
    AuditFilter,
    MisuseReport,
    MisuseRules,
    list_events,
    misuse_report,
    record_audit,
)
from db.models import AuditEvent
from searchapi.access import audit_scope


@dataclass(frozen=True)
class AuditQuery:
    """What the reader asked for; the authorities in scope are added from the principal."""

    since: datetime | None = None
    until: datetime | None = None
    username: str | None = None
    client_name: str | None = None
    event: AuditEventType | None = None
    subject: str | None = None
    request_id: str | None = None

    def details(self) -> dict[str, object]:
        """The filters as the `audit_read` row records them."""
        return {
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "user": self.username,
            "client": self.client_name,
            "event": self.event,
            "subject": self.subject,
            "request": self.request_id,
        }


@dataclass(frozen=True)
class AuditSlice:
    """One page of events, newest first, and whether more lie beyond it (the way it was read)."""

    events: list[AuditEvent]
    more: bool


def read_audit(
    *,
    session: Session,
    context: AuditContext,
    query: AuditQuery,
    limit: int,
    before_id: int | None = None,
    after_id: int | None = None,
) -> AuditSlice:
    """The events the context's principal may read that match `query`; the read is audited."""
    principal = context.actor
    where = AuditFilter(
        since=query.since,
        until=query.until,
        username=query.username,
        client_name=query.client_name,
        event=query.event,
        subject=query.subject,
        request_id=query.request_id,
        authorities=audit_scope(principal),
    )
    # One more than asked: whether there is another page, without a second query.
    events = list_events(
        session=session, where=where, limit=limit + 1, before_id=before_id, after_id=after_id
    )
    more = len(events) > limit
    if more:
        # Read from `after_id`, the extra row is the newest; otherwise it is the oldest.
        events = events[1:] if after_id is not None else events[:limit]
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.AUDIT_READ,
        details={**query.details(), "returned": len(events)},
    )
    return AuditSlice(events=events, more=more)


def read_misuse_report(
    *,
    session: Session,
    settings: Settings,
    context: AuditContext,
    since: datetime,
    until: datetime,
) -> MisuseReport:
    """The misuse report over [since, until) within the principal's scope; the run is audited."""
    principal = context.actor
    report = misuse_report(
        session=session,
        since=since,
        until=until,
        rules=MisuseRules.from_settings(settings),
        authorities=audit_scope(principal),
    )
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.MISUSE_REPORT,
        details={"from": since.isoformat(), "to": until.isoformat()},
    )
    return report
