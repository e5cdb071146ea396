"""Subject access reports as the API, the pages and the command produce them: the child found
and the actor's right checked here (a manager of the child's authority), the report built by
lifecycle/subject_access.py and audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from db.access import Forbidden, Principal
from db.audit import AuditContext
from db.child_records import get_child
from db.errors import Conflict, NotFound
from db.models import Child
from lifecycle.report_pdf import render_pdf
from lifecycle.subject_access import audit_report, build_report
from searchapi.access import Permission, child_access, permissions_of, refusal, require_child_admin

ARCHIVED_REFUSAL = (
    "This record has been archived: its report is produced by a manager of the child's "
    "authority who holds the archive capability."
)


def reported_child(session: Session, principal: Principal, identifier: str) -> Child:
    """The child, if `principal` manages its authority (404, 403; 409 if merged, or archived
    and the principal does not hold the archive capability: the archive's data is held, and a
    subject may ask for it, but only those who may open the archive report it)."""
    child = get_child(session=session, identifier=identifier)
    if child is None:
        raise NotFound("There is no child with this identifier.")
    access = child_access(principal, named_children=principal.named_children)
    require_child_admin(access, authority=child.local_authority_code)
    if child.status == "merged":
        raise Conflict("This record was merged into another: report the child's record instead.")
    if child.status == "archived" and Permission.OPEN_ARCHIVE not in permissions_of(principal):
        raise Conflict(ARCHIVED_REFUSAL)
    return child


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
    child = reported_child(session, actor, identifier)
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
