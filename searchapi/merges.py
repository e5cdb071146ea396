"""Merges and unmerges of two children, for the API and the review queue alike.

Who may merge is decided by `searchapi.access.ChildAccess.may_merge` (a manager of every
authority of both children, who may see both locations); the change is `db.merges`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.access import Forbidden, Principal
from db.audit import AuditContext
from db.child_records import get_child, shield_states
from db.errors import InvalidInput, NotFound
from db.merges import get_merge, merge_children, unmerge_children
from db.models import Child, ChildMerge
from searchapi.access import child_access

MERGE_REFUSAL = (
    "Only a manager of both children's local authorities, who may see both records in full, "
    "may merge or unmerge them."
)


def require_merge_right(session: Session, principal: Principal, children: list[Child]) -> None:
    """Refuse (403) a merge or unmerge that `principal` may not make."""
    states = shield_states(session=session, identifiers=[child.identifier for child in children])
    access = child_access(principal, named_children=principal.named_children)
    if not access.may_merge([states[child.identifier] for child in children]):
        raise Forbidden(MERGE_REFUSAL, actor=principal)


def merge(
    *,
    session: Session,
    context: AuditContext,
    survivor_identifier: str,
    merged_identifier: str,
    reason: str,
) -> ChildMerge:
    """Merge the second child into the first, if the context's principal may."""
    if survivor_identifier == merged_identifier:
        raise InvalidInput("A child cannot be merged with itself.", field="body.merged")
    children = []
    for identifier in (survivor_identifier, merged_identifier):
        child = get_child(session=session, identifier=identifier)
        if child is None:
            raise NotFound(f"There is no child with the identifier {identifier}.")
        children.append(child)
    require_merge_right(session, context.actor, children)
    survivor, merged = children
    return merge_children(
        session=session, context=context, survivor=survivor, merged=merged, reason=reason
    )


def unmerge(
    *, session: Session, context: AuditContext, merge_id: int, reason: str
) -> tuple[Child, Child]:
    """Undo a merge, if the context's principal may (its right over both children now)."""
    found = get_merge(session=session, merge_id=merge_id)
    children = [session.get(Child, found.survivor_id), session.get(Child, found.merged_id)]
    present = [child for child in children if child is not None]
    require_merge_right(session, context.actor, present)
    return unmerge_children(session=session, context=context, merge=found, reason=reason)
