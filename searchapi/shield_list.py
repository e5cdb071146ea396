"""The list of the shielded children of a manager's authorities, for the API and the page.

Only the managers of the children's authorities read it (they may see these locations); each
reading is audited with the children shown.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Final

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, record_audit
from db.child_records import shielded_children
from searchapi.text_input import OneLine

LIST_LIMIT: Final = 500
NameQuery = Annotated[
    OneLine | None,
    Query(max_length=100, description="Only children whose given or family name starts so"),
]


class ShieldedChildView(BaseModel):
    """One shielded child and its shield in force."""

    identifier: str
    given_names: str
    family_name: str
    date_of_birth: date
    postcode: str
    local_authority_code: str | None
    applied_by: str
    applied_at: datetime
    reason: str


class ShieldList(BaseModel):
    """The shielded children of your authorities, newest shield first."""

    total: int = Field(description="How many match, of which the first 500 are listed")
    name: str | None
    children: list[ShieldedChildView]
    request_id: str


def shield_list(*, session: Session, context: AuditContext, name: str | None) -> ShieldList:
    """The list, for the managed authorities of the context's principal (audited)."""
    principal = context.actor
    total, found = shielded_children(
        session=session, authorities=principal.authorities, name=name, limit=LIST_LIMIT
    )
    children = [
        ShieldedChildView(
            identifier=item.child.identifier,
            given_names=item.child.given_names,
            family_name=item.child.family_name,
            date_of_birth=item.child.date_of_birth,
            postcode=item.child.postcode,
            local_authority_code=item.child.local_authority_code,
            applied_by=item.shield.applied_by,
            applied_at=item.shield.applied_at,
            reason=item.shield.reason,
        )
        for item in found
    ]
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.SHIELD_LIST_READ,
        details={
            "criteria": {"family_name": name} if name else {},
            "result_count": total,
            "identifiers_shown": [child.identifier for child in children],
        },
    )
    return ShieldList(
        total=total, name=name, children=children, request_id=context.request_id or ""
    )
