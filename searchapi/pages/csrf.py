"""CSRF, all of it: the form token, the checked form posts and the sign-in cookie.

A form's token is derived from a secret the browser keeps only as an HttpOnly, SameSite=Strict
cookie: the session token once signed in, a random pre-sign-in value on the sign-in page. A
post without the right token is refused (403) before any form field is read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Annotated, Final

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from contactpoint.settings import Settings
from db.access import Forbidden
from searchapi.deps import SettingsDep, credential_of

SIGN_IN_COOKIE: Final = "cp_sign_in"
_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
CSRF_REFUSAL: Final = (
    "The form had expired or did not come from this service. Go back, reload the page "
    "and try again."
)


def csrf_token(secret: str) -> str:
    """The form token tied to a secret the browser holds only as an HttpOnly cookie.

    A one-way digest: a page that shows it reveals nothing of the session token, and another
    site, which cannot read the cookie, cannot compute it.
    """
    raw = hashlib.sha256(b"contactpoint-csrf\0" + secret.encode()).digest()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def csrf_matches(secret: str | None, sent: str | None) -> bool:
    """Whether `sent` is the form token of `secret` (constant time)."""
    if not secret or not sent:
        return False
    return hmac.compare_digest(csrf_token(secret).encode(), sent.encode())


def page_csrf(request: Request, settings: Settings) -> str | None:
    """The form token of the signed-in browser's pages."""
    secret = credential_of(request, settings)
    return csrf_token(secret) if secret else None


def sign_in_secret(request: Request) -> str | None:
    """The pre-sign-in secret of this browser, if it has one."""
    return request.cookies.get(SIGN_IN_COOKIE)


def new_sign_in_secret() -> str:
    """A fresh pre-sign-in secret (ties the sign-in form to this browser)."""
    return secrets.token_urlsafe(32)


def set_sign_in_cookie(response: Response, settings: Settings, secret: str) -> None:
    """Give the browser its pre-sign-in secret, as an HttpOnly cookie of the sign-in page."""
    response.set_cookie(
        SIGN_IN_COOKIE,
        secret,
        max_age=settings.session_absolute_timeout_s,
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="strict",
        path="/sign-in",
    )


async def _form(request: Request, secret: str | None) -> FormData:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _FORM_TYPES:
        raise HTTPException(415, "Send the form of the page.")
    form = await request.form()
    sent = form.get("csrf_token")
    if not csrf_matches(secret, sent if isinstance(sent, str) else None):
        raise Forbidden(CSRF_REFUSAL)
    return form


async def _page_form(request: Request, settings: SettingsDep) -> FormData:
    return await _form(request, credential_of(request, settings))


async def _sign_in_form(request: Request) -> FormData:
    return await _form(request, sign_in_secret(request))


# Declare after the principal, so that who is asking is checked (401, 403) before the form.
PageForm = Annotated[FormData, Depends(_page_form)]
SignInForm = Annotated[FormData, Depends(_sign_in_form)]
