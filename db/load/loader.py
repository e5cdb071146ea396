"""Bulk load of an import file: validate each line, then upsert batches with set-based SQL.

Lines are validated and encoded into batches (db.load.batches, in a child process for large
files); each batch is then one transaction (db.load.writer): COPY into TEMP staging tables and
a few INSERT ... SELECT statements (db.load.apply). When PostgreSQL rejects a batch for its
data, the batch is retried child by child under SAVEPOINTs, so only the bad children are
rejected, with the database's reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path
from typing import Final

import psycopg2
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from db.load.batches import Batch, ReadTally, read_batches, read_batches_in_child
from db.load.result import LoadResult
from db.load.staging import create_staging_tables, drop_staging_tables
from db.load.writer import WriteTotals, write_batch

__all__ = ["LoadResult", "load_file"]

logger = logging.getLogger(__name__)

# Below this size a child process would cost more to start (about 0.5 s) than it saves.
PARALLEL_FROM_BYTES: Final = 8 * 1024 * 1024


class _Progress:
    """A rich progress bar on stderr over the bytes of the file, with children per second."""

    def __init__(self, bar: Progress | None, total: int) -> None:
        self._bar = bar
        self._task = bar.add_task("loading", total=total, rate="") if bar is not None else None
        self._started = time.perf_counter()
        self._children = 0

    def written(self, batch: Batch) -> None:
        self._children += len(batch.lines)
        if self._bar is None or self._task is None:
            return
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = f"{self._children:,} children, {self._children / elapsed:,.0f}/s"
        self._bar.update(self._task, completed=batch.done_bytes, rate=rate)

    def done(self, total: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=total)


@contextmanager
def _progress(total: int, *, enabled: bool) -> Iterator[_Progress]:
    if not enabled:
        yield _Progress(None, total)
        return
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with bar:
        yield _Progress(bar, total)


def _clean_up(conn: Connection) -> None:
    """Drop the staging tables; never hide the error that may be on its way out."""
    try:
        if conn.in_transaction():
            conn.rollback()
        if not conn.invalidated:
            with conn.begin():
                drop_staging_tables(conn)
    except (DBAPIError, psycopg2.Error):
        logger.warning("could not drop the staging tables; the connection is discarded")
        conn.invalidate()


def load_file(
    *,
    engine: Engine,
    path: Path,
    batch_size: int,
    progress: bool,
    parallel: bool | None = None,
) -> LoadResult:
    """Upsert the children of the JSON Lines file at `path` (docs/import-format.md).

    `parallel` validates in a child process while this one writes; by default, for files of
    PARALLEL_FROM_BYTES or more.
    """
    started = time.perf_counter()
    today = date.today()
    size = path.stat().st_size
    if parallel is None:
        parallel = size >= PARALLEL_FROM_BYTES
    read = read_batches_in_child if parallel else read_batches
    tally = ReadTally()
    totals = WriteTotals()
    with _progress(size, enabled=progress) as bar, engine.connect() as conn:
        with conn.begin():
            create_staging_tables(conn)
        try:
            with closing(read(path, batch_size=batch_size, today=today, tally=tally)) as batches:
                for batch in batches:
                    write_batch(conn, batch, today=today, totals=totals)
                    bar.written(batch)
        finally:
            _clean_up(conn)
        bar.done(size)
    result = LoadResult(
        lines=tally.lines,
        inserted=totals.inserted,
        updated=totals.updated,
        unchanged=totals.unchanged,
        rejected=sorted([*tally.rejected, *totals.rejected], key=lambda r: r.line),
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "loaded %s: %s lines, %s inserted, %s updated, %s unchanged, %s rejected in %.1f s",
        path.name,
        result.lines,
        result.inserted,
        result.updated,
        result.unchanged,
        result.rejected_lines,
        result.seconds,
    )
    return result
