"""The archive's page: an archived record opened by identifier, with a reason and words.

The same service as the API's (`open_archived_record`), so the redaction and the audit have
one implementation. Everything travels in the form's post, never in an address: the reason,
the words and even the identifier reach the audit and no access log or browser history.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contactpoint.settings import Settings
from db.errors import InvalidInput
from db.vocabulary import ARCHIVE_REASONS
from searchapi.archive import open_archived_record
from searchapi.deps import ArchiveOpener, AuditContextDep, SessionDep, SettingsDep
from searchapi.pages.contact_order import contact_order
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import field, text_field
from searchapi.pages.render import render
from searchapi.paths import IDENTIFIER_PATTERN
from searchapi.refusals import mark_audited

router = APIRouter(include_in_schema=False)
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def _form(
    request: Request,
    settings: Settings,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "archive.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        errors=errors or {},
        values=values or {},
        reasons=ARCHIVE_REASONS,
    )


@router.get("/archive")
def archive_page(request: Request, principal: ArchiveOpener, settings: SettingsDep) -> Response:
    """The form: which archived child, why (the regulations' list) and in your words."""
    return _form(request, settings)


@router.post("/archive")
def archive_submit(
    request: Request,
    principal: ArchiveOpener,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """The archived record, marked ARCHIVED, for this one answer; audited with the reason."""
    values = {
        "identifier": field(form, "identifier"),
        "reason": field(form, "reason"),
        "words": text_field(form, "words"),
    }
    if not _IDENTIFIER.fullmatch(values["identifier"]):
        errors = {"identifier": "Enter the child's identifier: up to 20 letters and digits"}
        return _form(request, settings, status_code=400, errors=errors, values=values)
    try:
        view = open_archived_record(
            session=session,
            context=context,
            identifier=values["identifier"],
            reason=values["reason"],
            words=values["words"],
        )
    except InvalidInput as exc:
        # Audited by the service as a refused archive attempt: no second row for the answer.
        mark_audited(request)
        name = "reason" if exc.field == "body.reason" else "words"
        return _form(request, settings, status_code=400, errors={name: exc.message}, values=values)
    return render(
        request,
        "record.html",
        csrf=page_csrf(request, settings),
        view=view,
        manages=False,
        consents=False,
        asks=False,
        may_break_glass=False,
        changed=None,
        back_to="/archive",
        archive={"reason_label": ARCHIVE_REASONS[values["reason"]]},
        **contact_order(view),
    )
