"""Corrections with history: a manager corrects a field with a reason, every earlier value is
kept, and a newer feed record's change to a corrected field waits for a manager's decision.

A correction is written as the field's source (`child_field_source`, source `correction`, as of
the day it was made), so that feeds/survivorship.py ranks it above the feeds: an older or
same-dated record never replaces it, a newer one that changes it is queued here
(`queue_confirmation`) and the child's authority team is told (the notification outbox). The
caller has decided that the actor may correct the child (`searchapi.access`); the index follows
through the outbox triggers on `child`, `child_correction` and `correction_confirmation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, record_audit
from db.errors import Conflict, InvalidInput, NotFound
from db.models import Child, ChildCorrection, ChildFieldSource, CorrectionConfirmation
from db.notifications import NoticeKind, write_notices

# The source a correction is recorded as in `child_field_source` (feeds/survivorship.py).
CORRECTION_SOURCE: Final = "correction"
SAME_VALUE: Final = "The record already holds this value: nothing to correct."


class CorrectedField(StrEnum):
    """The fields a manager corrects (the CHECKs of migration 0020 list the same)."""

    NAME = "name"
    DATE_OF_BIRTH = "date_of_birth"
    ADDRESS = "address"


class Decision(StrEnum):
    """A manager's decision on a feed's change to a corrected field."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"


def current_value(child: Child, field: CorrectedField) -> dict[str, Any]:
    """The child's value of `field`, as history and the queue store it (dates as ISO text)."""
    if field is CorrectedField.NAME:
        return {"given_names": child.given_names, "family_name": child.family_name}
    if field is CorrectedField.DATE_OF_BIRTH:
        return {"date_of_birth": child.date_of_birth.isoformat()}
    return {"lines": list(child.address_lines), "town": child.town, "postcode": child.postcode}


def _set_value(child: Child, field: CorrectedField, value: dict[str, Any]) -> None:
    if field is CorrectedField.NAME:
        child.given_names, child.family_name = value["given_names"], value["family_name"]
    elif field is CorrectedField.DATE_OF_BIRTH:
        child.date_of_birth = date.fromisoformat(value["date_of_birth"])
    else:
        child.address_lines = list(value["lines"])
        child.town, child.postcode = value["town"], value["postcode"]


def _set_source(
    session: Session, child: Child, field: CorrectedField, *, source: str, record: str, day: date
) -> None:
    values = {"source": source, "record_id": record, "as_of": day, "recorded_at": func.now()}
    session.execute(
        insert(ChildFieldSource)
        .values(child_id=child.id, field=field.value, **values)
        .on_conflict_do_update(index_elements=["child_id", "field"], set_=values)
    )


def _close_open(
    session: Session, child: Child, field: CorrectionConfirmation | CorrectedField, *, by: str
) -> None:
    """Mark the changes still waiting on this child's field superseded (a newer one or a new
    correction answers them)."""
    statement = update(CorrectionConfirmation).where(
        CorrectionConfirmation.child_id == child.id, CorrectionConfirmation.decided_at.is_(None)
    )
    if isinstance(field, CorrectionConfirmation):
        statement = statement.where(
            CorrectionConfirmation.field == field.field, CorrectionConfirmation.id != field.id
        )
    else:
        statement = statement.where(CorrectionConfirmation.field == field.value)
    session.execute(
        statement.values(
            decided_at=func.clock_timestamp(), decision="superseded", decided_by=by
        ).execution_options(synchronize_session=False)
    )


def _audit(
    session: Session,
    event: AuditEventType,
    *,
    context: AuditContext,
    child: Child,
    details: dict[str, object],
) -> None:
    record_audit(
        session=session,
        context=context,
        event=event,
        subject=child.identifier,
        authorities=[child.local_authority_code] if child.local_authority_code else [],
        details={"identifier": child.identifier, **details},
    )


def correct_field(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    field: CorrectedField,
    value: dict[str, Any],
    reason: str,
    today: date | None = None,
) -> ChildCorrection:
    """Correct `field` of `child` with `reason`: the earlier value kept, the correction made the
    field's source as of `today` (the database's date unless given), audited."""
    previous = current_value(child, field)
    if previous == value:
        raise InvalidInput(SAME_VALUE, field="body.value")
    actor = context.actor
    _set_value(child, field, value)
    correction = ChildCorrection(
        child_id=child.id,
        field=field.value,
        previous=previous,
        value=value,
        reason=reason,
        corrected_by=actor.username,
        organisation=actor.organisation,
    )
    session.add(correction)
    session.flush()
    day = today or session.scalar(select(func.current_date()))
    assert day is not None
    _set_source(
        session,
        child,
        field,
        source=CORRECTION_SOURCE,
        record=f"correction/{correction.id}",
        day=day,
    )
    _close_open(session, child, field, by=actor.username)
    _audit(
        session,
        AuditEventType.CHILD_CORRECTED,
        context=context,
        child=child,
        details={"field": field.value, "correction_id": correction.id, "reason": reason},
    )
    return correction


def correction_history(*, session: Session, child: Child) -> list[ChildCorrection]:
    """Every correction of the child, and every feed change confirmed over one, newest first."""
    statement = (
        select(ChildCorrection)
        .where(ChildCorrection.child_id == child.id)
        .order_by(ChildCorrection.corrected_at.desc(), ChildCorrection.id.desc())
    )
    return list(session.scalars(statement))


def audit_history_read(
    *, session: Session, context: AuditContext, child: Child, shown: int
) -> None:
    """The history as read through the API (the record page's is part of its view)."""
    _audit(
        session,
        AuditEventType.CORRECTIONS_READ,
        context=context,
        child=child,
        details={"result_count": shown},
    )


def queue_confirmation(
    *,
    session: Session,
    child: Child,
    field: CorrectedField,
    value: dict[str, Any],
    source: str,
    record_id: str,
    as_of: date,
) -> CorrectionConfirmation | None:
    """Queue a newer feed record's change to a corrected field for the child's managers and tell
    their team; None when it changes nothing or this record was queued already."""
    if value == current_value(child, field):
        return None
    queued = session.scalar(
        insert(CorrectionConfirmation)
        .values(
            child_id=child.id,
            field=field.value,
            value=value,
            source=source,
            record_id=record_id,
            as_of=as_of,
            local_authority_code=child.local_authority_code,
        )
        .on_conflict_do_nothing(constraint="uq_correction_confirmation_record")
        .returning(CorrectionConfirmation)
    )
    if queued is None:
        return None
    _close_open(session, child, queued, by=f"feed:{source}")
    if child.local_authority_code:
        # No values: the notice says which field and where to decide, the record says the rest
        # to whoever may see it; no webhook (a CMS does not decide corrections).
        write_notices(
            session=session,
            kind=NoticeKind.CORRECTION_CHALLENGED,
            child_id=child.id,
            details={"field": field.value, "confirmation_id": queued.id, "source": source},
            team_authorities=[child.local_authority_code],
            subscribers=False,
        )
    return queued


@dataclass(frozen=True)
class Waiting:
    """One feed change waiting over a correction, and its child."""

    confirmation: CorrectionConfirmation
    child: Child
    current: dict[str, Any]


def waiting_confirmations(*, session: Session, authorities: frozenset[str]) -> list[Waiting]:
    """The changes waiting for the managers of `authorities`, oldest first."""
    if not authorities:
        return []
    statement = (
        select(CorrectionConfirmation, Child)
        .join(Child, Child.id == CorrectionConfirmation.child_id)
        .where(
            CorrectionConfirmation.decided_at.is_(None),
            # The child's authority now (a child that moved is its new authority's to decide).
            Child.local_authority_code.in_(sorted(authorities)),
        )
        .order_by(CorrectionConfirmation.created_at, CorrectionConfirmation.id)
    )
    return [
        Waiting(
            confirmation=row[0],
            child=row[1],
            current=current_value(row[1], CorrectedField(row[0].field)),
        )
        for row in session.execute(statement)
    ]


def get_confirmation(*, session: Session, confirmation_id: int) -> CorrectionConfirmation:
    """One queued change (404 when there is none)."""
    found = session.get(CorrectionConfirmation, confirmation_id, with_for_update=True)
    if found is None:
        raise NotFound("There is no such change waiting.")
    return found


def decide_confirmation(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    confirmation: CorrectionConfirmation,
    decision: Decision,
) -> None:
    """Confirm (the feed's value applied, the feed its source again) or reject (the correction
    stands) a waiting change of `child`; audited (409 when decided already)."""
    if confirmation.decided_at is not None or confirmation.child_id != child.id:
        raise Conflict(f"This change was {confirmation.decision or 'decided'} already.")
    actor = context.actor
    field = CorrectedField(confirmation.field)
    confirmation.decision = decision.value
    confirmation.decided_by = actor.username
    confirmation.decided_at = session.scalar(select(func.clock_timestamp()))
    details: dict[str, object] = {
        "field": field.value,
        "confirmation_id": confirmation.id,
        "decision": decision.value,
    }
    if decision is Decision.CONFIRMED:
        previous = current_value(child, field)
        _set_value(child, field, confirmation.value)
        history = ChildCorrection(
            child_id=child.id,
            field=field.value,
            kind="feed_confirmed",
            previous=previous,
            value=confirmation.value,
            reason=f"Confirmed the {confirmation.source} record of "
            f"{confirmation.as_of.isoformat()} over the correction.",
            corrected_by=actor.username,
            organisation=actor.organisation,
            source=confirmation.source,
            record_id=confirmation.record_id,
        )
        session.add(history)
        session.flush()
        _set_source(
            session,
            child,
            field,
            source=confirmation.source,
            record=confirmation.record_id,
            day=confirmation.as_of,
        )
        details["correction_id"] = history.id
    session.flush()
    _audit(
        session, AuditEventType.CORRECTION_DECIDED, context=context, child=child, details=details
    )
