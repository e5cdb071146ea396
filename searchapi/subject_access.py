"""Subject access reports as the API, the pages and the command produce them: the child found
and the actor's right checked here (a manager of the child's authority), the report built by
lifecycle/subject_access.py and audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from db.access import Forbidden
from db.audit import AuditContext
from lifecycle.report_pdf import render_pdf
from lifecycle.subject_access import audit_report, build_report
from searchapi.access import Permission, refusal
from searchapi.managed_children import managed_child


def produce_report(
    *,
    session: Session,
    context: AuditContext,
    identifier: str,
    include_location: bool,
    formats: list[str],
) -> tuple[dict[str, Any], bytes | None]:
    """The report's data, and its PDF when "pdf" is among `formats`; audited (404, 403
    otherwise, the refusal audited too)."""
    actor = context.actor
    # The route's dependency has checked this already; the command has not.
    reason = refusal(actor, Permission.SUBJECT_ACCESS)
    if reason is not None:
        raise Forbidden(reason, actor=actor)
    child = managed_child(session, actor, identifier)
    report = build_report(
        session=session,
        child=child,
        produced_by=actor.username,
        organisation=actor.organisation,
        include_location=include_location,
    )
    pdf = render_pdf(report) if "pdf" in formats else None
    audit_report(session=session, context=context, child=child, report=report, formats=formats)
    return report, pdf
