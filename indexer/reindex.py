"""Full reindex: a new physical index from one PostgreSQL snapshot, caught up, verified, swapped.

Searches go on throughout: the read alias keeps pointing at the live index until one atomic
swap. Changes committed while the build runs reach the new index too: the build is registered
in `index_build` before the snapshot is taken, and every indexer (this one's catch-up included)
writes queued changes to the building index as well as to the live one.

Overload does not throw a build away: each bulk chunk is retried per document (`indexer.retry`),
and a document still refused after the last try is queued in the outbox, which the catch-up
drains before the count is verified. A document Elasticsearch rejects (a 400) fails the build.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions
from sqlalchemy import Engine

from indexer.indices import (
    alias_state,
    create_for_bulk,
    delete_indices,
    finish_bulk,
    merge_segments,
    swap_alias,
)
from indexer.outbox import (
    build_started_at,
    queue_changed_since,
    queue_children,
    set_build_state,
)
from indexer.progress import ProgressCallback, no_progress
from indexer.retry import RetryPolicy
from indexer.snapshot import StageTimes, write_snapshot
from indexer.source import count_children
from indexer.sync import Writer, drain, retrying_writer
from mappings.index_definition import physical_index_name

if TYPE_CHECKING:
    from contactpoint.settings import Settings

log = logging.getLogger(__name__)


class ReindexError(RuntimeError):
    """The reindex failed; the live alias was left untouched."""


@dataclass(frozen=True, slots=True)
class ReindexOptions:
    """How a reindex runs: the new index's replicas once it serves and while it is built, batch
    size, bulk threads, document-building processes (0: in the reading process) and the bulk
    writes' retry policy."""

    replicas: int = 0
    # Replicas of the index while it is built. None is fastest, but then the build dies with
    # the node that holds a shard; with the serving replicas (the default on a cluster), it
    # lives through the loss of a node.
    build_replicas: int = 0
    batch_size: int = 2000
    threads: int = 2
    build_workers: int = 0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def from_settings(cls, settings: Settings) -> ReindexOptions:
        """The options configured for this deployment."""
        return cls(
            replicas=settings.effective_index_replicas(),
            build_replicas=(
                settings.effective_index_replicas()
                if settings.reindex_build_replicas is None
                else settings.reindex_build_replicas
            ),
            batch_size=settings.reindex_batch_size,
            threads=settings.reindex_threads,
            build_workers=settings.reindex_build_workers,
            retry=RetryPolicy.from_settings(settings),
        )


@dataclass
class ReindexReport:
    index: str
    previous: str | None
    documents: int
    seconds: float
    caught_up: int
    # Documents the bulk build left to the catch-up (overload that outlasted the retries).
    requeued: int = 0
    deleted: list[str] = field(default_factory=list)
    stages: StageTimes = field(default_factory=StageTimes)

    @property
    def rate(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def _set_state(engine: Engine, name: str, state: str) -> None:
    with engine.begin() as connection:
        set_build_state(connection=connection, name=name, state=state)


def _leave_to_catch_up(engine: Engine, left: dict[str, str]) -> int:
    """Queue the children whose documents the build could not write; returns how many."""
    if not left:
        return 0
    sample = "; ".join(f"{doc_id}: {why}" for doc_id, why in list(left.items())[:3])
    log.warning("%d documents left to the catch-up after the retries (%s)", len(left), sample)
    with engine.begin() as connection:
        return queue_children(connection=connection, identifiers=sorted(left))


def _verify(
    *,
    engine: Engine,
    client: Elasticsearch,
    index: str,
    catch_up: Callable[[], int],
    attempts: int = 5,
) -> int:
    """Catch up on queued changes until the index holds exactly the children in PostgreSQL."""
    caught_up = 0
    es_count = pg_count = -1
    for _ in range(attempts):
        caught_up += catch_up()
        client.indices.refresh(index=index)
        with engine.connect() as connection:
            pg_count = count_children(connection=connection)
        es_count = int(client.count(index=index)["count"])
        if es_count == pg_count:
            return caught_up
        time.sleep(0.5)
    raise ReindexError(
        f"index {index} holds {es_count} documents but PostgreSQL has {pg_count} children"
    )


def reindex(
    *,
    engine: Engine,
    client: Elasticsearch,
    alias: str,
    options: ReindexOptions,
    writer: Writer | None = None,
    on_progress: ProgressCallback = no_progress,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReindexReport:
    """Build a new index from PostgreSQL, catch it up, verify it, and swap the alias to it.

    The catch-up writes queued changes with `writer` (by default retrying as `options.retry`
    says); `on_progress(done, total)` is called as the snapshot's documents are written.
    """
    catch_up_writer = writer or retrying_writer(options.retry)
    started = time.perf_counter()
    name = physical_index_name(now(), alias=alias)
    previous = alias_state(client, alias=alias).live
    stages = StageTimes()
    create_for_bulk(client, name, replicas=options.build_replicas)
    log.info("building %s from PostgreSQL", name)
    try:
        # Registered before the snapshot: changes committed after it are written here too.
        _set_state(engine, name, "building")
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                snapshot = write_snapshot(
                    connection,
                    client,
                    index=name,
                    batch_size=options.batch_size,
                    threads=options.threads,
                    build_workers=options.build_workers,
                    retry=options.retry,
                    on_progress=on_progress,
                    stages=stages,
                )
        if snapshot.rejected:
            sample = "; ".join(f"{i}: {why}" for i, why in list(snapshot.rejected.items())[:3])
            raise ReindexError(f"{len(snapshot.rejected)} documents were not indexed ({sample})")
        # Committed after the snapshot, so the catch-up below reads them.
        requeued = _leave_to_catch_up(engine, snapshot.left)
        finish_bulk(client, name, replicas=options.replicas)
        caught_up = _verify(
            engine=engine,
            client=client,
            index=name,
            catch_up=lambda: drain(
                engine=engine,
                client=client,
                alias=alias,
                limit=options.batch_size,
                writer=catch_up_writer,
            ),
        )
        swap_alias(client, alias=alias, new=name, old=previous)
        serving_after = time.perf_counter() - started
    except Exception as exc:
        _set_state(engine, name, "failed")
        delete_indices(client, [name])
        if isinstance(exc, ReindexError):
            raise
        raise ReindexError(f"reindex into {name} failed: {exc}") from exc
    _set_state(engine, name, "done")
    # After the swap: the index already serves, merged or not, so a failed merge costs only speed.
    merge_started = time.perf_counter()
    try:
        merge_segments(client, name)
    except (es_exceptions.ApiError, es_exceptions.TransportError) as exc:
        log.warning("merging %s into one segment failed (it serves unmerged): %s", name, exc)
    stages.merge_s = time.perf_counter() - merge_started
    # Keep the new index and the one before it (for --rollback); older ones go.
    state = alias_state(client, alias=alias)
    stale = [other for other in state.others if other != previous]
    delete_indices(client, stale)
    return ReindexReport(
        index=name,
        previous=previous,
        documents=snapshot.documents,
        seconds=serving_after,
        caught_up=caught_up,
        requeued=requeued,
        deleted=stale,
        stages=stages,
    )


def rollback(*, engine: Engine, client: Elasticsearch, alias: str) -> tuple[str, str]:
    """Point the alias back at the previous index and queue what changed since it was built."""
    state = alias_state(client, alias=alias)
    if state.live is None or not state.others:
        raise ReindexError("there is no previous index to roll back to")
    target = state.others[0]
    with engine.begin() as connection:
        started = build_started_at(connection=connection, name=target)
        # The previous index misses what changed after its snapshot: queue those children.
        queue_changed_since(connection=connection, since=started)
    swap_alias(client, alias=alias, new=target, old=state.live)
    return state.live, target
