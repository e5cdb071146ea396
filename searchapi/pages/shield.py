"""The local authority managers' page: a child's shield, and who is named to see past it.

The same service functions as the API's shield routes (`managed_child`, `apply_shield`,
`remove_shield`, `grant_shield_access`, `revoke_shield_access`), so the access decision and
the audit have one implementation.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.child_admin import apply_shield, grant_shield_access, remove_shield, revoke_shield_access
from db.child_records import active_shield, named_practitioners
from db.errors import Conflict, NotFound
from db.models import Child
from searchapi.deps import AuditContextDep, SessionDep, SettingsDep, ShieldManager
from searchapi.managed_children import managed_child
from searchapi.pages.confirmation import Confirmation, confirmation_page
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import ACCESS_REASON, REASON, USERNAME, field, text_field
from searchapi.pages.render import SERVICE_NAME, render
from searchapi.paths import IdentifierPath
from searchapi.shield_list import NameQuery, shield_list

router = APIRouter(include_in_schema=False)

# What a change on this page did, told by the page it leads back to.
CHANGES: Final = {
    "named": "The practitioner is named: they now see where this child lives while it is shielded.",
    "un-named": "The practitioner is no longer named for this child.",
}


def _shield_page(
    request: Request,
    session: Session,
    settings: Settings,
    child: Child,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    changed: str | None = None,
) -> Response:
    return render(
        request,
        "shield.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        child=child,
        shielded=active_shield(child) is not None,
        shield=active_shield(child),
        history=sorted(child.shields, key=lambda item: item.applied_at, reverse=True),
        named=named_practitioners(session=session, child=child),
        errors=errors or {},
        values=values or {},
        changed=CHANGES.get(changed or ""),
        reason_rule=REASON,
        username_rule=USERNAME,
        access_rule=ACCESS_REASON,
    )


@router.get("/shields")
def shield_list_page(
    request: Request,
    principal: ShieldManager,
    session: SessionDep,
    context: AuditContextDep,
    name: NameQuery = None,
) -> Response:
    """The shielded children of your authorities, filtered by name (audited)."""
    listed = shield_list(session=session, context=context, name=name or None)
    return render(request, "shields.html", listed=listed)


@router.get("/children/{identifier}/shield")
def shield_page(
    identifier: IdentifierPath,
    request: Request,
    principal: ShieldManager,
    session: SessionDep,
    settings: SettingsDep,
    changed: str | None = None,
) -> Response:
    """The child's shield, the practitioners named for it, and the forms to change them."""
    child = managed_child(session, principal, identifier)
    return _shield_page(request, session, settings, child, changed=changed)


@router.post("/children/{identifier}/shield")
def shield_submit(
    identifier: IdentifierPath,
    request: Request,
    principal: ShieldManager,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Apply or remove the shield; the index follows through the outbox within seconds."""
    child = managed_child(session, principal, identifier)
    shielded = active_shield(child) is not None
    reason = text_field(form, "reason")
    errors: dict[str, str] = {}
    error = REASON.error(reason)
    if error is not None:
        errors["reason"] = error
    elif shielded and field(form, "confirm") != "yes":
        # Removal is asked again, on a page of its own: what it will show, and to whom.
        back = f"/children/{child.identifier}/shield"
        return confirmation_page(
            request,
            settings,
            Confirmation(
                question="Are you sure you want to remove the shield?",
                caption=f"{child.given_names} {child.family_name}, "
                f"{SERVICE_NAME} ID {child.identifier}",
                warning="Within seconds every practitioner will see where this child lives, "
                "goes to school and sees a GP, and can find the child by address.",
                summary=[("Your reason", reason)],
                action=back,
                hidden={"reason": reason},
                button="Yes, remove the shield",
                cancel_href=back,
                cancel_label="No, keep the shield",
                back_label="Back to the shield",
            ),
        )
    else:
        change = remove_shield if shielded else apply_shield
        try:
            change(
                session=session,
                context=context,
                child=child,
                reason=reason,
            )
        except (Conflict, NotFound) as exc:
            errors["reason"] = exc.message
        else:
            done = "shield-removed" if shielded else "shielded"
            return RedirectResponse(f"/children/{child.identifier}?changed={done}", 303)
    return _shield_page(
        request, session, settings, child, status_code=400, errors=errors, values={"reason": reason}
    )


@router.post("/children/{identifier}/shield/access")
def name_submit(
    identifier: IdentifierPath,
    request: Request,
    principal: ShieldManager,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Name a practitioner who may see this shielded child's location (audited)."""
    child = managed_child(session, principal, identifier)
    values = {name: text_field(form, name) for name in ("name_username", "name_reason")}
    errors = {
        name: error
        for name, error in (
            ("name_username", USERNAME.error(values["name_username"])),
            ("name_reason", ACCESS_REASON.error(values["name_reason"])),
        )
        if error is not None
    }
    if not errors:
        try:
            grant_shield_access(
                session=session,
                context=context,
                child=child,
                username=values["name_username"],
                reason=values["name_reason"],
            )
        except (Conflict, NotFound) as exc:
            errors["name_username"] = exc.message
        else:
            return RedirectResponse(f"/children/{child.identifier}/shield?changed=named", 303)
    return _shield_page(
        request, session, settings, child, status_code=400, errors=errors, values=values
    )


@router.post("/children/{identifier}/shield/access/remove")
def un_name_submit(
    identifier: IdentifierPath,
    request: Request,
    principal: ShieldManager,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """End a named practitioner's right to see this child's location (audited)."""
    child = managed_child(session, principal, identifier)
    values = {name: text_field(form, name) for name in ("remove_username", "remove_reason")}
    errors: dict[str, str] = {}
    if not values["remove_username"]:
        errors["remove_username"] = "Select the practitioner to remove"
    error = ACCESS_REASON.error(values["remove_reason"])
    if error is not None:
        errors["remove_reason"] = error
    if not errors:
        try:
            revoke_shield_access(
                session=session,
                context=context,
                child=child,
                username=values["remove_username"],
                reason=values["remove_reason"],
            )
        except NotFound as exc:
            errors["remove_username"] = exc.message
        else:
            return RedirectResponse(f"/children/{child.identifier}/shield?changed=un-named", 303)
    return _shield_page(
        request, session, settings, child, status_code=400, errors=errors, values=values
    )
