"""Reading the audit and the misuse report (both reads are audited in turn)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator

from db.audit import AuditEventType
from searchapi.audit_reading import AuditQuery, read_audit, read_misuse_report
from searchapi.deps import AuditContextDep, AuditReader, MisuseReporter, SessionDep, SettingsDep
from searchapi.schemas import AuditPage
from searchapi.time_input import Period, out_of_order, period_of_query

router = APIRouter(tags=["audit"])

# An event id, as `next_cursor` gives it: ASCII digits (not "²", which str.isdigit takes) that
# fit PostgreSQL's BIGINT.
_BIGINT_MAX: Final = 2**63 - 1


def _event_id(value: str | None) -> str | None:
    if value is not None and int(value) > _BIGINT_MAX:
        raise ValueError("pass the next_cursor of the previous page")
    return value


Cursor = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{1,19}$", description="The next_cursor of the previous page"),
    AfterValidator(_event_id),
]
PeriodDep = Annotated[Period, Depends(period_of_query)]


@router.get("/v1/audit")
def get_audit(
    principal: AuditReader,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
    period: PeriodDep,
    user: Annotated[str | None, Query(max_length=100)] = None,
    client: Annotated[str | None, Query(max_length=100)] = None,
    event: AuditEventType | None = None,
    subject: Annotated[str | None, Query(max_length=100)] = None,
    request_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    cursor: Cursor = None,
) -> AuditPage:
    """Audit events, newest first: all for auditors, their authorities' for managers."""
    page = read_audit(
        session=session,
        context=context,
        query=AuditQuery(
            since=period.since,
            until=period.until,
            username=user,
            client_name=client,
            event=event,
            subject=subject,
            request_id=request_id,
        ),
        limit=min(limit, settings.audit_page_max),
        before_id=int(cursor) if cursor is not None else None,
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
    context: AuditContextDep,
    period: PeriodDep,
) -> dict[str, Any]:
    """Users to look at: search volume, sensitive views, out-of-hours use and fishing."""
    end = period.until or datetime.now(UTC)
    start = period.since or end - timedelta(days=settings.misuse_window_days)
    if start > end:
        raise out_of_order("from", "must not be after to (now, when to is not given)")
    report = read_misuse_report(
        session=session,
        settings=settings,
        context=context,
        since=start,
        until=end,
    )
    return report.as_dict()
