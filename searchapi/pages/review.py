"""The managers' page reviewing a break glass: what was seen, by whom and why, and the outcome.

The same service functions as the API's review routes (`review_to_record`, `record_outcome`),
so the access decision and the audit have one implementation.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from contactpoint.settings import Settings
from db.break_glass import REASON_MAX_LENGTH, record_outcome
from db.errors import InvalidInput
from db.models import BreakGlassReview, ReviewOutcome
from db.normalise import REASON_MIN_WORD_CHARACTERS
from searchapi.break_glass_reviews import review_to_record, review_view
from searchapi.deps import AuditContextDep, GlassReviewer, SessionDep, SettingsDep
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import field, text_field
from searchapi.pages.render import render
from searchapi.paths import ReviewPath
from searchapi.refusals import mark_audited

router = APIRouter(include_in_schema=False)

OUTCOMES: Final = {
    ReviewOutcome.JUSTIFIED: "Justified",
    ReviewOutcome.REFERRED_FOR_INVESTIGATION: "Referred for investigation",
}


def _review_page(
    request: Request,
    settings: Settings,
    review: BreakGlassReview,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    principal = request.state.principal
    return render(
        request,
        "review.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        review=review_view(review, principal),
        outcomes=OUTCOMES,
        errors=errors or {},
        values=values or {},
        reason_minimum=REASON_MIN_WORD_CHARACTERS,
        reason_maximum=REASON_MAX_LENGTH,
    )


@router.get("/break-glass/reviews/{review_id}")
def review_page(
    review_id: ReviewPath,
    request: Request,
    principal: GlassReviewer,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The break glass and the form for its outcome."""
    review = review_to_record(session=session, principal=principal, review_id=review_id)
    return _review_page(request, settings, review)


@router.post("/break-glass/reviews/{review_id}")
def review_submit(
    review_id: ReviewPath,
    request: Request,
    principal: GlassReviewer,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Record the outcome (audited) and go back to the home page's list."""
    review = review_to_record(session=session, principal=principal, review_id=review_id)
    values = {"outcome": field(form, "outcome"), "reason": text_field(form, "reason")}
    errors: dict[str, str] = {}
    try:
        outcome = ReviewOutcome(values["outcome"])
    except ValueError:
        errors["outcome"] = "Select whether the break glass was justified"
    else:
        try:
            record_outcome(
                session=session,
                context=context,
                review=review,
                outcome=outcome,
                reason=values["reason"],
            )
        except InvalidInput as refused:
            errors["reason"] = refused.message
            # Answered as the form again: its audit row (break_glass_reviewed, failure) is kept.
            mark_audited(request)
        else:
            return RedirectResponse("/?reviewed=1", status_code=303)
    return _review_page(request, settings, review, status_code=400, errors=errors, values=values)
