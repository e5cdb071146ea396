"""Rendering of the practitioners' pages: the Jinja2 templates and the HTML error page.

Kept free of request dependencies so that `searchapi.errors` can render a page without a cycle.
The templates and static files stay in `searchapi/templates` and `searchapi/static`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from contactpoint.settings import get_settings
from db.access import Principal
from searchapi.access import Permission, permissions_of
from searchapi.pages.words import label, plural

PACKAGE_DIR: Final = Path(__file__).parent.parent
STATIC_DIR: Final = PACKAGE_DIR / "static"
SERVICE_NAME: Final = "ContactPoint"
# API paths answer JSON whatever the caller accepts; everything else is a page for a browser.
_API_PREFIXES: Final = ("/v1/", "/healthz", "/static/")


templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
templates.env.globals["Permission"] = Permission
templates.env.filters["label"] = label
# `{{ total | plural("account") }}`, `{{ n | plural("child", "children") }}`.
templates.env.filters["plural"] = plural


def page_permissions(principal: object) -> frozenset[Permission]:
    """What the signed-in principal may do, for the navigation (nothing when signed out)."""
    return permissions_of(principal) if isinstance(principal, Principal) else frozenset()


def wants_page(request: Request) -> bool:
    """Whether a browser asked for a page (HTML errors and sign-in redirects), not the API."""
    path = request.url.path
    accepts = request.headers.get("accept", "")
    return not path.startswith(_API_PREFIXES) and "text/html" in accepts


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page of the layout; `csrf` is the token every form of the page carries.

    `may` holds the principal's permissions: the navigation shows only what it may use.
    """
    principal = getattr(request.state, "principal", None)
    settings = get_settings()
    if "inbox_unread" not in context:
        context["inbox_unread"] = _inbox_unread(request, principal, status_code)
    # When the page was made: a printout's marking says when and by whom (the script puts the
    # moment of printing instead).
    made = datetime.now(UTC).astimezone(ZoneInfo(settings.working_hours_timezone))
    return templates.TemplateResponse(
        request,
        template,
        {
            "service_name": SERVICE_NAME,
            "principal": principal,
            "may": page_permissions(principal),
            "csrf_token": csrf,
            "idle_s": settings.session_idle_timeout_s,
            "printed_at": made.strftime("%-d %B %Y at %H:%M"),
            **context,
        },
        status_code=status_code,
    )


def _inbox_unread(request: Request, principal: object, status_code: int) -> int | None:
    """The header's unread count: one COUNT, for a signed-in reader of an inbox (None on an
    error page, which may come after the request's transaction ended)."""
    # Imported here: the inbox leans on the record view, which this module must not load.
    from searchapi.inbox import recipient_of, unread_of

    if status_code >= 400 or not isinstance(principal, Principal):
        return None
    if Permission.READ_INBOX not in page_permissions(principal):
        return None
    recipient = recipient_of(principal)
    if not recipient.email and not recipient.teams:
        return None
    factory = getattr(request.app.state, "session_factory", None)
    if factory is None:
        return None
    with factory() as session:
        return unread_of(session=session, principal=principal)


def page_error(request: Request, status: int, message: str, *, expired: bool = False) -> Response:
    """A refusal as a page: to sign-in when not (or no longer) signed in, else the reason."""
    if status == 401:
        return RedirectResponse("/sign-in?expired=1" if expired else "/sign-in", status_code=303)
    titles = {
        403: "You cannot do this",
        404: "Page not found",
        409: "This has already been done",
        415: "Use the form on the page",
        422: "There is a problem with what was sent",
        429: "Too many attempts",
        503: "Sorry, the service is unavailable",
    }
    title = titles.get(status, "Sorry, there is a problem with the service")
    return render(
        request,
        "error.html",
        status_code=status,
        csrf=_error_page_csrf(request),
        title=title,
        message=message,
    )


def _error_page_csrf(request: Request) -> str | None:
    """The form token of a signed-in browser's refusal page, so that it keeps the navigation
    and Sign out (none for a signed-out browser or an API credential)."""
    # Imported here: the CSRF module leans on the dependencies, which render errors with this.
    from searchapi.pages.csrf import csrf_token

    secret = request.cookies.get(get_settings().session_cookie_name)
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal) or not secret or "authorization" in request.headers:
        return None
    return csrf_token(secret)
