"""Reading the audit and the misuse report (both reads are audited in turn)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from db.access import InvalidInput
from db.audit import (
    AuditEventType,
    AuditFilter,
    MisuseRules,
    event_as_dict,
    list_events,
    misuse_report,
    record_audit,
)
from searchapi.access import audit_scope
from searchapi.deps import AuditReader, MisuseReporter, RequestContextDep, SessionDep, SettingsDep
from searchapi.schemas import AuditPage

router = APIRouter(tags=["audit"])


def _utc(value: datetime | None) -> datetime | None:
    # A time without a zone is taken as UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput("cursor: pass the next_cursor of the previous page")
    return int(value)


@router.get("/v1/audit")
def read_audit(
    principal: AuditReader,
    session: SessionDep,
    settings: SettingsDep,
    context: RequestContextDep,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    user: Annotated[str | None, Query(max_length=100)] = None,
    event: AuditEventType | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> AuditPage:
    """Audit events, newest first: all for auditors, their authorities' for managers."""
    where = AuditFilter(
        since=_utc(since),
        until=_utc(until),
        username=user,
        event=event,
        authorities=audit_scope(principal),
    )
    limit = min(limit, settings.audit_page_max)
    events = list_events(session=session, where=where, limit=limit, before_id=_cursor(cursor))
    record_audit(
        session=session,
        event=AuditEventType.AUDIT_READ,
        principal=principal,
        request_id=context.request_id,
        details={
            "from": since.isoformat() if since else None,
            "to": until.isoformat() if until else None,
            "user": user,
            "event": event,
            "returned": len(events),
        },
        client_address=context.client_address,
    )
    return AuditPage(
        events=[event_as_dict(row) for row in events],
        next_cursor=str(events[-1].id) if len(events) == limit else None,
    )


@router.get("/v1/audit/report")
def read_misuse_report(
    principal: MisuseReporter,
    session: SessionDep,
    settings: SettingsDep,
    context: RequestContextDep,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Users to look at: search volume, sensitive views, out-of-hours use and fishing."""
    end = _utc(until) or datetime.now(UTC)
    start = _utc(since) or end - timedelta(days=settings.misuse_window_days)
    report = misuse_report(
        session=session,
        since=start,
        until=end,
        rules=MisuseRules.from_settings(settings),
        authorities=audit_scope(principal),
    )
    record_audit(
        session=session,
        event=AuditEventType.MISUSE_REPORT,
        principal=principal,
        request_id=context.request_id,
        details={"from": start.isoformat(), "to": end.isoformat()},
        client_address=context.client_address,
    )
    return report.as_dict()
