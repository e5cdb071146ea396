"""Server-side sessions: opened at sign-in, found by the digest of their token, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access.credentials import digest, new_session_token
from db.models import AppUser, UserSession


@dataclass(frozen=True)
class SessionLimits:
    """How long a session lives without use, and at most (from the settings)."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionLimits:
        """The limits configured for this deployment."""
        return cls(
            idle=timedelta(seconds=settings.session_idle_timeout_s),
            absolute=timedelta(seconds=settings.session_absolute_timeout_s),
        )


def open_session(
    *, session: Session, user: AppUser, client_address: str | None, now: datetime
) -> tuple[str, UserSession]:
    """A new session of `user`: the token (given to the caller once) and the stored row."""
    token = new_session_token()
    row = UserSession(
        token_hash=digest(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        client_address=client_address,
    )
    session.add(row)
    session.flush()
    return token, row


def purge_ended_sessions(
    *, session: Session, user_id: int, limits: SessionLimits, now: datetime
) -> int:
    """Delete a user's sessions that can no longer be used (signed out, revoked, idle or too
    old); run at each sign-in, so the table holds about the sessions in use. How many went."""
    result = session.execute(
        delete(UserSession)
        .where(
            UserSession.user_id == user_id,
            (UserSession.revoked_at.is_not(None))
            | (UserSession.last_seen_at < now - limits.idle)
            | (UserSession.created_at < now - limits.absolute),
        )
        .returning(UserSession.id)
    )
    return len(result.all())


def revoke_session(*, session: Session, session_id: int, now: datetime) -> None:
    """End one session (sign-out)."""
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_user_sessions(*, session: Session, user_id: int, now: datetime) -> int:
    """End every live session of a user (suspension, reset); how many were ended."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(UserSession.id)
    )
    return len(result.all())
