"""Search and the record view: thin routes over `searchapi.search` and `searchapi.record_view`."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from searchapi.deps import (
    AuditContextDep,
    EsDep,
    GlassBreaker,
    RankerDep,
    Searcher,
    SessionDep,
    SettingsDep,
    Viewer,
)
from searchapi.errors import error_response
from searchapi.paths import IdentifierPath
from searchapi.record_schemas import BreakGlassRequest, ChildRecordView
from searchapi.record_view import break_glass_view, record_etag, view_child
from searchapi.refusals import note_refusal
from searchapi.schemas import ErrorBody, error_responses
from searchapi.search import run_search
from searchapi.search_schemas import SearchRequest, SearchResponse

router = APIRouter(tags=["children"])


@router.post("/v1/search", responses=error_responses(422, 503))
def search_children(
    body: SearchRequest,
    principal: Searcher,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    context: AuditContextDep,
    ranker: RankerDep,
) -> SearchResponse:
    """Find a child from what is known of it, best first; audited before the answer is sent."""
    return run_search(
        session=session,
        es=es,
        alias=settings.index_alias,
        context=context,
        request=body,
        ranker=ranker,
    )


# The reason of a break glass never travels in an address (proxies and browser history keep
# it): a GET that carries one is refused rather than quietly ignored.
_BREAK_GLASS_BY_GET: Final = (
    "A child-protection override is a POST to /v1/children/{identifier}/break-glass with the "
    'reason in the body ({"reason": "..."}); a reason in the address is refused.'
)


@router.get(
    "/v1/children/{identifier}",
    response_model=ChildRecordView,
    responses={404: {"model": ErrorBody}, 403: {"model": ErrorBody}, 400: {"model": ErrorBody}},
)
def get_child_record(
    identifier: IdentifierPath,
    request: Request,
    response: Response,
    principal: Viewer,
    session: SessionDep,
    context: AuditContextDep,
) -> ChildRecordView | JSONResponse:
    """The record of one child from PostgreSQL, with what the caller may not see withheld; its
    strong ETag is the record version that a CMS's change sends back in If-Match."""
    if "break_glass_reason" in request.query_params:
        note_refusal(request, "break-glass reason in the address")
        return error_response(request, 400, _BREAK_GLASS_BY_GET)
    view = view_child(session=session, context=context, identifier=identifier)
    response.headers["ETag"] = record_etag(view.record_version)
    return view


@router.post(
    "/v1/children/{identifier}/break-glass",
    response_model=ChildRecordView,
    responses={404: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def break_glass(
    identifier: IdentifierPath,
    body: BreakGlassRequest,
    request: Request,
    principal: GlassBreaker,
    session: SessionDep,
    context: AuditContextDep,
) -> ChildRecordView:
    """Child-protection override: the record with a shielded location shown for this one view,
    audited with the reason."""
    return break_glass_view(
        session=session, context=context, identifier=identifier, reason=body.reason
    )
