"""The one page that asks again before a change that cannot simply be undone.

Removing a shield, suspending an account and revoking a client's key are each asked on a page
of their own (GOV.UK's "Are you sure" pattern): what will happen, a warning button that posts
the change with `confirm=yes`, and a way back that changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import HTMLResponse

from contactpoint.settings import Settings
from searchapi.pages.csrf import page_csrf
from searchapi.pages.render import render


@dataclass(frozen=True)
class Confirmation:
    """What the page asks, what it warns of, and where its two answers lead."""

    question: str
    warning: str
    action: str
    button: str
    cancel_href: str
    cancel_label: str = "Cancel"
    caption: str | None = None
    # Rows of the summary list: what is about to change.
    summary: Sequence[tuple[str, str]] = ()
    # Posted back with the answer, besides the form token and confirm=yes.
    hidden: Mapping[str, str] = field(default_factory=dict)
    back_label: str = "Back"


def confirmation_page(
    request: Request, settings: Settings, confirmation: Confirmation
) -> HTMLResponse:
    """The question as a page; only its warning button's post makes the change."""
    return render(
        request,
        "confirm.html",
        csrf=page_csrf(request, settings),
        confirmation=confirmation,
    )
