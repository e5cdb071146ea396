"""Sign-in, sign-out and who am I."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Attempt, revoke_session, sign_in
from db.audit import AuditContext, AuditEventType, record_audit
from searchapi.access import permissions_of
from searchapi.deps import (
    PUBLIC,
    AuditContextDep,
    RequestContextDep,
    SessionDep,
    SettingsDep,
    SignedIn,
    SigningOut,
)
from searchapi.schemas import Done, LoginRequest, LoginResponse, Me, error_responses

router = APIRouter(tags=["auth"])


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


@router.post("/v1/auth/login", dependencies=[PUBLIC], responses=error_responses(429))
def login(
    body: LoginRequest,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    context: RequestContextDep,
) -> LoginResponse:
    """Check username, password, PIN and one-time code; open a session (cookie and token)."""
    signed = sign_in(
        session=session,
        settings=settings,
        attempt=Attempt(
            username=body.username,
            password=body.password,
            pin=body.pin,
            code=body.code,
        ),
        context=context,
    )
    set_session_cookie(response, settings, signed.token)
    return LoginResponse(
        token=signed.token,
        expires_at=signed.expires_at,
        idle_timeout_s=settings.session_idle_timeout_s,
        me=Me.of(signed.principal, permissions_of(signed.principal)),
    )


@router.post("/v1/auth/logout")
def logout(
    principal: SigningOut,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Done:
    """End the current session."""
    end_session(session=session, context=context)
    clear_session_cookie(response, settings)
    return Done(message="Signed out.")


@router.get("/v1/me")
def me(principal: SignedIn) -> Me:
    """The acting principal: user, roles, authorities, client and permissions."""
    return Me.of(principal, permissions_of(principal))
