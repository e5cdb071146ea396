"""A signed-in browser's session, for the API and the pages: its cookie, and its end."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Response
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import revoke_session
from db.audit import AuditContext, AuditEventType, record_audit


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    """The session cookie of the API and the pages: HttpOnly, SameSite=Strict, Secure."""
    response.set_cookie(
        settings.session_cookie_name,
        token,
        max_age=settings.session_absolute_timeout_s,
        httponly=True,
        secure=settings.session_cookie_secure,
        samesite="strict",
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(
        settings.session_cookie_name,
        path="/",
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="strict",
    )


def end_session(*, session: Session, context: AuditContext) -> None:
    """Revoke the principal's session and audit the sign-out."""
    principal = context.actor
    assert principal.session_id is not None
    revoke_session(session=session, session_id=principal.session_id, now=datetime.now(UTC))
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.SIGN_OUT,
        details={"session_id": principal.session_id},
    )
