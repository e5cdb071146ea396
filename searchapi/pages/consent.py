"""The managers' page of a sensitive service: record consent, or a child-protection override.

The same service functions as the API's consent routes (`managed_child`, `record_consent`,
`record_override`), so the access decision and the audit have one implementation.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Principal
from db.child_admin import record_consent, record_override
from db.errors import NotFound
from db.models import Child, Involvement
from searchapi.access import Permission, permissions_of
from searchapi.deps import (
    AuditContextDep,
    ConsentOverrider,
    ConsentRecorder,
    SessionDep,
    SettingsDep,
)
from searchapi.managed_children import involvement_of, managed_child
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import GIVEN_BY, REASON, text_field
from searchapi.pages.render import render
from searchapi.paths import IdentifierPath, InvolvementPath
from searchapi.record_view import is_sensitive

router = APIRouter(include_in_schema=False)

_PATH = "/children/{identifier}/involvements/{involvement_id}"


def _sensitive_involvement(
    session: Session, principal: Principal, identifier: str, involvement_id: int
) -> tuple[Child, Involvement]:
    child = managed_child(session, principal, identifier)
    item = involvement_of(child, involvement_id)
    if not is_sensitive(item):
        raise NotFound("This service is not sensitive: practitioners see it without consent.")
    return child, item


def _consent_page(
    request: Request,
    settings: Settings,
    principal: Principal,
    child: Child,
    item: Involvement,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "consent.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        child=child,
        item=item,
        may_override=Permission.OVERRIDE_CONSENT in permissions_of(principal),
        errors=errors or {},
        values=values or {},
        given_by_rule=GIVEN_BY,
        reason_rule=REASON,
    )


@router.get(_PATH + "/consent")
def consent_page(
    identifier: IdentifierPath,
    involvement_id: InvolvementPath,
    request: Request,
    principal: ConsentRecorder,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The service, whether it is shown, and the forms to record consent or an override."""
    child, item = _sensitive_involvement(session, principal, identifier, involvement_id)
    return _consent_page(request, settings, principal, child, item)


@router.post(_PATH + "/consent")
def consent_submit(
    identifier: IdentifierPath,
    involvement_id: InvolvementPath,
    request: Request,
    principal: ConsentRecorder,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Record who consented; practitioners then see the service (audited)."""
    child, item = _sensitive_involvement(session, principal, identifier, involvement_id)
    given_by = text_field(form, "given_by")
    error = GIVEN_BY.error(given_by)
    if error is not None:
        return _consent_page(
            request,
            settings,
            principal,
            child,
            item,
            status_code=400,
            errors={"given_by": error},
            values={"given_by": given_by},
        )
    record_consent(
        session=session,
        context=context,
        child=child,
        involvement=item,
        given_by=given_by,
    )
    return RedirectResponse(f"/children/{child.identifier}?changed=consent", status_code=303)


@router.post(_PATH + "/override")
def override_submit(
    identifier: IdentifierPath,
    involvement_id: InvolvementPath,
    request: Request,
    principal: ConsentOverrider,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Show the service without consent, for child protection (audited with the reason)."""
    child, item = _sensitive_involvement(session, principal, identifier, involvement_id)
    reason = text_field(form, "reason")
    error = REASON.error(reason)
    if error is not None:
        return _consent_page(
            request,
            settings,
            principal,
            child,
            item,
            status_code=400,
            errors={"reason": error},
            values={"reason": reason},
        )
    record_override(
        session=session,
        context=context,
        child=child,
        involvement=item,
        reason=reason,
    )
    return RedirectResponse(f"/children/{child.identifier}?changed=override", status_code=303)
