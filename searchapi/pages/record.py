"""The record page, and break-glass: a shielded location shown once, for child protection.

The same service functions as the API's record view (`view_child`, `break_glass_view`), so the
redaction and the audit have one implementation. The break-glass reason travels only in a form
post, never in an address, so it reaches the audit and no access log or browser history.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import RESULTS_TOKEN, Principal
from db.audit import AuditContext
from searchapi.access import Permission, child_access, permissions_of
from searchapi.corrections import history, value_text
from searchapi.deps import AuditContextDep, GlassBreaker, SessionDep, SettingsDep, Viewer
from searchapi.pages.contact_order import contact_order
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import BREAK_GLASS_REASON, text_field
from searchapi.pages.render import render
from searchapi.paths import IdentifierPath
from searchapi.record_schemas import ChildRecordView
from searchapi.record_view import break_glass_view, view_child

router = APIRouter(include_in_schema=False)

# What a manager's change did, told by the record page it leads back to.
CHANGES: Final = {
    "shielded": "The child is shielded. Searches reflect this within seconds.",
    "shield-removed": "The shield is removed. Searches reflect this within seconds.",
    "consent": "Consent is recorded: practitioners now see this service.",
    "override": "The child-protection override is recorded: practitioners now see this service.",
    "corrected": "The correction is recorded, with the earlier value. Searches reflect it within "
    "seconds.",
}


def _record(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    view: ChildRecordView,
    *,
    context: AuditContext,
    changed: str | None = None,
    results: str | None = None,
) -> Response:
    kept = results is not None and RESULTS_TOKEN.fullmatch(results)
    access = child_access(principal, named_children=principal.named_children)
    granted = permissions_of(principal)
    authority = view.local_authority.code if view.local_authority else None
    administers = access.may_administer(authority)
    # A manager of the child's authority corrects the record, reads its history (audited)
    # and produces the subject access report.
    corrects = Permission.CORRECT_RECORDS in granted and administers and view.status != "merged"
    corrections = (
        history(session=session, context=context, identifier=view.identifier) if corrects else []
    )
    return render(
        request,
        "record.html",
        csrf=page_csrf(request, settings),
        view=view,
        manages=Permission.MANAGE_SHIELDS in granted and administers,
        consents=Permission.RECORD_CONSENT in granted and administers,
        asks=Permission.ASK_THE_TEAM in granted,
        # A manager of another authority is offered the team's number, not the override.
        may_break_glass=access.may_break_glass_on(authority) and view.location_withheld,
        changed=CHANGES.get(changed or ""),
        corrects=corrects,
        corrections=corrections,
        describe=value_text,
        reports=Permission.SUBJECT_ACCESS in granted and administers,
        back_to=f"/search?results={results}#results" if kept else "/search",
        **contact_order(view),
    )


@router.get("/children/{identifier}")
def record_page(
    identifier: IdentifierPath,
    request: Request,
    principal: Viewer,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
    changed: str | None = None,
    results: str | None = None,
) -> Response:
    """The record view of the API, as a page; `results`, the token of the search results it
    was opened from, takes "Back to search" to them."""
    view = view_child(session=session, context=context, identifier=identifier)
    return _record(
        request,
        session,
        settings,
        principal,
        view,
        context=context,
        changed=changed,
        results=results,
    )


def _break_glass_form(
    request: Request,
    settings: Settings,
    identifier: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    reason: str = "",
) -> Response:
    return render(
        request,
        "break_glass.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        identifier=identifier,
        errors=errors or {},
        reason=reason,
        rule=BREAK_GLASS_REASON,
    )


@router.get("/children/{identifier}/break-glass")
def break_glass_page(
    identifier: IdentifierPath,
    request: Request,
    principal: GlassBreaker,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The form asking why the withheld location must be seen (no record data shown yet).

    The same form for any identifier: whether the child exists is told, and audited, only by
    the view the form posts to.
    """
    return _break_glass_form(request, settings, identifier)


@router.post("/children/{identifier}/break-glass")
def break_glass_submit(
    identifier: IdentifierPath,
    request: Request,
    principal: GlassBreaker,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """The record with the location, for this one answer; audited with the reason."""
    reason = text_field(form, "reason")
    error = BREAK_GLASS_REASON.error(reason)
    if error is not None:
        return _break_glass_form(
            request, settings, identifier, status_code=400, errors={"reason": error}, reason=reason
        )
    view = break_glass_view(session=session, context=context, identifier=identifier, reason=reason)
    return _record(request, session, settings, principal, view, context=context)
