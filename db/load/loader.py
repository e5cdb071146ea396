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
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Final, Protocol

import psycopg2
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from db.load.batches import ReadTally, read_batches, read_batches_in_child
from db.load.result import LoadResult
from db.load.staging import create_staging_tables, drop_staging_tables
from db.load.writer import WriteTotals, write_batch

__all__ = ["LoadProgress", "LoadResult", "load_file"]

logger = logging.getLogger(__name__)

# Below this size a child process would cost more to start (about 0.5 s) than it saves.
PARALLEL_FROM_BYTES: Final = 8 * 1024 * 1024


class LoadProgress(Protocol):
    """Told as a load advances: bytes of the file read and children written since the last call.

    The bytes add up to the file's size once the load is done; drawing is the caller's (the CLI).
    """

    def __call__(self, *, read_bytes: int, children: int) -> None: ...


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
    progress: LoadProgress | None = None,
    parallel: bool | None = None,
) -> LoadResult:
    """Upsert the children of the JSON Lines file at `path` (docs/import-format.md).

    `progress` is told after each batch is written. `parallel` validates in a child process
    while this one writes; by default, for files of PARALLEL_FROM_BYTES or more.
    """
    started = time.perf_counter()
    today = date.today()
    size = path.stat().st_size
    if parallel is None:
        parallel = size >= PARALLEL_FROM_BYTES
    read = read_batches_in_child if parallel else read_batches
    tally = ReadTally()
    totals = WriteTotals()
    reported = 0
    with engine.connect() as conn:
        with conn.begin():
            create_staging_tables(conn)
        try:
            with closing(read(path, batch_size=batch_size, today=today, tally=tally)) as batches:
                for batch in batches:
                    write_batch(conn, batch, today=today, totals=totals)
                    if progress is not None:
                        progress(read_bytes=batch.done_bytes - reported, children=len(batch.lines))
                    reported = batch.done_bytes
        finally:
            _clean_up(conn)
    if progress is not None and size > reported:
        # Blank or rejected lines after the last batch.
        progress(read_bytes=size - reported, children=0)
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
