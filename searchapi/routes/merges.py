"""Merges of two children found to be one, and their undoing, by the managers of both."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from searchapi.deps import AuditContextDep, Merger, SessionDep
from searchapi.merges import merge, unmerge
from searchapi.paths import IDENTIFIER_PATTERN, IdentifierPath, ReviewPath
from searchapi.schemas import ErrorBody
from searchapi.text_input import Reason

router = APIRouter(
    prefix="/v1",
    tags=["merges"],
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)


class MergeRequest(BaseModel):
    """The child to merge into the one named in the address, and why."""

    model_config = ConfigDict(extra="forbid")

    merged: str = Field(pattern=IDENTIFIER_PATTERN, examples=["9434765919"])
    reason: Reason = Field(examples=["Same child: birth and school records of one pupil"])


class UnmergeRequest(BaseModel):
    """Why the two children are not one after all."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(examples=["Twins: two birth registrations"])


class MergeResponse(BaseModel):
    """The merge made or undone."""

    message: str
    merge_id: int
    survivor: str
    merged: str
    request_id: str


@router.post("/children/{identifier}/merge")
def post_merge(
    identifier: IdentifierPath,
    body: MergeRequest,
    principal: Merger,
    session: SessionDep,
    context: AuditContextDep,
) -> MergeResponse:
    """Merge another child into this one: its involvements and identifiers move here, its
    identifier answers with this one (301), and a shield of either stays (audited)."""
    made = merge(
        session=session,
        context=context,
        survivor_identifier=identifier,
        merged_identifier=body.merged,
        reason=body.reason,
    )
    return MergeResponse(
        message="Merged.",
        merge_id=made.id,
        survivor=identifier,
        merged=body.merged,
        request_id=context.request_id,
    )


@router.post("/merges/{merge_id}/unmerge")
def post_unmerge(
    merge_id: ReviewPath,
    body: UnmergeRequest,
    principal: Merger,
    session: SessionDep,
    context: AuditContextDep,
) -> MergeResponse:
    """Undo a merge: both children as they were, each with its own involvements (audited)."""
    survivor, merged = unmerge(
        session=session, context=context, merge_id=merge_id, reason=body.reason
    )
    return MergeResponse(
        message="Unmerged.",
        merge_id=merge_id,
        survivor=survivor.identifier,
        merged=merged.identifier,
        request_id=context.request_id,
    )
