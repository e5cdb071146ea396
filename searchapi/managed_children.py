"""The child a manager changes (shields, named staff, consent): found, and their right checked."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.access import Principal
from db.child_records import get_child
from db.errors import Conflict, NotFound
from db.models import Child, Involvement
from searchapi.access import child_access, require_child_admin


def managed_child(session: Session, principal: Principal, identifier: str) -> Child:
    """The child, if `principal` manages its authority (404 or 403 otherwise; 409 if merged)."""
    child = get_child(session=session, identifier=identifier)
    if child is None:
        raise NotFound("There is no child with this identifier.")
    access = child_access(principal, named_children=principal.named_children)
    require_child_admin(access, authority=child.local_authority_code)
    if child.status == "merged":
        raise Conflict("This record was merged into another: change the child's record instead.")
    if child.status == "archived":
        raise Conflict("This record has been archived: it can no longer be changed here.")
    return child


def involvement_of(child: Child, involvement_id: int) -> Involvement:
    """One involvement of the child (404 when it has no such involvement)."""
    for item in child.involvements:
        if item.id == involvement_id:
            return item
    raise NotFound("This child has no such involvement.")
