"""Corrections as the API and the pages make them: the child found and the manager's right
checked (`managed_child`), then db/corrections.py; the same functions behind both."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from db.access import Principal
from db.audit import AuditContext
from db.corrections import (
    CorrectedField,
    Decision,
    Waiting,
    audit_history_read,
    correct_field,
    correction_history,
    decide_confirmation,
    get_confirmation,
    waiting_confirmations,
)
from db.errors import NotFound
from db.models import Child, ChildCorrection
from searchapi.access import child_access
from searchapi.correction_schemas import CorrectionRequest, CorrectionView, WaitingView
from searchapi.managed_children import managed_child


def correction_view(row: ChildCorrection) -> CorrectionView:
    """One history entry as the API and the page show it."""
    return CorrectionView(
        id=row.id,
        field=row.field,
        kind=row.kind,
        previous=row.previous,
        value=row.value,
        reason=row.reason,
        corrected_by=row.corrected_by,
        organisation=row.organisation,
        corrected_at=row.corrected_at,
        source=row.source,
    )


def value_text(field: str, value: dict[str, Any]) -> str:
    """A field's value as people read it (the history's "was" and "now")."""
    if field == CorrectedField.DATE_OF_BIRTH.value:
        return date.fromisoformat(value["date_of_birth"]).strftime("%-d %B %Y")
    if field == CorrectedField.ADDRESS.value:
        return ", ".join(
            [*value.get("lines", []), value.get("town", ""), value.get("postcode", "")]
        )
    return f"{value.get('given_names', '')} {value.get('family_name', '')}"


def correct(
    *, session: Session, context: AuditContext, identifier: str, body: CorrectionRequest
) -> tuple[Child, ChildCorrection]:
    """Correct a child of the actor's authority (404, 403 otherwise; 422 for the same value)."""
    child = managed_child(session, context.actor, identifier)
    # Locked and read afresh: a feed's or a CMS's change made meanwhile is the value corrected.
    session.refresh(child, with_for_update=True)
    correction = correct_field(
        session=session,
        context=context,
        child=child,
        field=CorrectedField(body.field),
        value=body.value(),
        reason=body.reason,
    )
    session.flush()
    session.refresh(child)
    return child, correction


def history(
    *, session: Session, context: AuditContext, identifier: str, audited: bool = True
) -> list[CorrectionView]:
    """A child's history for a manager of its authority, newest first (audited when read
    alone; the record page's is part of its audited view)."""
    child = managed_child(session, context.actor, identifier)
    rows = [correction_view(row) for row in correction_history(session=session, child=child)]
    if audited:
        audit_history_read(session=session, context=context, child=child, shown=len(rows))
    return rows


def may_correct(principal: Principal, authority: str | None) -> bool:
    """Whether the record page offers corrections and the history (the routes check again)."""
    return child_access(principal, named_children=principal.named_children).may_administer(
        authority
    )


def _waiting_view(item: Waiting) -> WaitingView:
    confirmation, child = item.confirmation, item.child
    return WaitingView(
        id=confirmation.id,
        identifier=child.identifier,
        child_name=f"{child.given_names} {child.family_name}",
        field=confirmation.field,
        current=item.current,
        proposed=confirmation.value,
        source=confirmation.source,
        record_id=confirmation.record_id,
        as_of=confirmation.as_of,
        queued_at=confirmation.created_at,
    )


def waiting_for(*, session: Session, principal: Principal) -> list[WaitingView]:
    """The feeds' changes to corrected fields waiting for the principal's authorities."""
    access = child_access(principal, named_children=principal.named_children)
    rows = waiting_confirmations(session=session, authorities=access.managed_authorities)
    return [_waiting_view(item) for item in rows]


def decide(
    *, session: Session, context: AuditContext, confirmation_id: int, decision: str
) -> Child:
    """Confirm or reject a waiting change of a child of the actor's authority."""
    confirmation = get_confirmation(session=session, confirmation_id=confirmation_id)
    owner = session.get(Child, confirmation.child_id)
    if owner is None:
        raise NotFound("There is no such change waiting.")
    child = managed_child(session, context.actor, owner.identifier)
    session.refresh(child, with_for_update=True)
    decide_confirmation(
        session=session,
        context=context,
        child=child,
        confirmation=confirmation,
        decision=Decision(decision),
    )
    return child
