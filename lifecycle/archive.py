"""Archiving at 18, set-based: one UPDATE per batch, the index following through the outbox.

A child is archived on the day of their 18th birthday (lifecycle.rules) unless an extension
is in force: its review date not yet passed, and the young person not yet 25.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from lifecycle.rules import ADULT_AGE, EXTENSION_LIMIT_AGE, latest_start

_EXTENSION_IN_FORCE = """
    c.date_of_birth > :born_by_25
    AND EXISTS (SELECT 1 FROM child_extension e
                WHERE e.child_id = c.id AND e.review_on >= :today)
"""

_ARCHIVE = text(
    f"""
    WITH due AS (
      SELECT c.id FROM child c
      WHERE c.status = 'active' AND c.date_of_birth <= :born_by_18
        AND NOT ({_EXTENSION_IN_FORCE})
      ORDER BY c.date_of_birth, c.id
      LIMIT :batch
      FOR UPDATE OF c SKIP LOCKED
    )
    UPDATE child SET status = 'archived', archived_on = :today
    FROM due WHERE child.id = due.id
    """
)

_KEPT = text(
    f"""
    SELECT count(*) FROM child c
    WHERE c.status = 'active' AND c.date_of_birth <= :born_by_18 AND {_EXTENSION_IN_FORCE}
    """
)


def _bounds(today: date) -> dict[str, date]:
    return {
        "today": today,
        "born_by_18": latest_start(today, ADULT_AGE),
        "born_by_25": latest_start(today, EXTENSION_LIMIT_AGE),
    }


def archive_batch(*, connection: Connection, today: date, batch: int) -> int:
    """Archive up to `batch` children due on `today`; returns how many were archived."""
    result = connection.execute(_ARCHIVE, {**_bounds(today), "batch": batch})
    return int(result.rowcount)


def count_extended(*, connection: Connection, today: date) -> int:
    """The children past 18 on `today` that an extension in force keeps on ContactPoint."""
    return int(connection.execute(_KEPT, _bounds(today)).scalar_one())
