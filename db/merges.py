"""Two children found to be one: merged into the survivor, with history; and unmerged again.

A merge moves the merged child's involvements, source identifiers and feed records to the
survivor and marks the merged child `merged` (it leaves search; its identifier answers with the
survivor). What moved is written in the merge's row, so that an unmerge gives each child back
exactly what it had. The shield is never lost: if the merged child was shielded and the survivor
was not, the survivor is shielded by the merge, and an unmerge leaves that shield in place (the
survivor's managers remove it if it is not needed: a location that may have become the shielded
child's is never unshielded by a data correction).

The caller has decided that the actor may merge both children (`searchapi.access`); every
change reaches the index through the outbox triggers, and each is audited in the same
transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, record_audit
from db.child_records import active_shield
from db.errors import Conflict, InvalidInput, NotFound
from db.models import (
    Child,
    ChildMerge,
    ChildSourceIdentifier,
    Involvement,
    ReceivedRecord,
    Shield,
)

# How far a chain of merges is followed (A into B, B into C...): more is a broken history.
_MAX_CHAIN: Final = 20


def survivor_of(session: Session, child: Child) -> Child:
    """The child a merged child's identifier now answers with (itself if not merged)."""
    current = child
    for _ in range(_MAX_CHAIN):
        if current.merged_into_id is None:
            return current
        found = session.get(Child, current.merged_into_id)
        if found is None:
            break
        current = found
    raise Conflict("This record's merge history is broken: ask the national data team.")


def _locked(session: Session, *ids: int) -> dict[int, Child]:
    # In id order, so two merges of the same pair never deadlock.
    statement = select(Child).where(Child.id.in_(ids)).order_by(Child.id).with_for_update()
    return {child.id: child for child in session.scalars(statement)}


def _audit(
    session: Session,
    event: AuditEventType,
    *,
    context: AuditContext,
    survivor: Child,
    merged: Child,
    merge: ChildMerge,
    reason: str,
) -> None:
    authorities = {c.local_authority_code for c in (survivor, merged) if c.local_authority_code}
    record_audit(
        session=session,
        context=context,
        event=event,
        subject=survivor.identifier,
        authorities=sorted(authorities),
        details={
            "identifier": survivor.identifier,
            "identifiers_shown": [survivor.identifier, merged.identifier],
            "merge_id": merge.id,
            "reason": reason,
        },
    )


def merge_children(
    *, session: Session, context: AuditContext, survivor: Child, merged: Child, reason: str
) -> ChildMerge:
    """Merge `merged` into `survivor` (409 if either is merged already, or they are one)."""
    if survivor.id == merged.id:
        raise InvalidInput("A child cannot be merged with itself.", field="body.merged")
    rows = _locked(session, survivor.id, merged.id)
    survivor, merged = rows[survivor.id], rows[merged.id]
    for child in (survivor, merged):
        if child.status == "merged":
            raise Conflict(f"The record {child.identifier} is already merged into another.")
    base = session.scalar(
        select(Involvement.position)
        .where(Involvement.child_id == survivor.id)
        .order_by(Involvement.position.desc())
        .limit(1)
    )
    survivor_has_lead = any(
        item.lead_professional and item.end_date is None for item in survivor.involvements
    )
    moved_involvements: list[dict[str, Any]] = []
    for item in merged.involvements:
        lead_cleared = survivor_has_lead and item.lead_professional and item.end_date is None
        moved_involvements.append(
            {"id": item.id, "position": item.position, "lead_cleared": lead_cleared}
        )
    # After the survivor's own (the pair (child, position) is unique).
    for offset, entry in enumerate(moved_involvements, start=1):
        values: dict[str, Any] = {"child_id": survivor.id, "position": (base or 0) + offset}
        if entry["lead_cleared"]:
            # One current lead professional per child: the survivor's stays the lead.
            values["lead_professional"] = False
        session.execute(update(Involvement).where(Involvement.id == entry["id"]).values(values))
    identifiers = list(
        session.scalars(
            update(ChildSourceIdentifier)
            .where(ChildSourceIdentifier.child_id == merged.id)
            .values(child_id=survivor.id)
            .returning(ChildSourceIdentifier.id)
        )
    )
    records = list(
        session.scalars(
            update(ReceivedRecord)
            .where(ReceivedRecord.child_id == merged.id)
            .values(child_id=survivor.id)
            .returning(ReceivedRecord.id)
        )
    )
    shield_id: int | None = None
    if active_shield(merged) is not None and active_shield(survivor) is None:
        shield = Shield(
            child_id=survivor.id,
            applied_by=context.actor.username,
            reason=f"Kept from the merged record {merged.identifier}",
        )
        session.add(shield)
        session.flush()
        shield_id = shield.id
    if survivor.local_authority_code is None and merged.local_authority_code is not None:
        # A shield needs managers: the survivor is managed where the merged child was.
        survivor.local_authority_code = merged.local_authority_code
    merge = ChildMerge(
        survivor_id=survivor.id,
        merged_id=merged.id,
        merged_status=merged.status,
        merged_by=context.actor.username,
        reason=reason,
        moved={
            "involvements": moved_involvements,
            "identifiers": identifiers,
            "feed_records": records,
            "shield": shield_id,
        },
    )
    session.add(merge)
    merged.status = "merged"
    merged.merged_into_id = survivor.id
    session.flush()
    session.expire(survivor, ["involvements", "shields"])
    session.expire(merged, ["involvements", "shields"])
    _audit(
        session,
        AuditEventType.CHILDREN_MERGED,
        context=context,
        survivor=survivor,
        merged=merged,
        merge=merge,
        reason=reason,
    )
    return merge


def get_merge(*, session: Session, merge_id: int) -> ChildMerge:
    """One merge, locked (404 if there is none)."""
    merge = session.scalars(
        select(ChildMerge).where(ChildMerge.id == merge_id).with_for_update()
    ).one_or_none()
    if merge is None:
        raise NotFound("There is no such merge.")
    return merge


def merges_of(*, session: Session, child: Child) -> list[ChildMerge]:
    """The merges in force into `child`, oldest first (what its managers may undo)."""
    statement = (
        select(ChildMerge)
        .where(ChildMerge.survivor_id == child.id, ChildMerge.unmerged_at.is_(None))
        .order_by(ChildMerge.merged_at, ChildMerge.id)
    )
    return list(session.scalars(statement))


def unmerge_children(
    *, session: Session, context: AuditContext, merge: ChildMerge, reason: str
) -> tuple[Child, Child]:
    """Undo a merge: the merged child back as it was, with the involvements, identifiers and
    records it had (those the survivor still holds). The survivor keeps any shield."""
    if merge.unmerged_at is not None:
        raise Conflict(f"This merge was already undone by {merge.unmerged_by}.")
    rows = _locked(session, merge.survivor_id, merge.merged_id)
    survivor, merged = rows[merge.survivor_id], rows[merge.merged_id]
    moved = merge.moved
    for entry in moved.get("involvements", []):
        values: dict[str, Any] = {"child_id": merged.id, "position": entry["position"]}
        if entry.get("lead_cleared"):
            values["lead_professional"] = True
        session.execute(
            update(Involvement)
            .where(Involvement.id == entry["id"], Involvement.child_id == survivor.id)
            .values(values)
        )
    for model, ids in (
        (ChildSourceIdentifier, moved.get("identifiers", [])),
        (ReceivedRecord, moved.get("feed_records", [])),
    ):
        if ids:
            session.execute(
                update(model)
                .where(model.id.in_(ids), model.child_id == survivor.id)
                .values(child_id=merged.id)
            )
    merged.status = merge.merged_status
    merged.merged_into_id = None
    merge.unmerged_by = context.actor.username
    merge.unmerged_at = max(datetime.now(UTC), merge.merged_at)
    merge.unmerge_reason = reason
    session.flush()
    session.expire(survivor, ["involvements", "shields"])
    session.expire(merged, ["involvements", "shields"])
    _audit(
        session,
        AuditEventType.CHILDREN_UNMERGED,
        context=context,
        survivor=survivor,
        merged=merged,
        merge=merge,
        reason=reason,
    )
    return survivor, merged
