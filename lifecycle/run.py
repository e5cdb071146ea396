"""The daily job: archive, expire ended involvements, destroy, then one audit row for the run.

Idempotent and resumable: every step works in committed batches whose conditions exclude what
is done (an archived child is no longer active, a destroyed one is gone), and the day's counts
are added to `lifecycle_run` in each batch's transaction. An interrupted run, run again for
the same day, finishes the job; run once more, it finds nothing to do. One run at a time: a
second waits for none, it is refused (an advisory lock held by the run's own connection).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date
from typing import Final

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random

from db.audit import AuditContext, AuditEventType, record_audit
from db.audit.forget import attest, pending_attestation
from lifecycle.archive import archive_batch, count_extended
from lifecycle.destroy import Eraser, destroy_batch
from lifecycle.involvements import expire_batch

log = logging.getLogger(__name__)

_LOCK_KEY: Final = 0x4350_4C49_4645_0001
_DEADLOCK: Final = "40P01"
# Called after each committed batch with the step's name and its batch number.
BatchHook = Callable[[str, int], None]


class LifecycleBusy(RuntimeError):
    """Another lifecycle run holds the lock."""


@dataclass(frozen=True, slots=True)
class RunReport:
    """What this run did, what the day's runs did together, and its audit row."""

    today: date
    archived: int
    extended_kept: int
    involvements_expired: int
    destroyed: int
    audit_rows_forgotten: int
    resumed: bool
    day_archived: int
    day_destroyed: int
    day_involvements_expired: int
    left_to_indexer: bool
    audit_event_id: int
    # Seconds each step of this run took (its batches, committed).
    archive_s: float
    involvements_s: float
    destroy_s: float


@dataclass(frozen=True, slots=True)
class LifecycleJob:
    """Where the job works and how: the engine, the eraser of documents, the batch size."""

    engine: Engine
    erase: Eraser
    batch_size: int
    ended_involvement_years: int
    # After a run that destroyed records: merge the deleted documents out of the segments.
    expunge: Callable[[], None] = lambda: None
    # Destroy batches committed side by side (each its own transaction and connection).
    destroy_workers: int = 1


def _start(session: Session, today: date) -> bool:
    runs = session.execute(
        text(
            "INSERT INTO lifecycle_run (run_on) VALUES (:today) ON CONFLICT (run_on) "
            "DO UPDATE SET runs = lifecycle_run.runs + 1 RETURNING runs"
        ),
        {"today": today},
    ).scalar_one()
    return bool(runs > 1)


def _add(session: Session, today: date, **counts: int) -> None:
    assignments = ", ".join(f"{name} = {name} + :{name}" for name in counts)
    session.execute(
        text(f"UPDATE lifecycle_run SET {assignments} WHERE run_on = :today"),
        {"today": today, **counts},
    )


def _is_deadlock(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "pgcode", None) == _DEADLOCK


# Two batches that make the audit forget rows they share may deadlock: PostgreSQL ends one,
# whose transaction rolled back whole, and it is run again.
_AGAIN_AFTER_DEADLOCK = Retrying(
    retry=retry_if_exception(_is_deadlock),
    stop=stop_after_attempt(5),
    wait=wait_random(0.05, 0.5),
    reraise=True,
)


def _batches(
    job: LifecycleJob,
    step: str,
    work: Callable[[Session], int],
    hook: BatchHook | None,
    workers: int = 1,
) -> tuple[int, float]:
    """Run `work` in committed transactions until it does nothing, on `workers` threads side by
    side (each batch takes rows the others skip); the total done, and the seconds it took."""
    started = time.perf_counter()
    lock = threading.Lock()
    counted = {"total": 0, "number": 0}

    def batch() -> int:
        with Session(job.engine) as session, session.begin():
            return work(session)

    failed = threading.Event()

    def loop() -> None:
        try:
            _loop()
        except BaseException:
            # The others stop after the batch they are in: the run ends as it would alone.
            failed.set()
            raise

    def _loop() -> None:
        while not failed.is_set():
            done = _AGAIN_AFTER_DEADLOCK(batch)
            if not done:
                return
            with lock:
                counted["total"] += done
                counted["number"] += 1
                number = counted["number"]
            log.info("lifecycle %s: batch %d, %d records", step, number, done)
            if hook is not None:
                hook(step, number)

    if workers <= 1:
        loop()
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            # Every worker finishes (or fails) before the step ends; a failure is raised.
            for running in [pool.submit(loop) for _ in range(workers)]:
                running.result()
    return counted["total"], time.perf_counter() - started


def run_lifecycle(
    *,
    job: LifecycleJob,
    context: AuditContext,
    today: date,
    after_batch: BatchHook | None = None,
) -> RunReport:
    """Run the day's job for `today`; raises LifecycleBusy if another run is going on."""
    with job.engine.connect() as lock:
        if not lock.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_KEY}).scalar():
            raise LifecycleBusy("another lifecycle run is going on")
        # The lock is the session's: the transaction that took it need not stay open.
        lock.commit()
        try:
            return _run(job, context, today, after_batch)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            lock.commit()


def _run(
    job: LifecycleJob, context: AuditContext, today: date, hook: BatchHook | None
) -> RunReport:
    with Session(job.engine) as session, session.begin():
        resumed = _start(session, today)
    batch = job.batch_size

    def archive(session: Session) -> int:
        done = archive_batch(connection=session.connection(), today=today, batch=batch)
        _add(session, today, archived=done)
        return done

    def expire(session: Session) -> int:
        done = expire_batch(
            connection=session.connection(),
            today=today,
            years=job.ended_involvement_years,
            batch=batch,
        )
        _add(session, today, involvements_expired=done)
        return done

    left_to_indexer = False
    forgotten = 0
    tallied = threading.Lock()

    def destroy(session: Session) -> int:
        nonlocal left_to_indexer, forgotten
        destroyed = destroy_batch(session=session, today=today, batch=batch, erase=job.erase)
        if destroyed is None:
            return 0
        _add(
            session,
            today,
            destroyed=destroyed.children,
            audit_rows_forgotten=destroyed.audit_rows_forgotten,
        )
        # Last: a deadlock (the one failure run again) is met in a statement, never here.
        with tallied:
            left_to_indexer |= destroyed.left_to_indexer
            forgotten += destroyed.audit_rows_forgotten
        return destroyed.children

    archived, archive_s = _batches(job, "archive", archive, hook)
    with job.engine.connect() as connection:
        extended = count_extended(connection=connection, today=today)
    expired, involvements_s = _batches(job, "involvements", expire, hook)
    destroyed, destroy_s = _batches(job, "destroy", destroy, hook, job.destroy_workers)
    if destroyed:
        job.expunge()
    with Session(job.engine) as session, session.begin():
        day = session.execute(
            text(
                "UPDATE lifecycle_run SET finished_at = clock_timestamp() WHERE run_on = :today "
                "RETURNING archived, destroyed, involvements_expired"
            ),
            {"today": today},
        ).one()
        attestation = pending_attestation(session=session)
        counts = {
            "archived": archived,
            "extended_kept": extended,
            "involvements_expired": expired,
            "destroyed": destroyed,
            "audit_rows_forgotten": forgotten,
        }
        audit_id = record_audit(
            session=session,
            context=context,
            event=AuditEventType.LIFECYCLE_RUN,
            details={
                "today": today.isoformat(),
                **counts,
                "resumed": resumed,
                "day": {
                    "archived": day.archived,
                    "destroyed": day.destroyed,
                    "involvements_expired": day.involvements_expired,
                },
                "left_to_indexer": left_to_indexer,
                "forgotten_attested": len(attestation.event_ids),
                "forgotten_digest": attestation.digest.hex(),
            },
        )
        attest(session=session, attestation=attestation, audit_event_id=audit_id)
    return RunReport(
        today=today,
        archived=archived,
        extended_kept=extended,
        involvements_expired=expired,
        destroyed=destroyed,
        audit_rows_forgotten=forgotten,
        resumed=resumed,
        day_archived=day.archived,
        day_destroyed=day.destroyed,
        day_involvements_expired=day.involvements_expired,
        left_to_indexer=left_to_indexer,
        audit_event_id=audit_id,
        archive_s=round(archive_s, 3),
        involvements_s=round(involvements_s, 3),
        destroy_s=round(destroy_s, 3),
    )


def report_lines(report: RunReport) -> Sequence[str]:
    """The run's counts as the command prints them."""
    values = asdict(report)
    return [f"{name}: {values[name]}" for name in values if name != "today"]
