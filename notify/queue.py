"""The deliveries' queue in PostgreSQL: claim what is due, then record delivered, retry or dead.

A claim is a lease: the rows are taken with FOR UPDATE SKIP LOCKED (deliverers side by side
never take the same one), their attempt counted and their next attempt moved past the lease,
and committed before anything is sent. A deliverer that dies mid-send leaves them to be
claimed again when the lease ends: delivery is at least once.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

_CLAIM = text(
    """
    WITH due AS (
        SELECT id FROM notification_delivery
        WHERE state = 'pending' AND next_attempt_at <= clock_timestamp()
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE notification_delivery d
    SET attempts = d.attempts + 1,
        next_attempt_at = clock_timestamp() + make_interval(secs => :lease)
    FROM due, notification n, child c
    WHERE d.id = due.id AND n.id = d.notification_id AND c.id = n.child_id
    RETURNING d.id, d.notification_id, d.channel, d.target, d.client_id, d.attempts,
              n.kind, n.created_at, c.identifier
    """
)


@dataclass(frozen=True)
class Claimed:
    """One delivery to attempt now."""

    id: int
    notification_id: uuid.UUID
    channel: str
    target: str
    client_id: int | None
    attempts: int
    kind: str
    created_at: datetime
    identifier: str


def claim(*, connection: Connection, limit: int, lease_s: float) -> list[Claimed]:
    """Take up to `limit` due deliveries for `lease_s` seconds (the caller commits)."""
    rows = connection.execute(_CLAIM, {"limit": limit, "lease": lease_s})
    return [Claimed(**row._mapping) for row in rows]


def backoff_s(attempts: int, *, base_s: float, cap_s: float) -> float:
    """The wait after the `attempts`-th failure: doubling from the base, capped, with jitter
    (half to all of it), so that a receiver back from an outage is not hit all at once."""
    ceiling: float = min(cap_s, base_s * 2.0 ** max(attempts - 1, 0))
    return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret


def delivered(*, connection: Connection, delivery_id: int) -> None:
    """Record a delivery done."""
    connection.execute(
        text(
            "UPDATE notification_delivery SET state = 'delivered',"
            " delivered_at = clock_timestamp(), last_error = NULL WHERE id = :id"
        ),
        {"id": delivery_id},
    )


def failed(
    *, connection: Connection, delivery_id: int, error: str, retry_in_s: float | None
) -> None:
    """Record a failed attempt: tried again after `retry_in_s`, or dead when it is None."""
    connection.execute(
        text(
            "UPDATE notification_delivery SET last_error = :error,"
            " state = CASE WHEN :dead THEN 'dead' ELSE 'pending' END,"
            " next_attempt_at = clock_timestamp() + make_interval(secs => :wait)"
            " WHERE id = :id"
        ),
        {
            "id": delivery_id,
            "error": error[:2000],
            "dead": retry_in_s is None,
            "wait": retry_in_s or 0.0,
        },
    )


@dataclass(frozen=True)
class QueueStatus:
    """What `contactpoint notify status` prints."""

    counts: dict[str, dict[str, int]]
    oldest_pending: datetime | None
    dead: list[dict[str, Any]]


def queue_status(*, connection: Connection, dead_limit: int = 20) -> QueueStatus:
    """Counts by channel and state, the oldest pending delivery, the latest dead letters."""
    counts: dict[str, dict[str, int]] = {}
    for row in connection.execute(
        text(
            "SELECT channel, state, count(*) AS n FROM notification_delivery"
            " GROUP BY channel, state ORDER BY channel, state"
        )
    ):
        counts.setdefault(row.channel, {})[row.state] = int(row.n)
    oldest = connection.execute(
        text("SELECT min(created_at) FROM notification_delivery WHERE state = 'pending'")
    ).scalar_one()
    dead = [
        {
            "id": row.id,
            "notification_id": str(row.notification_id),
            "channel": row.channel,
            "target": row.target,
            "attempts": row.attempts,
            "last_error": row.last_error,
        }
        for row in connection.execute(
            text(
                "SELECT id, notification_id, channel, target, attempts, last_error"
                " FROM notification_delivery WHERE state = 'dead' ORDER BY id DESC LIMIT :n"
            ),
            {"n": dead_limit},
        )
    ]
    return QueueStatus(counts=counts, oldest_pending=oldest, dead=dead)


def retry_dead(*, connection: Connection, channel: str | None = None) -> int:
    """Dead deliveries back to pending, due now, their attempts counted afresh; how many."""
    result = connection.execute(
        text(
            "UPDATE notification_delivery SET state = 'pending', attempts = 0,"
            " next_attempt_at = clock_timestamp()"
            " WHERE state = 'dead' AND (CAST(:channel AS text) IS NULL OR channel = :channel)"
        ),
        {"channel": channel},
    )
    return int(result.rowcount)
