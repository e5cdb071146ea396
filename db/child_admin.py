"""Shields, shield access and consent: each change and its audit row in one transaction.

The caller has decided that the actor may make the change (`searchapi.access`); the index
follows through the outbox triggers on `shield` and `involvement`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.access.users import get_user
from db.audit import AuditContext, AuditEventType, record_audit
from db.child_records import active_shield
from db.errors import Conflict, NotFound
from db.models import Child, Involvement, Shield, ShieldAccess


def audit_child_change(
    session: Session,
    event: AuditEventType,
    *,
    context: AuditContext,
    child: Child,
    details: dict[str, object],
) -> None:
    record_audit(
        session=session,
        event=event,
        context=context,
        subject=child.identifier,
        authorities=[child.local_authority_code] if child.local_authority_code else [],
        details={"identifier": child.identifier, **details},
    )


def apply_shield(*, session: Session, context: AuditContext, child: Child, reason: str) -> None:
    """Shield a child's location (409 when already shielded)."""
    if active_shield(child) is not None:
        raise Conflict("This child is already shielded.")
    session.add(Shield(child_id=child.id, applied_by=context.actor.username, reason=reason))
    session.flush()
    audit_child_change(
        session,
        AuditEventType.SHIELD_APPLIED,
        context=context,
        child=child,
        details={"reason": reason},
    )


def remove_shield(*, session: Session, context: AuditContext, child: Child, reason: str) -> None:
    """Record the end of a child's shield (404 when there is none)."""
    shield = active_shield(child)
    if shield is None:
        raise NotFound("This child is not shielded.")
    shield.removed_by = context.actor.username
    shield.removed_at = datetime.now(UTC)
    shield.removal_reason = reason
    session.flush()
    audit_child_change(
        session,
        AuditEventType.SHIELD_REMOVED,
        context=context,
        child=child,
        details={"reason": reason},
    )


def _active_grant(session: Session, child: Child, username: str) -> ShieldAccess | None:
    statement = select(ShieldAccess).where(
        ShieldAccess.child_id == child.id,
        ShieldAccess.username == username,
        ShieldAccess.revoked_at.is_(None),
    )
    return session.scalars(statement).one_or_none()


def grant_shield_access(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    username: str,
    reason: str,
) -> None:
    """Name a user who may see this shielded child's location."""
    user = get_user(session=session, username=username)
    if _active_grant(session, child, user.username) is not None:
        raise Conflict(f"{user.username} is already named for this child.")
    session.add(
        ShieldAccess(
            child_id=child.id,
            username=user.username,
            granted_by=context.actor.username,
            reason=reason,
        )
    )
    session.flush()
    audit_child_change(
        session,
        AuditEventType.SHIELD_ACCESS_GRANTED,
        context=context,
        child=child,
        details={"username": user.username, "reason": reason},
    )


def revoke_shield_access(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    username: str,
    reason: str,
) -> None:
    """End a user's right to see this child's location."""
    grant = _active_grant(session, child, username.strip().lower())
    if grant is None:
        raise NotFound(f"{username} is not named for this child.")
    grant.revoked_by, grant.revoked_at, grant.revoke_reason = (
        context.actor.username,
        datetime.now(UTC),
        reason,
    )
    session.flush()
    audit_child_change(
        session,
        AuditEventType.SHIELD_ACCESS_REVOKED,
        context=context,
        child=child,
        details={"username": grant.username, "reason": reason},
    )


def record_consent(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    involvement: Involvement,
    given_by: str,
) -> None:
    """Record consent to show a sensitive service."""
    involvement.consent_given_by = given_by
    involvement.consent_recorded_by = context.actor.username
    involvement.consent_recorded_at = datetime.now(UTC)
    session.flush()
    audit_child_change(
        session,
        AuditEventType.CONSENT_RECORDED,
        context=context,
        child=child,
        details={"involvement_id": involvement.id, "given_by": given_by},
    )


def record_override(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    involvement: Involvement,
    reason: str,
) -> None:
    """Record a child-protection override that shows a sensitive service without consent."""
    involvement.override_by = context.actor.username
    involvement.override_reason = reason
    involvement.override_at = datetime.now(UTC)
    session.flush()
    audit_child_change(
        session,
        AuditEventType.CONSENT_OVERRIDE,
        context=context,
        child=child,
        details={"involvement_id": involvement.id, "reason": reason},
    )
