"""Sign-in, sign-out and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Response

from db.access import Attempt, sign_in
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
from searchapi.sessions import clear_session_cookie, end_session, set_session_cookie

router = APIRouter(tags=["auth"])


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
