"""Sign-in rate limits and lockout, kept in PostgreSQL so that every API process shares them."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.models import SignInLockout, SignInThrottle


def _window_start(now: datetime, window_s: int) -> datetime:
    epoch = math.floor(now.timestamp() / window_s) * window_s
    return datetime.fromtimestamp(epoch, tz=UTC)


def count_attempt(
    *, session: Session, bucket: str, limit: int, window_s: int, now: datetime
) -> int | None:
    """Count an attempt in `bucket`'s current window; the seconds to wait when over `limit`."""
    start = _window_start(now, window_s)
    statement = (
        insert(SignInThrottle)
        .values(bucket=bucket, window_start=start, hits=1)
        .on_conflict_do_update(
            index_elements=["bucket", "window_start"],
            set_={"hits": SignInThrottle.hits + 1},
        )
        .returning(SignInThrottle.hits)
    )
    hits = session.execute(statement).scalar_one()
    if hits <= limit:
        return None
    return max(1, math.ceil((start + timedelta(seconds=window_s) - now).total_seconds()))


def forget_old_windows(*, session: Session, window_s: int, now: datetime) -> None:
    """Delete the counters of windows that have ended (the table stays small)."""
    cutoff = _window_start(now, window_s)
    session.execute(delete(SignInThrottle).where(SignInThrottle.window_start < cutoff))


def locked_until(*, session: Session, username: str, now: datetime) -> datetime | None:
    """When the lockout of `username` ends, if it is locked now."""
    until = session.scalars(
        select(SignInLockout.locked_until).where(SignInLockout.username == username)
    ).one_or_none()
    return until if until is not None and until > now else None


def record_failure(
    *, session: Session, username: str, threshold: int, duration_s: int, now: datetime
) -> datetime | None:
    """Count a failed sign-in of `username`; when the account is now locked, until when.

    Failures count while they are consecutive and less than the lockout duration apart, so a
    few mistakes spread over months never lock anyone out.
    """
    session.execute(
        insert(SignInLockout)
        .values(username=username, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["username"])
    )
    row = session.scalars(
        select(SignInLockout).where(SignInLockout.username == username).with_for_update()
    ).one()
    duration = timedelta(seconds=duration_s)
    stale = now - row.last_failure_at > duration
    expired = row.locked_until is not None and row.locked_until <= now
    row.failures = 1 if stale or expired else row.failures + 1
    row.last_failure_at = now
    row.locked_until = now + duration if row.failures >= threshold else None
    session.flush()
    return row.locked_until


def clear_failures(*, session: Session, username: str) -> None:
    """Forget the failures of `username` (after a successful sign-in or a reset)."""
    session.execute(delete(SignInLockout).where(SignInLockout.username == username))
