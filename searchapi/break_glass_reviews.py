"""The break-glass reviews of a manager, for the API and the home page alike.

Who may review is decided by `searchapi.access.review_refusal`; recording is
`db.break_glass.record_outcome`, so the page and the API cannot differ.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.access import Forbidden, Principal
from db.break_glass import get_review, open_reviews
from db.errors import NotFound
from db.models import BreakGlassReview
from searchapi.access import review_refusal
from searchapi.review_schemas import BreakGlassReviewView


def review_view(review: BreakGlassReview, principal: Principal) -> BreakGlassReviewView:
    """How a review is shown to `principal`."""
    child = review.child
    return BreakGlassReviewView(
        id=review.id,
        identifier=child.identifier,
        child_name=f"{child.given_names} {child.family_name}",
        local_authority_code=review.local_authority_code,
        broken_by=review.broken_by,
        client_name=review.client_name,
        broken_at=review.broken_at,
        reason=review.reason,
        view_event_id=review.view_event_id,
        yours=review.broken_by == principal.username,
    )


def reviews_for(*, session: Session, principal: Principal) -> list[BreakGlassReviewView]:
    """The open reviews of the children of `principal`'s authorities, oldest first."""
    found = open_reviews(session=session, authorities=principal.authorities)
    return [review_view(review, principal) for review in found]


def review_to_record(*, session: Session, principal: Principal, review_id: int) -> BreakGlassReview:
    """The review, locked, if `principal` may record its outcome (404 or 403 otherwise)."""
    review = get_review(session=session, review_id=review_id, lock=True)
    if review is None:
        raise NotFound("There is no such break-glass review.")
    problem = review_refusal(
        principal, authority=review.local_authority_code, broken_by=review.broken_by
    )
    if problem is not None:
        raise Forbidden(problem, actor=principal)
    return review
