"""Practitioners' requests to a child's authority team, and the team's decisions.

- A **shield request**: a practitioner asks for a child to be shielded; a manager of the child's
  authority applies the shield (`db.child_admin.apply_shield`, audited as any shield) or
  declines, with a reason.
- A **contact request**: a practitioner asks the team to put them in touch with a sensitive
  service, or with those working with a shielded child, saying why and how to reach them; a
  manager records it brokered or declined, with a note. Its age is counted in working days
  against the response target (`Settings.brokering_response_working_days`).

The authority is the child's at the request, so a request goes to the team that was asked. The
caller has decided that the actor may make or decide the request (`searchapi.access`); each
step is audited in the same transaction.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.audit import AuditContext, AuditEventType
from db.audit.working_days import is_overdue
from db.child_admin import apply_shield, audit_child_change
from db.child_records import active_shield
from db.errors import Conflict, InvalidInput
from db.models import Child, ContactRequest, Involvement, ShieldRequest

NO_TEAM = (
    "This child has no local authority on record, so no team can take a request: call the "
    "authority where the child lives."
)


class ShieldOutcome(StrEnum):
    APPLIED = "applied"
    DECLINED = "declined"


class ContactOutcome(StrEnum):
    BROKERED = "brokered"
    DECLINED = "declined"


Request = TypeVar("Request", ShieldRequest, ContactRequest)


def _open_of(session: Session, model: type[Request], child: Child, username: str) -> bool:
    statement = select(model.id).where(
        model.child_id == child.id, model.requested_by == username, model.outcome.is_(None)
    )
    return session.scalar(statement) is not None


def request_shield(
    *, session: Session, context: AuditContext, child: Child, reason: str
) -> ShieldRequest:
    """Ask the child's authority team to shield it (409 if shielded, or asked already)."""
    if child.local_authority_code is None:
        raise InvalidInput(NO_TEAM)
    if active_shield(child) is not None:
        raise Conflict("This child is already shielded.")
    actor = context.actor
    if _open_of(session, ShieldRequest, child, actor.username):
        raise Conflict("You have asked for this child to be shielded already: the team decides.")
    made = ShieldRequest(
        child_id=child.id,
        local_authority_code=child.local_authority_code,
        requested_by_user_id=actor.user_id,
        requested_by=actor.username,
        reason=reason,
    )
    session.add(made)
    session.flush()
    audit_child_change(
        session,
        AuditEventType.SHIELD_REQUESTED,
        context=context,
        child=child,
        details={"shield_request_id": made.id, "reason": reason},
    )
    return made


def request_contact(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    involvement: Involvement | None,
    reason: str,
    contact: str,
) -> ContactRequest:
    """Ask the child's authority team to put the actor in touch (409 if asked already)."""
    if child.local_authority_code is None:
        raise InvalidInput(NO_TEAM)
    actor = context.actor
    if _open_of(session, ContactRequest, child, actor.username):
        raise Conflict("You have asked the team about this child already: they will be in touch.")
    made = ContactRequest(
        child_id=child.id,
        local_authority_code=child.local_authority_code,
        requested_by_user_id=actor.user_id,
        requested_by=actor.username,
        reason=reason,
        involvement_id=involvement.id if involvement is not None else None,
        contact=contact,
    )
    session.add(made)
    session.flush()
    audit_child_change(
        session,
        AuditEventType.CONTACT_REQUESTED,
        context=context,
        child=child,
        details={
            "contact_request_id": made.id,
            "involvement_id": made.involvement_id,
            "reason": reason,
        },
    )
    return made


def _decided(request: ShieldRequest | ContactRequest, context: AuditContext, reason: str) -> None:
    if request.outcome is not None:
        raise Conflict(f"This request was already decided by {request.decided_by}.")
    request.decided_by = context.actor.username
    request.decided_at = max(datetime.now(UTC), request.requested_at)
    request.decision_reason = reason


def decide_shield_request(
    *,
    session: Session,
    context: AuditContext,
    request: ShieldRequest,
    outcome: ShieldOutcome,
    reason: str,
) -> None:
    """Apply the shield asked for, or decline, with a reason (409 if decided already)."""
    _decided(request, context, reason)
    request.outcome = outcome.value
    child = request.child
    if outcome is ShieldOutcome.APPLIED and active_shield(child) is None:
        apply_shield(session=session, context=context, child=child, reason=reason)
    session.flush()
    audit_child_change(
        session,
        AuditEventType.SHIELD_REQUEST_DECIDED,
        context=context,
        child=child,
        details={
            "shield_request_id": request.id,
            "outcome": outcome.value,
            "reason": reason,
            "username": request.requested_by,
        },
    )


def decide_contact_request(
    *,
    session: Session,
    context: AuditContext,
    request: ContactRequest,
    outcome: ContactOutcome,
    reason: str,
) -> None:
    """Record the contact brokered, or declined with a reason (409 if decided already)."""
    _decided(request, context, reason)
    request.outcome = outcome.value
    session.flush()
    audit_child_change(
        session,
        AuditEventType.CONTACT_BROKERED,
        context=context,
        child=request.child,
        details={
            "contact_request_id": request.id,
            "involvement_id": request.involvement_id,
            "outcome": outcome.value,
            "reason": reason,
            "username": request.requested_by,
        },
    )


def open_requests(
    *, session: Session, model: type[Request], authorities: Collection[str]
) -> list[Request]:
    """The open requests to `authorities`' teams, oldest first."""
    if not authorities:
        return []
    statement = (
        select(model)
        .where(model.outcome.is_(None), model.local_authority_code.in_(sorted(authorities)))
        .order_by(model.requested_at, model.id)
        .options(selectinload(model.child))
    )
    return list(session.scalars(statement))


def requests_of(
    *, session: Session, model: type[Request], username: str, limit: int = 100
) -> list[Request]:
    """A requester's own requests, newest first."""
    statement = (
        select(model)
        .where(model.requested_by == username)
        .order_by(model.requested_at.desc(), model.id.desc())
        .limit(limit)
        .options(selectinload(model.child))
    )
    return list(session.scalars(statement))


def get_request(
    *, session: Session, model: type[Request], request_id: int, lock: bool = False
) -> Request | None:
    statement = select(model).where(model.id == request_id)
    if lock:
        statement = statement.with_for_update(of=model)
    return session.scalars(statement).one_or_none()


def month_bounds(month: str | None, now: datetime) -> tuple[str, datetime, datetime]:
    """The month named (or this one) as its first moment and the next month's, in UTC."""
    year, number = (int(part) for part in month.split("-")) if month else (now.year, now.month)
    since = datetime(year, number, 1, tzinfo=UTC)
    until = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return f"{year:04d}-{number:02d}", since, until


@dataclass(frozen=True)
class BrokeringReport:
    """Contact requests made in a period, and those still open past the target now."""

    since: datetime
    until: datetime
    requests: int
    brokered: int
    declined: int
    open: int
    overdue: int
    median_hours_to_broker: float | None


def brokering_report(
    *,
    session: Session,
    since: datetime,
    until: datetime,
    authorities: Collection[str] | None,
    target_days: int,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> BrokeringReport:
    """The requests made in [since, until) to `authorities` (None: every authority)."""
    statement = select(ContactRequest).where(
        ContactRequest.requested_at >= since, ContactRequest.requested_at < until
    )
    if authorities is not None:
        statement = statement.where(ContactRequest.local_authority_code.in_(sorted(authorities)))
    found: Sequence[ContactRequest] = list(session.scalars(statement))
    as_of = now or datetime.now(UTC)
    waits = [
        (r.decided_at - r.requested_at) / timedelta(hours=1)
        for r in found
        if r.outcome == ContactOutcome.BROKERED.value and r.decided_at is not None
    ]
    still_open = [r for r in found if r.outcome is None]
    return BrokeringReport(
        since=since,
        until=until,
        requests=len(found),
        brokered=len(waits),
        declined=sum(r.outcome == ContactOutcome.DECLINED.value for r in found),
        open=len(still_open),
        overdue=sum(
            is_overdue(r.requested_at, now=as_of, days=target_days, zone=zone) for r in still_open
        ),
        median_hours_to_broker=round(statistics.median(waits), 1) if waits else None,
    )
