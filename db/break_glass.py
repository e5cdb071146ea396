"""Break glass is reviewed: each break-glass view waits for an outcome from the child's managers.

A review is written in the view's transaction, beside its audit row, so no break glass goes
unrecorded; a manager of the child's authority (who decided that is `searchapi.access`) then
records whether it was justified or is referred for investigation, with a reason, audited.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.access import Principal
from db.audit import AuditContext, AuditEventType, Outcome, raise_kept, record_audit
from db.errors import Conflict, InvalidInput
from db.models import BreakGlassReview, Child, ReviewOutcome
from db.normalise import reason_error

# The review's reason may be longer than others (it may summarise an investigation); it is
# words by the one rule of every reason (`db.normalise.reason_error`).
REASON_MAX_LENGTH: Final = 500
_BREAK_GLASS_REASON_MAX: Final = 1000


def reason_problem(reason: str) -> str | None:
    """What is wrong with an outcome's reason, or None when it will do."""
    return reason_error(reason, maximum=REASON_MAX_LENGTH)


def record_break_glass(
    *, session: Session, principal: Principal, child: Child, view_event_id: int, reason: str
) -> BreakGlassReview:
    """An open review of the break-glass view whose audit row is `view_event_id`."""
    review = BreakGlassReview(
        view_event_id=view_event_id,
        child_id=child.id,
        local_authority_code=child.local_authority_code,
        broken_by_user_id=principal.user_id,
        broken_by=principal.username,
        client_id=principal.client_id,
        client_name=principal.client_name,
        # The audit row keeps the reason as given; here only what the CHECK takes.
        reason="".join(c for c in reason if unicodedata.category(c) != "Cc")[
            :_BREAK_GLASS_REASON_MAX
        ]
        or "(none)",
    )
    session.add(review)
    session.flush()
    return review


def open_reviews(*, session: Session, authorities: frozenset[str]) -> list[BreakGlassReview]:
    """The break glasses on children of `authorities` that wait for an outcome, oldest first."""
    if not authorities:
        return []
    statement = (
        select(BreakGlassReview)
        .where(
            BreakGlassReview.outcome.is_(None),
            BreakGlassReview.local_authority_code.in_(sorted(authorities)),
        )
        .order_by(BreakGlassReview.broken_at, BreakGlassReview.id)
    )
    return list(session.scalars(statement))


def get_review(*, session: Session, review_id: int, lock: bool = False) -> BreakGlassReview | None:
    """One review by id; `lock` holds its row until the transaction ends (to record it)."""
    statement = select(BreakGlassReview).where(BreakGlassReview.id == review_id)
    if lock:
        statement = statement.with_for_update(of=BreakGlassReview)
    return session.scalars(statement).one_or_none()


def _audit(
    session: Session,
    *,
    context: AuditContext,
    review: BreakGlassReview,
    outcome: Outcome,
    details: dict[str, object],
) -> None:
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.BREAK_GLASS_REVIEWED,
        outcome=outcome,
        subject=review.child.identifier,
        authorities=[review.local_authority_code] if review.local_authority_code else [],
        details={
            "review_id": review.id,
            "view_event_id": review.view_event_id,
            "identifier": review.child.identifier,
            "broken_by": review.broken_by,
            **details,
        },
    )


def record_outcome(
    *,
    session: Session,
    context: AuditContext,
    review: BreakGlassReview,
    outcome: ReviewOutcome,
    reason: str,
) -> None:
    """Record the outcome of an open review.

    The caller has decided that the context's principal may review it
    (`searchapi.access.review_refusal`). A reason that is not words is an InvalidInput of the
    field `body.reason`, the attempt audited as a failure (kept: `db.audit.raise_kept`); a
    review already recorded is a 409.
    """
    if review.outcome is not None:
        raise Conflict(f"This break glass was already reviewed by {review.reviewed_by}.")
    problem = reason_problem(reason)
    if problem is not None:
        _audit(
            session,
            context=context,
            review=review,
            outcome=Outcome.FAILURE,
            details={"outcome": outcome.value, "problem": problem},
        )
        raise_kept(session=session, error=InvalidInput(problem, field="body.reason"))
    review.outcome = outcome.value
    review.outcome_reason = reason
    actor = context.actor
    review.reviewed_by_user_id = actor.user_id
    review.reviewed_by = actor.username
    review.reviewed_at = max(datetime.now(UTC), review.broken_at)
    session.flush()
    _audit(
        session,
        context=context,
        review=review,
        outcome=Outcome.SUCCESS,
        details={"outcome": outcome.value, "reason": reason},
    )
