"""The shielded children of a manager's authorities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from searchapi.deps import AuditContextDep, SessionDep, ShieldManager
from searchapi.schemas import ErrorBody
from searchapi.shield_list import ShieldList, shield_list
from searchapi.text_input import OneLine

router = APIRouter(prefix="/v1/shields", tags=["shields and consent"])

NameQuery = Annotated[
    OneLine | None,
    Query(max_length=100, description="Only children whose given or family name starts so"),
]


@router.get("", responses={403: {"model": ErrorBody}})
def get_shields(
    principal: ShieldManager,
    session: SessionDep,
    context: AuditContextDep,
    name: NameQuery = None,
) -> ShieldList:
    """The shielded children of your authorities, newest shield first (audited)."""
    return shield_list(session=session, context=context, name=name or None)
