"""Search and the record view: thin routes over `searchapi.search` and `searchapi.record_view`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from searchapi.deps import AuditContextDep, EsDep, Searcher, SessionDep, SettingsDep, Viewer
from searchapi.errors import error_response
from searchapi.record_schemas import (
    BREAK_GLASS_REASON_MAX,
    BREAK_GLASS_REASON_MIN,
    ChildRecordView,
)
from searchapi.record_view import view_child
from searchapi.refusals import mark_audited
from searchapi.schemas import ErrorBody, error_responses
from searchapi.search import run_search
from searchapi.search_schemas import SearchRequest, SearchResponse

router = APIRouter(tags=["children"])

IDENTIFIER_PATTERN = r"^[0-9A-Za-z]{1,20}$"
IdentifierPath = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, examples=["9202466335"])]


@router.post("/v1/search", responses=error_responses(422, 503))
def search_children(
    body: SearchRequest,
    principal: Searcher,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> SearchResponse:
    """Find a child from what is known of it, best first; audited before the answer is sent."""
    return run_search(
        session=session,
        es=es,
        alias=settings.index_alias,
        context=context,
        request=body,
    )


@router.get(
    "/v1/children/{identifier}",
    response_model=ChildRecordView,
    responses={404: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
def get_child_record(
    identifier: IdentifierPath,
    request: Request,
    principal: Viewer,
    session: SessionDep,
    context: AuditContextDep,
    break_glass_reason: Annotated[
        str | None,
        Query(
            min_length=BREAK_GLASS_REASON_MIN,
            max_length=BREAK_GLASS_REASON_MAX,
            description="Child-protection override: shows a shielded location for this view only",
        ),
    ] = None,
) -> ChildRecordView | JSONResponse:
    """The record of one child from PostgreSQL, with what the caller may not see withheld."""
    view = view_child(
        session=session,
        context=context,
        identifier=identifier,
        break_glass_reason=break_glass_reason,
    )
    if view is None:
        # Answered rather than raised, so that the audit row of the attempt is committed.
        mark_audited(request)
        return error_response(request, 404, "There is no child with this identifier.")
    return view
