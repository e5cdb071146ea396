"""Server-side sessions: opened at sign-in, found by the digest of their token, revocable."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access.credentials import digest, new_session_token
from db.models import AppUser, SavedSearch, UserSession

# The opaque token of a kept search, as `save_search` makes it (and the schema's CHECK).
RESULTS_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{22,64}")
# The searches a session keeps (the newest): enough for any number of tabs and Backs.
SAVED_SEARCHES_KEPT: Final = 50


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
    """End one session (sign-out), and forget the searches it kept."""
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(delete(SavedSearch).where(SavedSearch.session_id == session_id))


def revoke_user_sessions(*, session: Session, user_id: int, now: datetime) -> int:
    """End every live session of a user (suspension, reset); how many were ended."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(UserSession.id)
    )
    ended = [row for (row,) in result]
    if ended:
        session.execute(delete(SavedSearch).where(SavedSearch.session_id.in_(ended)))
    return len(ended)


def save_search(*, session: Session, session_id: int, criteria: dict[str, Any]) -> str:
    """Keep what a session typed into the search form; the opaque token of its results page.

    The session keeps its newest `SAVED_SEARCHES_KEPT` searches; older ones are forgotten.
    """
    token = secrets.token_urlsafe(16)
    session.add(SavedSearch(token=token, session_id=session_id, criteria=criteria))
    session.flush()
    kept = (
        select(SavedSearch.id)
        .where(SavedSearch.session_id == session_id)
        .order_by(SavedSearch.created_at.desc(), SavedSearch.id.desc())
        .limit(SAVED_SEARCHES_KEPT)
    )
    session.execute(
        delete(SavedSearch).where(
            SavedSearch.session_id == session_id, SavedSearch.id.not_in(kept.scalar_subquery())
        )
    )
    return token


def saved_search(*, session: Session, session_id: int, token: str) -> dict[str, Any] | None:
    """What the session typed under `token`; None for another session's token or none."""
    return session.scalar(
        select(SavedSearch.criteria).where(
            SavedSearch.token == token, SavedSearch.session_id == session_id
        )
    )
