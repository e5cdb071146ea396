"""Shield, shield-access and consent changes by the managers of the child's local authority."""

from __future__ import annotations

from fastapi import APIRouter

from db.child_admin import (
    apply_shield,
    grant_shield_access,
    record_consent,
    record_override,
    remove_shield,
    revoke_shield_access,
)
from searchapi.deps import (
    AuditContextDep,
    ConsentOverrider,
    ConsentRecorder,
    SessionDep,
    ShieldManager,
)
from searchapi.managed_children import involvement_of, managed_child
from searchapi.paths import IdentifierPath, InvolvementPath
from searchapi.record_schemas import (
    ChangeResponse,
    ConsentRequest,
    ReasonRequest,
    ShieldAccessRequest,
)
from searchapi.schemas import ErrorBody

_ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
}
router = APIRouter(
    prefix="/v1/children/{identifier}", tags=["shields and consent"], responses=_ERRORS
)


@router.post("/shield")
def post_shield(
    identifier: IdentifierPath,
    body: ReasonRequest,
    principal: ShieldManager,
    session: SessionDep,
    context: AuditContextDep,
) -> ChangeResponse:
    """Shield the child's location from everyone but its authority's managers and named staff."""
    child = managed_child(session, principal, identifier)
    apply_shield(
        session=session,
        context=context,
        child=child,
        reason=body.reason,
    )
    return ChangeResponse(message="Shielded.", request_id=context.request_id)


@router.delete("/shield")
def delete_shield(
    identifier: IdentifierPath,
    body: ReasonRequest,
    principal: ShieldManager,
    session: SessionDep,
    context: AuditContextDep,
) -> ChangeResponse:
    """Remove the child's shield (kept as history)."""
    child = managed_child(session, principal, identifier)
    remove_shield(
        session=session,
        context=context,
        child=child,
        reason=body.reason,
    )
    return ChangeResponse(message="Shield removed.", request_id=context.request_id)


@router.post("/shield/access")
def post_shield_access(
    identifier: IdentifierPath,
    body: ShieldAccessRequest,
    principal: ShieldManager,
    session: SessionDep,
    context: AuditContextDep,
) -> ChangeResponse:
    """Name a practitioner who may see this shielded child's location."""
    child = managed_child(session, principal, identifier)
    grant_shield_access(
        session=session,
        context=context,
        child=child,
        username=body.username,
        reason=body.reason,
    )
    return ChangeResponse(message=f"Named {body.username}.", request_id=context.request_id)


@router.delete("/shield/access")
def delete_shield_access(
    identifier: IdentifierPath,
    body: ShieldAccessRequest,
    principal: ShieldManager,
    session: SessionDep,
    context: AuditContextDep,
) -> ChangeResponse:
    """End a practitioner's right to see this child's location."""
    child = managed_child(session, principal, identifier)
    revoke_shield_access(
        session=session,
        context=context,
        child=child,
        username=body.username,
        reason=body.reason,
    )
    return ChangeResponse(message=f"{body.username} un-named.", request_id=context.request_id)


@router.post("/involvements/{involvement_id}/consent")
def post_consent(
    identifier: IdentifierPath,
    involvement_id: InvolvementPath,
    body: ConsentRequest,
    principal: ConsentRecorder,
    session: SessionDep,
    context: AuditContextDep,
) -> ChangeResponse:
    """Record consent to show a sensitive service."""
    child = managed_child(session, principal, identifier)
    record_consent(
        session=session,
        context=context,
        child=child,
        involvement=involvement_of(child, involvement_id),
        given_by=body.given_by,
    )
    return ChangeResponse(message="Consent recorded.", request_id=context.request_id)


@router.post("/involvements/{involvement_id}/override")
def post_override(
    identifier: IdentifierPath,
    involvement_id: InvolvementPath,
    body: ReasonRequest,
    principal: ConsentOverrider,
    session: SessionDep,
    context: AuditContextDep,
) -> ChangeResponse:
    """Show a sensitive service without consent, for child protection (audited with the reason)."""
    child = managed_child(session, principal, identifier)
    record_override(
        session=session,
        context=context,
        child=child,
        involvement=involvement_of(child, involvement_id),
        reason=body.reason,
    )
    return ChangeResponse(message="Override recorded.", request_id=context.request_id)
