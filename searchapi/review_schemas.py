"""Bodies of the break-glass review routes: the open reviews and an outcome."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from db.break_glass import REASON_MAX_LENGTH
from db.models import ReviewOutcome
from searchapi.text_input import OneLine


class BreakGlassReviewView(BaseModel):
    """One break glass on a child of the caller's authorities, waiting for an outcome."""

    id: int
    identifier: str
    child_name: str
    local_authority_code: str | None
    broken_by: str
    client_name: str | None = Field(description="The CMS that acted for them, if any")
    broken_at: datetime
    reason: str
    view_event_id: int = Field(description="The audit row of the view")
    yours: bool = Field(description="You broke it: another manager reviews it")


class BreakGlassReviews(BaseModel):
    """The open reviews, oldest first."""

    reviews: list[BreakGlassReviewView]


class OutcomeRequest(BaseModel):
    """The outcome of a review, and why (at least 10 letters or digits)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "outcome": "justified",
                    "reason": "Section 47 enquiry confirmed with the allocated social worker",
                }
            ]
        },
    )

    outcome: ReviewOutcome
    # The words rule is applied by the service, so that a refused reason is audited.
    reason: OneLine = Field(max_length=REASON_MAX_LENGTH)


class OutcomeResponse(BaseModel):
    """The review is closed."""

    message: str
    request_id: str
