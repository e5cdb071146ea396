"""The review queue: the records the engine left to a person, and a person's decision on one.

An item is decided once: the same child as a candidate (the record is linked to it), a new
child (one is created from the record), or "not sure", which escalates it: the item stays open
for another member of the team, and its escalator may not decide it. A new child made from a
record held for a shield carries the shield, and is managed by the shielded child's authority:
the real ContactPoint's unshielded duplicates of shielded children are what the hold prevents.

Who may see or decide an item is decided by `searchapi.feed_reviews`; this module writes the
decision, through `feeds.apply.Writer` as the importer does, and its audit row, in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from pydantic import TypeAdapter
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, record_audit
from db.errors import Conflict, InvalidInput
from db.models import Child, FeedReview, ReceivedRecord, Shield
from feeds.apply import Writer, can_create
from feeds.linking import Decision, Outcome
from feeds.records import FeedRecord

_RECORD: Final = TypeAdapter(FeedRecord)


class ReviewDecision(StrEnum):
    """What a person decided of an item."""

    SAME_CHILD = "same_child"
    NEW_CHILD = "new_child"
    NOT_SURE = "not_sure"


class ItemKind(StrEnum):
    """Why an item is in the queue."""

    REVIEW = "review"
    SHIELD_HOLD = "shield_hold"


@dataclass(frozen=True)
class Item:
    """An item of the queue with the record it is about."""

    review: FeedReview
    received: ReceivedRecord

    @property
    def record(self) -> FeedRecord:
        return stored_record(self.received)


def stored_record(received: ReceivedRecord) -> FeedRecord:
    """The record as the importer read it (`feeds.apply.record_json` wrote it)."""
    return _RECORD.validate_python(received.record)


def _visible(authorities: Collection[str]) -> Any:
    # An authority's items, and the general review items that no authority's child was a
    # candidate of (a hold always belongs to the shielded child's authority alone).
    own = FeedReview.local_authority_code.in_(sorted(authorities))
    unassigned = and_(
        FeedReview.local_authority_code.is_(None), FeedReview.kind == ItemKind.REVIEW.value
    )
    return or_(own, unassigned) if authorities else unassigned


def open_items(*, session: Session, authorities: Collection[str], limit: int) -> list[Item]:
    """The open items of `authorities` (and the unassigned ones), oldest first."""
    statement = (
        select(FeedReview, ReceivedRecord)
        .join(ReceivedRecord, ReceivedRecord.id == FeedReview.feed_record_id)
        .where(FeedReview.decided_at.is_(None), _visible(authorities))
        .order_by(FeedReview.created_at, FeedReview.id)
        .limit(limit)
    )
    return [
        Item(review=review, received=received) for review, received in session.execute(statement)
    ]


def count_open(*, session: Session, authorities: Collection[str]) -> tuple[int, datetime | None]:
    """How many items are open for `authorities`, and since when the oldest waits."""
    count, oldest = session.execute(
        select(func.count(), func.min(FeedReview.created_at)).where(
            FeedReview.decided_at.is_(None), _visible(authorities)
        )
    ).one()
    return int(count), oldest


def get_item(
    *, session: Session, item_id: int, authorities: Collection[str], lock: bool = False
) -> Item | None:
    """One item of `authorities` (None if there is none, or it is another authority's)."""
    statement = (
        select(FeedReview, ReceivedRecord)
        .join(ReceivedRecord, ReceivedRecord.id == FeedReview.feed_record_id)
        .where(FeedReview.id == item_id, _visible(authorities))
    )
    if lock:
        statement = statement.with_for_update(of=FeedReview)
    row = session.execute(statement).one_or_none()
    return None if row is None else Item(review=row[0], received=row[1])


def audit_item_shown(
    *, session: Session, context: AuditContext, item: Item, identifiers_shown: list[str]
) -> None:
    """An item shown to its team: who saw which record and which candidates."""
    review = item.review
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.FEED_REVIEW_VIEWED,
        authorities=[review.local_authority_code] if review.local_authority_code else [],
        details={
            "feed_review_id": review.id,
            "review_kind": review.kind,
            "source": item.received.source,
            "record_id": item.received.record_id,
            "identifiers_shown": identifiers_shown,
        },
    )


def decide(
    *,
    session: Session,
    context: AuditContext,
    item: Item,
    decision: ReviewDecision,
    child: Child | None,
    identifiers_shown: list[str],
) -> Child | None:
    """Record a person's decision of an open item (locked by `get_item(lock=True)`).

    `child` is the candidate chosen for SAME_CHILD, among `identifiers_shown`, the candidates
    the person was shown. Returns the child linked or created, None when escalated.
    """
    review = item.review
    actor = context.actor.username
    if review.decided_at is not None:
        raise Conflict(f"This record was already decided by {review.decided_by}.")
    if review.escalated_by == actor and decision is not ReviewDecision.NOT_SURE:
        raise Conflict("You were not sure of this record: another member of the team decides it.")
    record = item.record
    result: Child | None = None
    if decision is ReviewDecision.NOT_SURE:
        if review.escalated_by is not None:
            raise Conflict(f"This record was already escalated by {review.escalated_by}.")
        review.escalated_by = actor
        review.escalated_at = datetime.now(UTC)
    else:
        if decision is ReviewDecision.SAME_CHILD:
            if child is None:
                raise InvalidInput("Choose the child this record is.", field="body.child")
            outcome = Decision(Outcome.LINKED, "a person's decision", identifier=child.identifier)
        else:
            if not can_create(record):
                raise InvalidInput(
                    "This record has no address, so it cannot be a child of its own: "
                    "link it to a candidate, or escalate it.",
                    field="body.decision",
                )
            outcome = Decision(Outcome.CREATED, "a person's decision")
        # Decided before the writer runs: it removes the undecided items of a decided record.
        review.decided_at = datetime.now(UTC)
        review.decision = decision.value
        review.decided_by = actor
        session.flush()
        result = Writer(session).apply(record, outcome)
        assert result is not None
        if decision is ReviewDecision.NEW_CHILD and review.kind == ItemKind.SHIELD_HOLD.value:
            # It may be the shielded child after all: shielded, and its managers' to decide.
            result.local_authority_code = review.local_authority_code
            session.add(
                Shield(
                    child_id=result.id,
                    applied_by=actor,
                    reason="Created from a record held because it may be a shielded child",
                )
            )
        review.child_id = result.id
        session.flush()
    authorities = {review.local_authority_code} if review.local_authority_code else set()
    if result is not None and result.local_authority_code:
        authorities.add(result.local_authority_code)
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.FEED_REVIEW_DECIDED,
        subject=result.identifier if result is not None else None,
        authorities=sorted(authorities),
        details={
            "feed_review_id": review.id,
            "review_kind": review.kind,
            "decision": decision.value,
            "source": item.received.source,
            "record_id": item.received.record_id,
            "identifier": result.identifier if result is not None else None,
            "identifiers_shown": identifiers_shown,
        },
    )
    return result
