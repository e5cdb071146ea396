"""Incremental sync: outbox → current child records → bulk write → acknowledge.

An outbox row is deleted only in the transaction that saw Elasticsearch acknowledge its write
(or that recorded it as a dead letter), so a crash anywhere leaves it queued for the next run.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import Connection, Engine

from indexer.actions import delete_action, index_action
from indexer.bulk import BulkOutcome, TransientBulkError, write_with_retries
from indexer.indices import alias_state
from indexer.outbox import (
    CHANNEL,
    OutboxRow,
    acknowledge,
    building_indices,
    claim_batch,
    dead_letter,
)
from indexer.retry import RetryPolicy, is_transient, pausing
from indexer.source import children_by_id

log = logging.getLogger(__name__)

Writer = Callable[[Elasticsearch, list[dict[str, Any]]], BulkOutcome]


class NoLiveIndexError(RuntimeError):
    """The read alias points nowhere yet: a full reindex must build the first index."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    claimed: int
    written: int
    superseded: int
    dead_lettered: int


def target_indices(*, connection: Connection, client: Elasticsearch, alias: str) -> list[str]:
    """The live index behind the alias, and any index a reindex is building."""
    # PostgreSQL first: a reindex swaps the alias, then marks its build done. Read in this order,
    # a build seen done was swapped in before the alias is read; read the other way, a reindex
    # finishing between the two reads leaves its new index out, and the change is lost there.
    building = building_indices(connection=connection)
    live = alias_state(client, alias=alias).live
    if live is None and not building:
        raise NoLiveIndexError(f"alias {alias!r} points at no index; run `contactpoint reindex`")
    return list(dict.fromkeys([*([live] if live else []), *building]))


def _actions(
    connection: Connection, rows: list[OutboxRow], targets: list[str]
) -> list[dict[str, Any]]:
    records = children_by_id(connection=connection, child_ids=sorted({r.child_id for r in rows}))
    deleted: dict[str, int] = {}
    for row in rows:
        if row.child_id not in records:
            deleted[row.identifier] = max(deleted.get(row.identifier, 0), row.record_version)
    actions: list[dict[str, Any]] = []
    for index in targets:
        actions.extend(index_action(record, index=index) for record in records.values())
        actions.extend(
            delete_action(identifier=identifier, record_version=version, index=index)
            for identifier, version in deleted.items()
        )
    return actions


def process_batch(
    *,
    engine: Engine,
    client: Elasticsearch,
    alias: str,
    limit: int,
    writer: Writer,
) -> BatchResult:
    """Index one batch of queued changes; raises TransientBulkError to leave them queued."""
    with engine.begin() as connection:
        rows = claim_batch(connection=connection, limit=limit)
        if not rows:
            return BatchResult(0, 0, 0, 0)
        targets = target_indices(connection=connection, client=client, alias=alias)
        outcome = writer(client, _actions(connection, rows, targets))
        if outcome.retryable:
            raise TransientBulkError(outcome.retryable)
        rejected_ids = {doc_id: reason for (_, doc_id), reason in outcome.rejected.items()}
        failed = [row for row in rows if row.identifier in rejected_ids]
        if failed:
            log.error("%d documents rejected by Elasticsearch; see `indexer status`", len(failed))
            dead_letter(
                connection=connection,
                rows=failed,
                reasons={row.id: rejected_ids[row.identifier] for row in failed},
            )
        acknowledge(connection=connection, ids=[row.id for row in rows])
    return BatchResult(
        claimed=len(rows),
        written=len(outcome.written),
        superseded=len(outcome.superseded),
        dead_lettered=len(failed),
    )


def retrying_writer(policy: RetryPolicy) -> Writer:
    """The default writer: transient failures are retried per document (`indexer.retry`)."""

    def write(client: Elasticsearch, actions: list[dict[str, Any]]) -> BulkOutcome:
        return write_with_retries(client, actions, policy=policy)

    return write


def drain(*, engine: Engine, client: Elasticsearch, alias: str, limit: int, writer: Writer) -> int:
    """Process batches until the outbox is empty; returns the number of changes processed."""
    total = 0
    while True:
        result = process_batch(
            engine=engine, client=client, alias=alias, limit=limit, writer=writer
        )
        total += result.claimed
        if result.claimed == 0:
            return total


def run_forever(
    *,
    engine: Engine,
    client: Elasticsearch,
    alias: str,
    limit: int,
    writer: Writer,
    poll_interval_s: float,
    max_backoff_s: float,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Consume the outbox until `should_stop()`: woken by NOTIFY, polling as a fallback."""
    listener = engine.raw_connection()
    dbapi: Any = listener.driver_connection
    # The listening connection is switched to autocommit: it must never go back to the pool,
    # where a loader's transaction would silently run in autocommit mode.
    listener.detach()
    try:
        dbapi.autocommit = True
        with dbapi.cursor() as cur:
            cur.execute(f"LISTEN {CHANNEL}")
        # A batch left queued, no index yet or Elasticsearch gone: pause, then drain again.
        # PostgreSQL gone ends this loop: its listening connection is gone with it.
        pause = pausing(
            what="indexing",
            pause_on=lambda exc: (
                isinstance(exc, TransientBulkError | NoLiveIndexError) or is_transient(exc)
            ),
            max_pause_s=max_backoff_s,
            should_stop=should_stop,
        )
        while not should_stop():
            processed = pause(
                drain, engine=engine, client=client, alias=alias, limit=limit, writer=writer
            )
            if processed:
                log.info("indexed %d queued changes", processed)
            # Sleep until a trigger's NOTIFY or the poll interval, whichever comes first.
            if select.select([dbapi], [], [], poll_interval_s)[0]:
                dbapi.poll()
                dbapi.notifies.clear()
    finally:
        dbapi.close()
