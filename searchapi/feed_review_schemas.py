"""Bodies of the review queue's routes: the open items, one item side by side, a decision."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from feeds.review import ReviewDecision
from searchapi.paths import IDENTIFIER_PATTERN


class RecordFields(BaseModel):
    """What a record or a candidate child says, field by field, as the review compares them."""

    given_names: str
    family_name: str
    date_of_birth: date
    gender: str | None
    address: str | None = Field(description="Address lines and town, one line")
    postcode: str | None
    school: str | None
    gp_practice: str | None
    identifiers: list[str] = Field(description="The sources' identifiers, as kind: value")


class Agreement(BaseModel):
    """How one comparison agreed, and the weight (log2 Bayes factor) it earned."""

    level: str
    weight: float


class CandidateView(BaseModel):
    """A child the record was compared with (only those whose location the caller may see)."""

    identifier: str
    probability: float
    match_weight: float
    shielded: bool
    fields: RecordFields
    # By comparison: given_names, family_name, date_of_birth, postcode, gender.
    agreement: dict[str, Agreement]


class FeedReviewSummary(BaseModel):
    """One open item of the queue."""

    id: int
    kind: str = Field(description="review, or shield_hold: it may be a shielded child")
    source: str
    record_id: str
    name: str
    date_of_birth: date
    waiting_since: datetime
    escalated_by: str | None = Field(description="Who was not sure (another decides)")


class FeedReviews(BaseModel):
    """The open items of the caller's authorities (and the unassigned ones), oldest first."""

    total: int
    oldest_waiting_since: datetime | None
    items: list[FeedReviewSummary]


class FeedReviewItem(BaseModel):
    """An item side by side: the incoming record and the candidates."""

    item: FeedReviewSummary
    incoming: RecordFields
    candidates: list[CandidateView]
    request_id: str


class DecisionRequest(BaseModel):
    """Same child (name it), new child, or not sure (escalate to another of the team)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"decision": "same_child", "child": "9434765919"}]},
    )

    decision: ReviewDecision
    child: str | None = Field(default=None, pattern=IDENTIFIER_PATTERN)


class DecisionResponse(BaseModel):
    """What the decision did."""

    message: str
    identifier: str | None = Field(description="The child linked or created")
    request_id: str
