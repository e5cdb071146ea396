"""Extensions past 18, recorded by the managers of the child's local authority."""

from __future__ import annotations

from fastapi import APIRouter

from lifecycle.extensions import record_extension
from searchapi.deps import AuditContextDep, ExtensionRecorder, SessionDep
from searchapi.extension_schemas import ExtensionRequest, ExtensionResponse
from searchapi.managed_children import managed_child
from searchapi.paths import IdentifierPath
from searchapi.schemas import ErrorBody
from searchapi.updates import today

router = APIRouter(
    prefix="/v1/children/{identifier}",
    tags=["lifecycle"],
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)


@router.post("/extensions", status_code=201)
def post_extension(
    identifier: IdentifierPath,
    body: ExtensionRequest,
    principal: ExtensionRecorder,
    session: SessionDep,
    context: AuditContextDep,
) -> ExtensionResponse:
    """Keep the record past 18 (at most to 25) with the young person's consent (audited)."""
    child = managed_child(session, principal, identifier)
    state = record_extension(
        session=session,
        context=context,
        child=child,
        reason=body.reason.value,
        consent_given_on=body.consent_given_on,
        review_on=body.review_on,
        today=today(),
    )
    return ExtensionResponse(
        reason=state.reason,
        consent_given_on=state.consent_given_on,
        consent_recorded_by=state.consent_recorded_by,
        review_on=state.review_on,
        kept_until=state.ends_after,
        request_id=context.request_id or "",
    )
