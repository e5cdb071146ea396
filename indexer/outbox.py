"""The indexer's bookkeeping in PostgreSQL: the outbox, dead letters and index builds.

Every statement on `index_outbox`, `index_dead_letter` and `index_build` is here (the triggers
that fill the outbox are in the migrations): the outbox consumer, the reindex and the commands
call these functions, so what one writes and another reads is visible in one file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

# The triggers NOTIFY this channel whenever they queue a change.
CHANNEL = "index_outbox"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    child_id: int
    identifier: str
    record_version: int
    operation: str
    enqueued_at: datetime


@dataclass(frozen=True, slots=True)
class QueueStatus:
    depth: int
    lag_seconds: float
    dead_letters: int
    building: tuple[str, ...]


def claim_batch(*, connection: Connection, limit: int) -> list[OutboxRow]:
    """Lock the oldest queued changes; rows locked by another indexer are skipped."""
    rows = connection.execute(
        text(
            "SELECT id, child_id, identifier, record_version, operation, enqueued_at "
            "FROM index_outbox ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
        ),
        {"limit": limit},
    )
    return [OutboxRow(*row) for row in rows]


def acknowledge(*, connection: Connection, ids: Sequence[int]) -> None:
    """Remove changes that Elasticsearch has acknowledged (or that went to dead letters)."""
    if ids:
        connection.execute(
            text("DELETE FROM index_outbox WHERE id = ANY(:ids)"), {"ids": list(ids)}
        )


def dead_letter(
    *, connection: Connection, rows: Sequence[OutboxRow], reasons: Mapping[int, str]
) -> None:
    """Record changes whose documents Elasticsearch rejected, with the reason."""
    if not rows:
        return
    connection.execute(
        text(
            "INSERT INTO index_dead_letter "
            "(child_id, identifier, record_version, operation, reason, enqueued_at) "
            "VALUES (:child_id, :identifier, :record_version, :operation, :reason, :enqueued_at)"
        ),
        [
            {
                "child_id": row.child_id,
                "identifier": row.identifier,
                "record_version": row.record_version,
                "operation": row.operation,
                "reason": reasons[row.id],
                "enqueued_at": row.enqueued_at,
            }
            for row in rows
        ],
    )


def queue_children(*, connection: Connection, identifiers: Sequence[str]) -> int:
    """Queue some children again at their current state; returns how many were queued.

    A child deleted meanwhile is not queued: its deletion queued a change of its own.
    """
    if not identifiers:
        return 0
    queued = connection.execute(
        text(
            "INSERT INTO index_outbox (child_id, identifier, record_version, operation) "
            "SELECT id, identifier, record_version, 'upsert' FROM child "
            "WHERE identifier = ANY(:identifiers)"
        ),
        {"identifiers": list(identifiers)},
    )
    return int(queued.rowcount or 0)


def queue_changed_since(*, connection: Connection, since: datetime | None) -> None:
    """Queue every child changed at or after `since` (every child when it is None)."""
    connection.execute(
        text(
            "INSERT INTO index_outbox (child_id, identifier, record_version, operation) "
            "SELECT id, identifier, record_version, 'upsert' FROM child "
            "WHERE CAST(:since AS timestamptz) IS NULL OR updated_at >= :since"
        ),
        {"since": since},
    )


def set_build_state(*, connection: Connection, name: str, state: str) -> None:
    """Record a physical index as 'building', 'done' or 'failed'."""
    connection.execute(
        text(
            "INSERT INTO index_build (name, state) VALUES (:name, :state) "
            "ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, "
            "finished_at = CASE WHEN EXCLUDED.state = 'building' THEN NULL "
            "ELSE clock_timestamp() END"
        ),
        {"name": name, "state": state},
    )


def build_started_at(*, connection: Connection, name: str) -> datetime | None:
    """When the build of a physical index began, or None for an index built elsewhere."""
    started: datetime | None = connection.execute(
        text("SELECT started_at FROM index_build WHERE name = :name"), {"name": name}
    ).scalar()
    return started


def building_indices(*, connection: Connection) -> list[str]:
    """Indices a reindex is building: changes go to them as well as to the live one."""
    return list(
        connection.execute(
            text("SELECT name FROM index_build WHERE state = 'building' ORDER BY name")
        ).scalars()
    )


def queue_status(*, connection: Connection) -> QueueStatus:
    row = connection.execute(
        text(
            "SELECT (SELECT count(*) FROM index_outbox), "
            "COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - "
            "(SELECT min(enqueued_at) FROM index_outbox)), 0), "
            "(SELECT count(*) FROM index_dead_letter)"
        )
    ).one()
    return QueueStatus(
        depth=int(row[0]),
        lag_seconds=float(row[1]),
        dead_letters=int(row[2]),
        building=tuple(building_indices(connection=connection)),
    )


def requeue_dead_letters(*, connection: Connection) -> int:
    """Queue every dead-lettered child again at its current state; returns how many."""
    moved = connection.execute(
        text(
            "WITH gone AS (DELETE FROM index_dead_letter RETURNING child_id, identifier, "
            "record_version, operation) "
            "INSERT INTO index_outbox (child_id, identifier, record_version, operation) "
            "SELECT DISTINCT g.child_id, g.identifier, "
            "COALESCE(c.record_version, g.record_version), "
            "CASE WHEN c.id IS NULL THEN 'delete' ELSE 'upsert' END "
            "FROM gone g LEFT JOIN child c ON c.id = g.child_id"
        )
    )
    return int(moved.rowcount or 0)


def recent_dead_letters(*, connection: Connection, limit: int = 20) -> list[tuple[str, int, str]]:
    rows = connection.execute(
        text(
            "SELECT identifier, record_version, reason FROM index_dead_letter "
            "ORDER BY failed_at DESC LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [(row[0], int(row[1]), str(row[2])) for row in rows]
