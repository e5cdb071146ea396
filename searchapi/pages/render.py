"""Rendering of the practitioners' pages: the Jinja2 templates and the HTML error page.

Kept free of request dependencies so that `searchapi.errors` can render a page without a cycle.
The templates and static files stay in `searchapi/templates` and `searchapi/static`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from contactpoint.settings import get_settings
from db.access import Principal
from searchapi.access import Permission, permissions_of

PACKAGE_DIR: Final = Path(__file__).parent.parent
STATIC_DIR: Final = PACKAGE_DIR / "static"
SERVICE_NAME: Final = "ContactPoint"
# API paths answer JSON whatever the caller accepts; everything else is a page for a browser.
_API_PREFIXES: Final = ("/v1/", "/healthz", "/static/")


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """The count and its noun, agreeing: "1 account", "2 accounts", "3 children"."""
    noun = singular if count == 1 else plural_form or f"{singular}s"
    return f"{count:,} {noun}"


templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
templates.env.globals["Permission"] = Permission
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
    return templates.TemplateResponse(
        request,
        template,
        {
            "service_name": SERVICE_NAME,
            "principal": principal,
            "may": page_permissions(principal),
            "csrf_token": csrf,
            "idle_s": get_settings().session_idle_timeout_s,
            **context,
        },
        status_code=status_code,
    )


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
    return render(request, "error.html", status_code=status, title=title, message=message)
