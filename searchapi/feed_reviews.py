"""The review queue for the API and the pages alike: what an item shows, and to whom.

A feed reviewer (a capability of the local authority managers) sees the items of their
authorities, holds included, and the general items no authority's child was a candidate of.
Each candidate is read again when shown: one that is merged away, or shielded (since) from the
reader, is left out, so that the queue never places a shielded child beside an address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.access import Principal
from db.audit import AuditContext
from db.child_records import active_shield
from db.errors import InvalidInput, NotFound
from db.models import Child
from feeds.records import FeedRecord
from feeds.review import (
    Item,
    ReviewDecision,
    audit_item_shown,
    count_open,
    decide,
    get_item,
    open_items,
)
from searchapi.access import child_access
from searchapi.feed_review_schemas import (
    Agreement,
    CandidateView,
    FeedReviewItem,
    FeedReviews,
    FeedReviewSummary,
    RecordFields,
)

QUEUE_LIMIT: Final = 200
# The candidates an item shows: the best, then those at least this likely, at most so many.
SHOWN_FLOOR: Final = 0.001
SHOWN_MOST: Final = 5
NO_ITEM: Final = "There is no such record in your review queue."


def _summary(item: Item) -> FeedReviewSummary:
    record = item.record
    return FeedReviewSummary(
        id=item.review.id,
        kind=item.review.kind,
        source=record.source.value,
        record_id=record.record_id,
        name=f"{record.given_names} {record.family_name}",
        date_of_birth=record.date_of_birth,
        waiting_since=item.review.created_at,
        escalated_by=item.review.escalated_by,
    )


def queue_for(*, session: Session, principal: Principal) -> FeedReviews:
    """The open items `principal` reviews, oldest first (the first QUEUE_LIMIT of them)."""
    authorities = principal.authorities
    total, oldest = count_open(session=session, authorities=authorities)
    items = open_items(session=session, authorities=authorities, limit=QUEUE_LIMIT)
    return FeedReviews(
        total=total, oldest_waiting_since=oldest, items=[_summary(item) for item in items]
    )


def _incoming(record: FeedRecord) -> RecordFields:
    address = record.address
    return RecordFields(
        given_names=record.given_names,
        family_name=record.family_name,
        date_of_birth=record.date_of_birth,
        gender=record.gender,
        address=", ".join([*address.lines, address.town]) if address else None,
        postcode=address.postcode if address else None,
        school=record.school.name if record.school else None,
        gp_practice=record.gp_practice.name if record.gp_practice else None,
        identifiers=[f"{kind.value}: {value}" for kind, value in record.identifiers],
    )


def _child_fields(child: Child) -> RecordFields:
    return RecordFields(
        given_names=child.given_names,
        family_name=child.family_name,
        date_of_birth=child.date_of_birth,
        gender=child.gender,
        address=", ".join([*child.address_lines, child.town]),
        postcode=child.postcode,
        school=child.education_setting.name if child.education_setting else None,
        gp_practice=child.gp_practice.name if child.gp_practice else None,
        identifiers=sorted(f"{row.kind}: {row.value}" for row in child.source_identifiers),
    )


@dataclass(frozen=True)
class Shown:
    """An item as one reader may see it."""

    view: FeedReviewItem
    children: dict[str, Child]


def _candidates(
    session: Session, principal: Principal, stored: list[dict[str, Any]]
) -> tuple[list[CandidateView], dict[str, Child]]:
    # The likely ones: the best, and the others of at least SHOWN_FLOOR (the engine's order).
    stored = [
        entry
        for rank, entry in enumerate(stored)
        if rank == 0 or entry["probability"] >= SHOWN_FLOOR
    ][:SHOWN_MOST]
    identifiers = [entry["identifier"] for entry in stored]
    statement = (
        select(Child)
        .where(Child.identifier.in_(identifiers))
        .options(
            selectinload(Child.shields),
            selectinload(Child.education_setting),
            selectinload(Child.gp_practice),
            selectinload(Child.source_identifiers),
        )
    )
    children = {child.identifier: child for child in session.scalars(statement)}
    access = child_access(principal, named_children=principal.named_children)
    views: list[CandidateView] = []
    shown: dict[str, Child] = {}
    for entry in stored:
        child = children.get(entry["identifier"])
        if child is None or child.status == "merged":
            continue
        shielded = active_shield(child) is not None
        if not access.may_see_location(
            shielded=shielded, authority=child.local_authority_code, identifier=child.identifier
        ):
            continue
        shown[child.identifier] = child
        views.append(
            CandidateView(
                identifier=child.identifier,
                probability=entry["probability"],
                match_weight=entry["match_weight"],
                shielded=shielded,
                fields=_child_fields(child),
                agreement={
                    name: Agreement(level=value["level"], weight=value["weight"])
                    for name, value in entry.get("comparisons", {}).items()
                },
            )
        )
    return views, shown


def _shown(session: Session, context: AuditContext, item: Item) -> Shown:
    views, children = _candidates(session, context.actor, item.review.candidates)
    view = FeedReviewItem(
        item=_summary(item),
        incoming=_incoming(item.record),
        candidates=views,
        request_id=context.request_id or "",
    )
    return Shown(view=view, children=children)


def item_for(*, session: Session, context: AuditContext, item_id: int) -> FeedReviewItem:
    """One open or decided item of the reader's queue, side by side (audited as shown)."""
    item = get_item(session=session, item_id=item_id, authorities=context.actor.authorities)
    if item is None:
        raise NotFound(NO_ITEM)
    shown = _shown(session, context, item)
    audit_item_shown(
        session=session, context=context, item=item, identifiers_shown=sorted(shown.children)
    )
    return shown.view


def decide_item(
    *,
    session: Session,
    context: AuditContext,
    item_id: int,
    decision: ReviewDecision,
    child: str | None,
) -> Child | None:
    """A reader's decision of an item; SAME_CHILD names one of the candidates they may see."""
    item = get_item(
        session=session, item_id=item_id, authorities=context.actor.authorities, lock=True
    )
    if item is None:
        raise NotFound(NO_ITEM)
    shown = _shown(session, context, item)
    chosen: Child | None = None
    if decision is ReviewDecision.SAME_CHILD:
        if child is None or child not in shown.children:
            raise InvalidInput("Choose one of the candidates shown.", field="body.child")
        chosen = shown.children[child]
    elif child is not None:
        raise InvalidInput("Name a child only when it is the same child.", field="body.child")
    return decide(
        session=session,
        context=context,
        item=item,
        decision=decision,
        child=chosen,
        identifiers_shown=sorted(shown.children),
    )
