"""Destroying archived records six years on, leaving no trace, one committed batch at a time.

Each batch, in one transaction: lock the children due (and any merged into them), drop their
queued index changes (waiting for an indexer writing them now), erase their documents from
every index of the family while every row that holds them is deleted and the audit made to
forget them (the erasure on a thread of its own; the batch commits only once it succeeded).
Elasticsearch is erased while the rows are locked, so nothing can write them back: no queued
change is left, a new one needs the locked row, and a reindex registering a build waits on
the `index_build` lock until the batch commits (its snapshot then lacks the children). A
build already registered may have read them: the batch then leaves the delete rows the triggers
queued for the indexer, which deletes from the building index too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from db.audit.forget import forget_children
from indexer.outbox import building_indices
from lifecycle.rules import ARCHIVE_YEARS, latest_start

Eraser = Callable[[Sequence[str]], None]

_DUE = text(
    """
    SELECT id FROM child
    WHERE status = 'archived' AND archived_on <= :archived_by
    ORDER BY archived_on, id LIMIT :batch
    FOR UPDATE SKIP LOCKED
    """
)
# The children merged into those due go with them (a merged-away record is part of the child).
_WITH_MERGED = text(
    """
    WITH RECURSIVE doomed (id) AS (
      SELECT unnest(CAST(:ids AS bigint[]))
      UNION
      SELECT c.id FROM child c JOIN doomed d ON c.merged_into_id = d.id
    )
    SELECT c.id, c.identifier, c.family_name, c.date_of_birth, c.postcode
    FROM child c JOIN doomed USING (id) ORDER BY c.id FOR UPDATE OF c
    """
)
# Rows that hold a destroyed child without a cascading key to it, before the child goes.
_BEFORE = [
    "DELETE FROM index_outbox WHERE child_id = ANY(:ids)",
    "DELETE FROM index_dead_letter WHERE child_id = ANY(:ids) OR identifier = ANY(:identifiers)",
    # The feeds' records of the child (its names, birth, address) and their review items.
    "DELETE FROM feed_review WHERE child_id = ANY(:ids)",
    "DELETE FROM feed_record WHERE child_id = ANY(:ids)",
    # Other records' review items that offered the child as a candidate.
    """
    UPDATE feed_review SET candidates = (
      SELECT coalesce(jsonb_agg(e.value ORDER BY e.ordinality), '[]'::jsonb)
      FROM jsonb_array_elements(candidates) WITH ORDINALITY AS e(value, ordinality)
      WHERE NOT (e.value ->> 'identifier') = ANY(:identifiers))
    WHERE jsonb_typeof(candidates) = 'array' AND EXISTS (
      SELECT 1 FROM jsonb_array_elements(candidates) AS e(value)
      WHERE (e.value ->> 'identifier') = ANY(:identifiers))
    """,
    # CMS answers kept for idempotent replays (they carry the record).
    "DELETE FROM idempotency_record WHERE body ->> 'identifier' = ANY(:identifiers)",
    # Searches kept for a signed-in session that name the child.
    """
    DELETE FROM saved_search
    WHERE criteria ->> 'identifier' = ANY(:identifiers)
       OR lower(criteria ->> 'family_name') = ANY(:family_names)
       OR criteria ->> 'date_of_birth' = ANY(:dates_of_birth)
       OR upper(replace(criteria ->> 'postcode', ' ', '')) = ANY(:postcodes)
    """,
    # Everything else holds the child by a cascading foreign key: carers, involvements,
    # shields and shield access, other names, previous addresses, field sources, source
    # identifiers, merges, requests, extensions, notifications and their deliveries, webhook
    # subscriptions, break-glass reviews, corrections and the feeds' changes waiting on them.
    "DELETE FROM child WHERE id = ANY(:ids)",
]
# The delete rows the child's trigger just queued (and any dependents' touches).
_QUEUED = "DELETE FROM index_outbox WHERE child_id = ANY(:ids)"


@dataclass(frozen=True, slots=True)
class DestroyedBatch:
    """What one batch destroyed."""

    children: int
    audit_rows_forgotten: int
    left_to_indexer: bool


def archived_by(today: date) -> date:
    """The latest archiving day whose records are destroyed on `today`."""
    return latest_start(today, ARCHIVE_YEARS)


def destroy_batch(
    *, session: Session, today: date, batch: int, erase: Eraser
) -> DestroyedBatch | None:
    """Destroy up to `batch` records due on `today` (and those merged into them), in the
    session's transaction; None when none is due. `erase` deletes documents by identifier
    from every index of the family, and raises if it cannot."""
    connection: Connection = session.connection()
    due = list(
        connection.execute(_DUE, {"archived_by": archived_by(today), "batch": batch}).scalars()
    )
    if not due:
        return None
    rows = connection.execute(_WITH_MERGED, {"ids": due}).all()
    params = {
        "ids": [row.id for row in rows],
        "identifiers": [row.identifier for row in rows],
        "family_names": sorted({row.family_name.lower() for row in rows}),
        "dates_of_birth": sorted({row.date_of_birth.isoformat() for row in rows}),
        "postcodes": sorted({row.postcode.replace(" ", "").upper() for row in rows}),
    }
    # Waits for an indexer that holds their queued changes, so its write lands before ours.
    connection.execute(text(_BEFORE[0]), params)
    # A reindex cannot register a build until this batch commits.
    connection.execute(text("LOCK TABLE index_build IN SHARE MODE"))
    building = building_indices(connection=connection)
    # Elasticsearch erases while PostgreSQL deletes (the rows stay locked, uncommitted, until
    # both are done): the batch commits only once the erasure succeeded, or rolls back.
    with ThreadPoolExecutor(max_workers=1) as pool:
        erasing = pool.submit(erase, params["identifiers"])
        try:
            for statement in _BEFORE[1:]:
                connection.execute(text(statement), params)
            if not building:
                connection.execute(text(_QUEUED), params)
            forgotten = forget_children(session=session, identifiers=params["identifiers"])
        finally:
            # Raises the erasure's failure (the caller's transaction then rolls back).
            erasing.result()
    return DestroyedBatch(
        children=len(rows), audit_rows_forgotten=forgotten, left_to_indexer=bool(building)
    )
