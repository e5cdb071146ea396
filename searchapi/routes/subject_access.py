"""Subject access reports: the JSON export and the PDF of what ContactPoint holds about a child,
for a manager of the child's authority (docs/subject-access.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from searchapi.deps import AuditContextDep, SessionDep, SubjectAccessor
from searchapi.paths import IdentifierPath
from searchapi.schemas import ErrorBody
from searchapi.subject_access import produce_report

router = APIRouter(
    prefix="/v1/children/{identifier}",
    tags=["subject access"],
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)
# "include": a shielded child's location goes into the report (audited as such).
LocationQuery = Annotated[Literal["withhold", "include"], Query()]


def _attachment(identifier: str, suffix: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="subject-access-{identifier}.{suffix}"',
        "Cache-Control": "no-store",
    }


@router.get(
    "/subject-access",
    response_class=JSONResponse,
    responses={200: {"description": "The report's data", "content": {"application/json": {}}}},
)
def get_subject_access(
    identifier: IdentifierPath,
    principal: SubjectAccessor,
    session: SessionDep,
    context: AuditContextDep,
    location: LocationQuery = "withhold",
) -> JSONResponse:
    """The report as JSON: the record, each field's source, the shield's existence, every
    involvement and who searched for or viewed the child (audited)."""
    report: dict[str, Any]
    report, _ = produce_report(
        session=session,
        context=context,
        identifier=identifier,
        include_location=location == "include",
        formats=["json"],
    )
    return JSONResponse(report, headers=_attachment(identifier, "json"))


@router.get(
    "/subject-access.pdf",
    response_class=Response,
    responses={200: {"description": "The report", "content": {"application/pdf": {}}}},
)
def get_subject_access_pdf(
    identifier: IdentifierPath,
    principal: SubjectAccessor,
    session: SessionDep,
    context: AuditContextDep,
    location: LocationQuery = "withhold",
) -> Response:
    """The same report as a PDF, to hand over (audited)."""
    _, pdf = produce_report(
        session=session,
        context=context,
        identifier=identifier,
        include_location=location == "include",
        formats=["pdf"],
    )
    assert pdf is not None
    return Response(pdf, media_type="application/pdf", headers=_attachment(identifier, "pdf"))
