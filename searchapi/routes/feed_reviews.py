"""The national feeds' review queue: the open items, one side by side, and a decision."""

from __future__ import annotations

from fastapi import APIRouter

from feeds.review import ReviewDecision
from searchapi.deps import AuditContextDep, FeedReviewer, SessionDep
from searchapi.feed_review_schemas import (
    DecisionRequest,
    DecisionResponse,
    FeedReviewItem,
    FeedReviews,
)
from searchapi.feed_reviews import decide_item, item_for, queue_for
from searchapi.paths import ReviewPath
from searchapi.schemas import ErrorBody

router = APIRouter(
    prefix="/v1/feed-reviews",
    tags=["feed review queue"],
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)

_MESSAGES = {
    ReviewDecision.SAME_CHILD: "Linked to the child.",
    ReviewDecision.NEW_CHILD: "A new child was created from the record.",
    ReviewDecision.NOT_SURE: "Escalated: another member of the team decides it.",
}


@router.get("")
def get_queue(principal: FeedReviewer, session: SessionDep) -> FeedReviews:
    """The records waiting for a person in your authorities' queue, oldest first."""
    return queue_for(session=session, principal=principal)


@router.get("/{item_id}")
def get_item(
    item_id: ReviewPath, principal: FeedReviewer, session: SessionDep, context: AuditContextDep
) -> FeedReviewItem:
    """The incoming record beside its candidates, each field's agreement and weight (audited)."""
    return item_for(session=session, context=context, item_id=item_id)


@router.post("/{item_id}/decision", responses={409: {"model": ErrorBody}})
def post_decision(
    item_id: ReviewPath,
    body: DecisionRequest,
    principal: FeedReviewer,
    session: SessionDep,
    context: AuditContextDep,
) -> DecisionResponse:
    """Same child, new child, or not sure (audited)."""
    child = decide_item(
        session=session,
        context=context,
        item_id=item_id,
        decision=body.decision,
        child=body.child,
    )
    return DecisionResponse(
        message=_MESSAGES[body.decision],
        identifier=child.identifier if child is not None else None,
        request_id=context.request_id,
    )
