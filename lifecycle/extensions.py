"""Recording an extension: the young person's consent, a listed reason and a review date.

The caller has decided that the actor manages the child's authority (`searchapi.access`, or the
operator at the command line); this checks the rules and writes the row with its audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, record_audit
from db.errors import Conflict, InvalidInput
from db.models import Child, ChildExtension
from lifecycle.rules import (
    EXTENSION_REASON_LABELS,
    ExtensionReason,
    extension_limit,
)


@dataclass(frozen=True, slots=True)
class ExtensionState:
    """The extension in force on a day: why, until when (the review date or the day before the
    25th birthday, whichever is first) and who recorded the consent."""

    reason: ExtensionReason
    review_on: date
    ends_after: date
    consent_given_on: date
    consent_recorded_by: str


def extension_in_force(*, session: Session, child: Child, today: date) -> ExtensionState | None:
    """The extension that keeps `child` on past 18 on `today`, if any."""
    last_day = extension_limit(child.date_of_birth) - timedelta(days=1)
    if today > last_day:
        return None
    row = session.scalars(
        select(ChildExtension)
        .where(ChildExtension.child_id == child.id, ChildExtension.review_on >= today)
        .order_by(ChildExtension.review_on.desc(), ChildExtension.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return ExtensionState(
        reason=ExtensionReason(row.reason),
        review_on=row.review_on,
        ends_after=min(row.review_on, last_day),
        consent_given_on=row.consent_given_on,
        consent_recorded_by=row.consent_recorded_by,
    )


def _reason(value: str) -> ExtensionReason:
    try:
        return ExtensionReason(value)
    except ValueError:
        listed = ", ".join(reason.value for reason in ExtensionReason)
        raise InvalidInput(
            f"Choose the reason from the list ({listed}).", field="body.reason"
        ) from None


def record_extension(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    reason: str,
    consent_given_on: date | None,
    review_on: date,
    today: date,
) -> ExtensionState:
    """Record (or renew) an extension of `child` past 18; 422 without consent or out of range,
    409 when the child is not active."""
    chosen = _reason(reason)
    if consent_given_on is None:
        raise InvalidInput(
            "An extension needs the young person's explicit consent: give the date they gave it.",
            field="body.consent_given_on",
        )
    if consent_given_on > today:
        raise InvalidInput(
            "The date consent was given cannot be in the future.", field="body.consent_given_on"
        )
    # Locked and read afresh: the day's run may have archived the child since it was read (the
    # run skips a locked child, so once locked it stays active until this commits).
    session.refresh(child, with_for_update=True)
    if child.status != "active":
        raise Conflict("Only an active record can be extended.")
    last_day = extension_limit(child.date_of_birth) - timedelta(days=1)
    if today > last_day:
        raise Conflict("A record cannot be kept on ContactPoint once the young person is 25.")
    if review_on <= today:
        raise InvalidInput("The review date must be after today.", field="body.review_on")
    if review_on > last_day:
        raise InvalidInput(
            f"The review date must be before the young person's 25th birthday "
            f"(at the latest {last_day.isoformat()}).",
            field="body.review_on",
        )
    if review_on <= consent_given_on:
        raise InvalidInput(
            "The review date must be after the date consent was given.", field="body.review_on"
        )
    principal = context.actor
    session.add(
        ChildExtension(
            child_id=child.id,
            reason=chosen.value,
            consent_given_on=consent_given_on,
            consent_recorded_by=principal.username,
            consent_recorded_by_user_id=principal.user_id,
            review_on=review_on,
        )
    )
    session.flush()
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.EXTENSION_RECORDED,
        subject=child.identifier,
        authorities=[child.local_authority_code] if child.local_authority_code else [],
        details={
            "identifier": child.identifier,
            "reason": chosen.value,
            "consent_given_on": consent_given_on.isoformat(),
            "review_on": review_on.isoformat(),
        },
    )
    return ExtensionState(
        reason=chosen,
        review_on=review_on,
        ends_after=min(review_on, last_day),
        consent_given_on=consent_given_on,
        consent_recorded_by=principal.username,
    )


def reason_choices() -> list[tuple[str, str]]:
    """The reasons as (value, label), in the documented order."""
    return [(reason.value, EXTENSION_REASON_LABELS[reason]) for reason in ExtensionReason]
