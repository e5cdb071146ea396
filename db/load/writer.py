"""The database side of a load: one transaction per batch, child by child when it must."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import psycopg2
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from db.load.apply import Written, apply_staged
from db.load.batches import Batch
from db.load.database_errors import RETRYABLE_CLASS, describe, is_data_error, sqlstate
from db.load.staging import build_rows, copy_rows, empty_staging_tables, encode_rows
from db.load.validation import Rejection, ValidLine, validate_line

logger = logging.getLogger(__name__)

_BATCH_ATTEMPTS: Final = 4
_DatabaseError = (DBAPIError, psycopg2.Error)


@dataclass
class WriteTotals:
    """What the database side did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def count(self, written: Written, children: int) -> None:
        """Account for `children` children of which `written` were inserted or updated."""
        self.inserted += written.inserted
        self.updated += written.updated
        self.unchanged += children - written.inserted - written.updated


def _revalidate(batch: Batch, today: date) -> Iterator[ValidLine]:
    for number, text in batch.lines:
        checked = validate_line(text, today=today, line=number)
        if not isinstance(checked, ValidLine):  # it passed once with the same `today`
            raise RuntimeError(f"line {number} no longer validates: {checked}")
        yield checked


def _load_one_by_one(conn: Connection, batch: Batch, today: date, totals: WriteTotals) -> None:
    """Retry a failed batch child by child: the database's reason rejects only the bad ones."""
    with conn.begin():
        for line in _revalidate(batch, today):
            savepoint = conn.begin_nested()
            try:
                empty_staging_tables(conn)
                copy_rows(conn, encode_rows(build_rows([line])))
                written = apply_staged(conn)
            except _DatabaseError as exc:
                savepoint.rollback()
                if not is_data_error(exc):
                    raise
                field_name, reason = describe(exc, line.record)
                logger.info("line %s rejected by the database (%s)", line.line, sqlstate(exc))
                totals.rejected.append(Rejection(line.line, field_name, reason))
            else:
                savepoint.commit()
                totals.count(written, 1)


def write_batch(conn: Connection, batch: Batch, *, today: date, totals: WriteTotals) -> None:
    """Write a batch in one transaction; retried on deadlock, child by child on bad data."""
    for attempt in range(1, _BATCH_ATTEMPTS + 1):
        try:
            with conn.begin():
                copy_rows(conn, batch.encoded)
                written = apply_staged(conn)
        except _DatabaseError as exc:
            code = sqlstate(exc) or ""
            if code.startswith(RETRYABLE_CLASS) and attempt < _BATCH_ATTEMPTS:
                logger.warning("batch hit %s, retrying (attempt %s)", code, attempt)
                time.sleep(min(2.0, 0.05 * 2**attempt) * (1 + random.random()))
                continue
            if not is_data_error(exc):
                raise
            logger.info("batch of %s rejected by the database (%s)", len(batch.lines), code)
            _load_one_by_one(conn, batch, today, totals)
            return
        totals.count(written, len(batch.lines))
        return
