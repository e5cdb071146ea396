"""The break-glass reviews of the child's authority managers: the open ones, and an outcome."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from db.break_glass import record_outcome
from searchapi.break_glass_reviews import review_to_record, reviews_for
from searchapi.deps import AuditContextDep, GlassReviewer, SessionDep
from searchapi.paths import ReviewPath
from searchapi.review_schemas import BreakGlassReviews, OutcomeRequest, OutcomeResponse
from searchapi.schemas import ErrorBody

router = APIRouter(
    prefix="/v1/break-glass/reviews",
    tags=["break-glass reviews"],
    responses={403: {"model": ErrorBody}},
)


@router.get("")
def get_reviews(principal: GlassReviewer, session: SessionDep) -> BreakGlassReviews:
    """The break glasses on children of your authorities that wait for an outcome."""
    return BreakGlassReviews(reviews=reviews_for(session=session, principal=principal))


@router.post(
    "/{review_id}",
    response_model=OutcomeResponse,
    responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def post_outcome(
    review_id: ReviewPath,
    body: OutcomeRequest,
    request: Request,
    principal: GlassReviewer,
    session: SessionDep,
    context: AuditContextDep,
) -> OutcomeResponse | JSONResponse:
    """Record that a break glass was justified, or refer it for investigation (audited)."""
    review = review_to_record(session=session, principal=principal, review_id=review_id)
    record_outcome(
        session=session,
        context=context,
        review=review,
        outcome=body.outcome,
        reason=body.reason,
    )
    return OutcomeResponse(message="Review recorded.", request_id=context.request_id)
