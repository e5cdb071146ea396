"""Ended involvements leave the record once they have shown as ended for the configured years
(LIFECYCLE_ENDED_INVOLVEMENT_YEARS, two by default); the index follows through the outbox."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from lifecycle.rules import latest_start

_EXPIRE = text(
    """
    DELETE FROM involvement WHERE id IN (
      SELECT id FROM involvement WHERE end_date <= :ended_by
      ORDER BY end_date, id LIMIT :batch FOR UPDATE SKIP LOCKED
    )
    """
)


def expire_batch(*, connection: Connection, today: date, years: int, batch: int) -> int:
    """Remove up to `batch` involvements that ended `years` or more before `today`."""
    ended_by = latest_start(today, years)
    return int(connection.execute(_EXPIRE, {"ended_by": ended_by, "batch": batch}).rowcount)
