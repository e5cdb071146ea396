"""The review queue's pages: the open records oldest first, and one record beside its
candidates with the decision's form.

The same service functions as the API's queue routes (`queue_for`, `item_for`,
`decide_item`), so who sees what, the decision and the audit have one implementation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from db.errors import Conflict, InvalidInput
from feeds.review import ReviewDecision
from searchapi.deps import AuditContextDep, FeedReviewer, SessionDep, SettingsDep
from searchapi.feed_review_schemas import FeedReviewItem
from searchapi.feed_reviews import decide_item, item_for, queue_for
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import field
from searchapi.pages.render import render
from searchapi.paths import ReviewPath
from searchapi.refusals import note_refusal

router = APIRouter(include_in_schema=False)

# The rows of the side-by-side table: a field, and the comparison that weighed it (if any).
ROWS: Final = (
    ("given_names", "Given names", "given_names"),
    ("family_name", "Family name", "family_name"),
    ("date_of_birth", "Date of birth", "date_of_birth"),
    ("gender", "Gender", "gender"),
    ("address", "Address", None),
    ("postcode", "Postcode", "postcode"),
    ("school", "School", None),
    ("gp_practice", "GP practice", None),
)
# The comparisons' levels (matching/data/model.json) in words.
LEVELS: Final = {
    "exact": "Agrees",
    "agree": "Agrees",
    "folded": "Agrees but for accents or case",
    "former": "A former name",
    "subset": "Some of the names",
    "overlap": "Names in common",
    "nickname": "A nickname",
    "phonetic": "Sounds alike",
    "one_edit": "One letter off",
    "two_edits": "Two letters off",
    "swapped": "Names swapped",
    "crossed": "In the other name's field",
    "day_month_swapped": "Day and month swapped",
    "one_digit": "One digit off",
    "year_off_by_one": "A year off",
    "year_only": "Only the year agrees",
    "near": "Nearly agrees",
    "previous": "A previous postcode",
    "sector": "The same sector",
    "outward": "The same district",
    "town": "The same town",
    "area": "The same area",
    "else": "Disagrees",
}
DONE: Final = {
    "same_child": "The record is linked to the child.",
    "new_child": "A new child was created from the record.",
    "not_sure": "The record is escalated: another member of the team decides it.",
}


def _age(since: datetime, now: datetime) -> str:
    days = (now - since).days
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = int((now - since).total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}" if hours >= 1 else "under an hour"


@router.get("/feed-reviews")
def queue_page(
    request: Request,
    principal: FeedReviewer,
    session: SessionDep,
    done: str | None = None,
) -> Response:
    """The open records of your authorities' queue, oldest first."""
    queue = queue_for(session=session, principal=principal)
    now = datetime.now(UTC)
    return render(
        request,
        "feed_reviews.html",
        queue=queue,
        ages={item.id: _age(item.waiting_since, now) for item in queue.items},
        oldest=_age(queue.oldest_waiting_since, now) if queue.oldest_waiting_since else None,
        done=DONE.get(done or ""),
    )


def _item_page(
    request: Request,
    settings: SettingsDep,
    view: FeedReviewItem,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "feed_review.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        view=view,
        rows=ROWS,
        levels=LEVELS,
        age=_age(view.item.waiting_since, datetime.now(UTC)),
        errors=errors or {},
        values=values or {},
    )


@router.get("/feed-reviews/{item_id}")
def item_page(
    item_id: ReviewPath,
    request: Request,
    principal: FeedReviewer,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """The record beside its candidates, and the decision's form (audited as shown)."""
    view = item_for(session=session, context=context, item_id=item_id)
    return _item_page(request, settings, view)


@router.post("/feed-reviews/{item_id}")
def item_submit(
    item_id: ReviewPath,
    request: Request,
    principal: FeedReviewer,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Record the decision and go back to the queue."""
    choice = field(form, "decision")
    values = {"decision": choice}
    errors: dict[str, str] = {}
    decision: ReviewDecision | None = None
    child: str | None = None
    if choice.startswith("same:"):
        decision, child = ReviewDecision.SAME_CHILD, choice.removeprefix("same:")
    elif choice in (ReviewDecision.NEW_CHILD.value, ReviewDecision.NOT_SURE.value):
        decision = ReviewDecision(choice)
    else:
        errors["decision"] = "Select whether the record is one of these children, or not"
    if decision is not None:
        try:
            decide_item(
                session=session, context=context, item_id=item_id, decision=decision, child=child
            )
        except (InvalidInput, Conflict) as refused:
            errors["decision"] = refused.message
            session.rollback()
        else:
            return RedirectResponse(f"/feed-reviews?done={decision.value}", status_code=303)
    # Refused: audited as such (request_refused) by the refusal middleware.
    note_refusal(request, errors["decision"])
    view = item_for(session=session, context=context, item_id=item_id)
    return _item_page(request, settings, view, status_code=400, errors=errors, values=values)
