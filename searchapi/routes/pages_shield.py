"""The local authority managers' page: apply or remove a child's shield, with a reason.

The same service functions as the API's shield routes (`managed_child`, `apply_shield`,
`remove_shield`), so the access decision and the audit have one implementation.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from db.access import Conflict, NotFound
from db.child_admin import apply_shield, remove_shield
from db.child_records import active_shield
from searchapi.deps import RequestContextDep, SessionDep, SettingsDep, ShieldManager
from searchapi.page_kit import PageForm, field, page_csrf
from searchapi.page_render import render
from searchapi.routes.children import managed_child
from searchapi.routes.search import IDENTIFIER_PATTERN

router = APIRouter(include_in_schema=False)

IdentifierPath = Annotated[str, Path(pattern=IDENTIFIER_PATTERN)]
REASON_MIN: Final = 5
REASON_MAX: Final = 200


@router.get("/children/{identifier}/shield")
def shield_page(
    identifier: IdentifierPath,
    request: Request,
    principal: ShieldManager,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The child's shield and the form to apply or remove it."""
    child = managed_child(session, principal, identifier)
    return render(
        request,
        "shield.html",
        csrf=page_csrf(request, settings),
        child=child,
        shielded=active_shield(child) is not None,
        errors={},
        reason="",
    )


@router.post("/children/{identifier}/shield")
def shield_submit(
    identifier: IdentifierPath,
    request: Request,
    principal: ShieldManager,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: RequestContextDep,
) -> Response:
    """Apply or remove the shield; the index follows through the outbox within seconds."""
    child = managed_child(session, principal, identifier)
    shielded = active_shield(child) is not None
    reason = field(form, "reason")
    errors: dict[str, str] = {}
    if len(reason) < REASON_MIN:
        errors["reason"] = "Enter the reason, in at least 5 characters"
    elif len(reason) > REASON_MAX:
        errors["reason"] = "The reason must be 200 characters or fewer"
    if not errors:
        change = remove_shield if shielded else apply_shield
        try:
            change(
                session=session,
                actor=principal,
                request_id=context.request_id,
                child=child,
                reason=reason,
            )
        except (Conflict, NotFound) as exc:
            errors["reason"] = exc.message
        else:
            done = "shield-removed" if shielded else "shielded"
            return RedirectResponse(f"/children/{child.identifier}?changed={done}", 303)
    return render(
        request,
        "shield.html",
        status_code=400,
        csrf=page_csrf(request, settings),
        child=child,
        shielded=shielded,
        errors=errors,
        reason=reason,
    )
