"""Corrections with history, and the feeds' changes to corrected fields that wait for a manager
of the child's authority."""

from __future__ import annotations

from fastapi import APIRouter, status

from searchapi.correction_schemas import (
    CorrectionRequest,
    CorrectionResponse,
    DecisionRequest,
    HistoryResponse,
    WaitingResponse,
)
from searchapi.corrections import correct, correction_view, decide, history, waiting_for
from searchapi.deps import AuditContextDep, Corrector, SessionDep
from searchapi.paths import IdentifierPath, ReviewPath
from searchapi.record_schemas import ChangeResponse
from searchapi.schemas import ErrorBody

router = APIRouter(
    tags=["corrections"],
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
_DECIDED = {
    "confirmed": "Confirmed: the feed's value replaces the correction.",
    "rejected": "Rejected: the correction stands.",
}


@router.post("/v1/children/{identifier}/corrections", status_code=status.HTTP_201_CREATED)
def post_correction(
    identifier: IdentifierPath,
    body: CorrectionRequest,
    principal: Corrector,
    session: SessionDep,
    context: AuditContextDep,
) -> CorrectionResponse:
    """Correct a name, a date of birth or an address, with the reason (audited; the earlier
    value is kept in the record's history)."""
    child, correction = correct(session=session, context=context, identifier=identifier, body=body)
    return CorrectionResponse(
        message="Corrected. Searches reflect this within seconds.",
        correction=correction_view(correction),
        record_version=child.record_version,
        request_id=context.request_id or "",
    )


@router.get("/v1/children/{identifier}/corrections")
def get_corrections(
    identifier: IdentifierPath, principal: Corrector, session: SessionDep, context: AuditContextDep
) -> HistoryResponse:
    """The record's history: every earlier value, who changed it, when and why (audited)."""
    rows = history(session=session, context=context, identifier=identifier)
    return HistoryResponse(
        identifier=identifier, corrections=rows, request_id=context.request_id or ""
    )


@router.get("/v1/corrections/waiting")
def get_waiting(
    principal: Corrector, session: SessionDep, context: AuditContextDep
) -> WaitingResponse:
    """Newer feed records' changes to corrected fields of your authorities' children."""
    return WaitingResponse(
        waiting=waiting_for(session=session, principal=principal),
        request_id=context.request_id or "",
    )


@router.post("/v1/corrections/waiting/{confirmation_id}")
def post_decision(
    confirmation_id: ReviewPath,
    body: DecisionRequest,
    principal: Corrector,
    session: SessionDep,
    context: AuditContextDep,
) -> ChangeResponse:
    """Confirm the feed's change (applied through the outbox) or reject it (audited)."""
    decide(
        session=session, context=context, confirmation_id=confirmation_id, decision=body.decision
    )
    return ChangeResponse(message=_DECIDED[body.decision], request_id=context.request_id)
