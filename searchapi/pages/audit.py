"""The auditors' pages: the audit list with its filter, and the misuse report.

The same service functions as the API's audit routes (`read_audit`, `read_misuse_report`), so
the scope of what a reader sees and the audit of the read have one implementation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contactpoint.settings import Settings
from db.audit import MisuseRules
from searchapi.access import audit_scope
from searchapi.audit_reading import read_audit, read_misuse_report
from searchapi.deps import AuditContextDep, AuditReader, MisuseReporter, SessionDep, SettingsDep
from searchapi.pages.audit_form import AuditForm, parse_audit_form, parse_period_form
from searchapi.pages.audit_rows import EVENT_LABELS, audit_row, misuse_sections
from searchapi.pages.csrf import page_csrf
from searchapi.pages.form_dates import DATE_HINT, end_of, local_day, show_day, start_of
from searchapi.pages.render import render

router = APIRouter(include_in_schema=False)

# No-store: the audit names children and users; a shared computer's cache must not keep it.
_PRIVATE: Final = {"Cache-Control": "no-store"}


def _zone(settings: Settings) -> ZoneInfo:
    # The audit's days and times are those of the working hours the misuse report uses.
    return ZoneInfo(settings.working_hours_timezone)


def _pages(form: AuditForm, events: list[int], more: bool) -> tuple[str | None, str | None]:
    """The links to the newer and the older page, where there is one."""
    if not events:
        return None, None
    newer = form.before is not None or (form.after is not None and more)
    older = form.after is not None or more
    return (
        form.link(after=events[0]) if newer else None,
        form.link(before=events[-1]) if older else None,
    )


@router.get("/audit")
def audit_page(
    request: Request,
    principal: AuditReader,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """The audit, newest first, filtered by the query string; the read is audited."""
    zone = _zone(settings)
    form = parse_audit_form(request.query_params, zone=zone)
    rows = None
    newer = older = None
    if form.query is not None:
        found = read_audit(
            session=session,
            context=context,
            query=form.query,
            limit=settings.audit_page_rows,
            before_id=form.before,
            after_id=form.after,
        )
        rows = [audit_row(row.event, row.shown, zone=zone) for row in found.events]
        newer, older = _pages(form, [row.id for row in rows], found.more)
    scope = audit_scope(principal)
    response = render(
        request,
        "audit.html",
        status_code=400 if form.errors else 200,
        csrf=page_csrf(request, settings),
        form=form,
        errors=form.errors,
        rows=rows,
        previous_link=newer,
        next_link=older,
        scope=sorted(scope) if scope is not None else None,
        event_labels=EVENT_LABELS,
        date_hint=DATE_HINT,
        zone_name=settings.working_hours_timezone,
    )
    response.headers.update(_PRIVATE)
    return response


@router.get("/audit/misuse")
def misuse_page(
    request: Request,
    principal: MisuseReporter,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """The misuse report over a period of whole days (the last week by default)."""
    zone = _zone(settings)
    window = settings.misuse_window_days
    today = local_day(datetime.now(UTC), zone)
    form = parse_period_form(request.query_params, today=today, window_days=window)
    report = period = None
    if form.first is not None and form.last is not None:
        report = read_misuse_report(
            session=session,
            settings=settings,
            context=context,
            since=start_of(form.first, zone),
            until=end_of(form.last, zone),
        )
        period = (show_day(form.first), show_day(form.last))
    response = render(
        request,
        "misuse.html",
        status_code=400 if form.errors else 200,
        csrf=page_csrf(request, settings),
        form=form,
        errors=form.errors,
        report=report,
        sections=misuse_sections(report, zone=zone, rules=MisuseRules.from_settings(settings))
        if report
        else [],
        period=period,
        window_days=window,
        date_hint=DATE_HINT,
        zone_name=settings.working_hours_timezone,
    )
    response.headers.update(_PRIVATE)
    return response
