"""Reading the audit and the misuse report (both reads are audited in turn)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from db.access import InvalidInput
from db.audit import AuditEventType
from searchapi.audit_reading import AuditQuery, read_audit, read_misuse_report
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
def get_audit(
    principal: AuditReader,
    session: SessionDep,
    settings: SettingsDep,
    context: RequestContextDep,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    user: Annotated[str | None, Query(max_length=100)] = None,
    client: Annotated[str | None, Query(max_length=100)] = None,
    event: AuditEventType | None = None,
    subject: Annotated[str | None, Query(max_length=100)] = None,
    request_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> AuditPage:
    """Audit events, newest first: all for auditors, their authorities' for managers."""
    page = read_audit(
        session=session,
        principal=principal,
        query=AuditQuery(
            since=_utc(since),
            until=_utc(until),
            username=user,
            client_name=client,
            event=event,
            subject=subject,
            request_id=request_id,
        ),
        limit=min(limit, settings.audit_page_max),
        before_id=_cursor(cursor),
        request_id=context.request_id,
        client_address=context.client_address,
    )
    return AuditPage(
        events=[row.as_dict() for row in page.events],
        next_cursor=str(page.events[-1].event.id) if page.more else None,
    )


@router.get("/v1/audit/report")
def get_misuse_report(
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
    report = read_misuse_report(
        session=session,
        settings=settings,
        principal=principal,
        since=start,
        until=end,
        request_id=context.request_id,
        client_address=context.client_address,
    )
    return report.as_dict()
