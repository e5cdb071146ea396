"""The guarded archive's API: an archived record, opened with a reason (docs/archive-access.md)."""

from __future__ import annotations

from fastapi import APIRouter

from searchapi.archive import open_archived_record
from searchapi.deps import ArchiveOpener, AuditContextDep, SessionDep
from searchapi.paths import IdentifierPath
from searchapi.record_schemas import ArchiveRequest, ChildRecordView
from searchapi.schemas import ErrorBody

router = APIRouter(prefix="/v1/archive", tags=["archive"])


@router.post(
    "/children/{identifier}",
    response_model=ChildRecordView,
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def open_archived(
    identifier: IdentifierPath,
    body: ArchiveRequest,
    principal: ArchiveOpener,
    session: SessionDep,
    context: AuditContextDep,
) -> ChildRecordView:
    """An archived child's record, for this one answer (status "archived"), with a reason from
    the regulations' list and words; a shield still withholds the location; audited."""
    return open_archived_record(
        session=session,
        context=context,
        identifier=identifier,
        reason=body.reason,
        words=body.words,
    )
