"""The shielded children of a manager's authorities."""

from __future__ import annotations

from fastapi import APIRouter

from searchapi.deps import AuditContextDep, SessionDep, ShieldManager
from searchapi.schemas import ErrorBody
from searchapi.shield_list import NameQuery, ShieldList, shield_list

router = APIRouter(prefix="/v1/shields", tags=["shields and consent"])


@router.get("", responses={403: {"model": ErrorBody}})
def get_shields(
    principal: ShieldManager,
    session: SessionDep,
    context: AuditContextDep,
    name: NameQuery = None,
) -> ShieldList:
    """The shielded children of your authorities, newest shield first (audited)."""
    return shield_list(session=session, context=context, name=name or None)
