"""The bulk build of a reindex: one PostgreSQL snapshot → documents → bulk chunks, retried.

Documents are built in the reading process or in worker processes (`indexer.building`); the
chunks are written several at a time, each retried per document as `indexer.retry` sets out.
What could not be written is returned with its reason, for the reindex to decide.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import Connection

from indexer.actions import index_action
from indexer.building import built_actions
from indexer.bulk import write_chunks_with_retries
from indexer.progress import ProgressCallback
from indexer.retry import RetryPolicy
from indexer.source import count_children, iter_all_children
from mappings.document import IndexedChild


@dataclass
class StageTimes:
    """Seconds spent reading PostgreSQL and building documents (in worker processes, if any),
    and merging the new index's segments once it serves."""

    read_s: float = 0.0
    build_s: float = 0.0
    merge_s: float = 0.0


def _timed_records(records: Iterator[IndexedChild], stages: StageTimes) -> Iterator[IndexedChild]:
    while True:
        started = time.perf_counter()
        try:
            record = next(records)
        except StopIteration:
            stages.read_s += time.perf_counter() - started
            return
        stages.read_s += time.perf_counter() - started
        yield record


def _timed_actions(
    records: Iterator[IndexedChild], *, index: str, stages: StageTimes
) -> Iterator[dict[str, Any]]:
    for record in records:
        started = time.perf_counter()
        action = index_action(record, index=index)
        stages.build_s += time.perf_counter() - started
        yield action


@dataclass
class Snapshot:
    """What the bulk build wrote, and the documents it could not write (id → reason)."""

    documents: int = 0
    # Refused for overload (or an outage) after the last try: may succeed later.
    left: dict[str, str] = field(default_factory=dict)
    # Rejected by Elasticsearch (a 400, a mapping error): will fail again.
    rejected: dict[str, str] = field(default_factory=dict)


def write_snapshot(
    connection: Connection,
    client: Elasticsearch,
    *,
    index: str,
    batch_size: int,
    threads: int,
    build_workers: int,
    retry: RetryPolicy,
    on_progress: ProgressCallback,
    stages: StageTimes,
) -> Snapshot:
    """Stream every child of the connection's snapshot into `index`, `threads` bulk requests
    at a time, each chunk retried as `retry` says; documents built by `build_workers`
    processes (0: in this one). Calls `on_progress(done, total)` after each chunk."""
    expected = count_children(connection=connection)
    records = _timed_records(
        iter_all_children(connection=connection, batch_size=batch_size), stages
    )
    build_seconds: list[float] = []
    if build_workers > 0:
        actions: Iterator[dict[str, Any]] = built_actions(
            records,
            index=index,
            workers=build_workers,
            chunk_size=batch_size,
            build_seconds=build_seconds,
        )
    else:
        actions = _timed_actions(records, index=index, stages=stages)
    snapshot = Snapshot()
    done = 0
    for outcome in write_chunks_with_retries(
        client,
        actions,
        policy=retry,
        chunk_size=batch_size,
        threads=threads,
    ):
        snapshot.documents += len(outcome.written) + len(outcome.superseded)
        snapshot.rejected.update((doc_id, why) for (_, doc_id), why in outcome.rejected.items())
        snapshot.left.update((doc_id, why) for (_, doc_id), why in outcome.retryable.items())
        done += sum(map(len, (outcome.written, outcome.superseded)))
        done += sum(map(len, (outcome.rejected, outcome.retryable)))
        on_progress(done, expected)
    stages.build_s += sum(build_seconds)
    return snapshot
