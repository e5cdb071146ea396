"""The inbox page: the signed-in person's notices, newest first, marked read once shown."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from searchapi.deps import AuditContextDep, InboxReader, SessionDep, SettingsDep
from searchapi.inbox import read_inbox, recipient_of
from searchapi.pages.csrf import page_csrf
from searchapi.pages.render import render

router = APIRouter(include_in_schema=False)


@router.get("/inbox")
def inbox_page(
    request: Request,
    principal: InboxReader,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """The notices of the practitioner with the reader's e-mail address (and a manager's
    teams'); those shown unread are marked read, so the header's count is then none."""
    items = read_inbox(session=session, context=context)
    return render(
        request,
        "inbox.html",
        csrf=page_csrf(request, settings),
        items=items,
        has_email=bool(recipient_of(principal).email or recipient_of(principal).teams),
        inbox_unread=0,
    )
