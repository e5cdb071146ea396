"""The sealer: every few seconds, chain the hashes of the new audit rows into a signed seal.

Audit rows commit out of id order (a search's row may commit after a later sign-in's), so a
range is sealed only once every transaction that could still add a row to it has ended. The
sealer never takes a lock that an insert waits for: it reads the identity sequence's last
value N, notes the transactions that hold a lock on that sequence (nextval takes one and keeps
it to the end of the transaction), and polls until they have all ended. Then every id <= N
is committed or rolled back for good. A snapshot's xmin alone would not do: nextval does not
always give its transaction an xid, so an insert can hold an id before it is in any snapshot.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, Table, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from db.audit.seal import (
    GENESIS_DIGEST,
    HASHED_COLUMNS,
    SealHeader,
    key_id,
    row_hash,
    seal_digest,
)
from db.models import AuditEvent, AuditSeal, AuditSealEntry

logger = logging.getLogger(__name__)

# Serialises sealers (a `serve` child and an operator's `audit seal --once`), never inserts.
_SEALER_LOCK_KEY: Final = 0x4350_5345_414C_0001
# Ids per seal: bounds the memory of sealing (and verifying) an audit of any size.
MAX_IDS_PER_SEAL: Final = 10_000

_SEQUENCE = "pg_get_serial_sequence('audit_event', 'id')::regclass"
_LAST_ID = text(f"SELECT pg_sequence_last_value({_SEQUENCE})")
_SEQUENCE_HOLDERS = text(
    f"""
    SELECT DISTINCT virtualtransaction FROM pg_locks
    WHERE locktype = 'relation' AND relation = {_SEQUENCE}
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND (CAST(:among AS text[]) IS NULL OR virtualtransaction = ANY (CAST(:among AS text[])))
    """
)


class SealerWaiting(RuntimeError):
    """Transactions that hold audit ids did not end in time."""


@dataclass(frozen=True)
class SealCandidate:
    """Ids up to `through_id` may be sealed once the transactions `waiting_for` have ended."""

    through_id: int
    waiting_for: frozenset[str]


@dataclass(frozen=True)
class SealSummary:
    """A seal just written."""

    position: int
    after_id: int
    through_id: int
    entries: int


def lock_chain(*, session: Session) -> None:
    """Hold the chain for this transaction: no other seal or drop link is added meanwhile."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEALER_LOCK_KEY})


def last_seal(*, session: Session) -> AuditSeal | None:
    """The newest link of the chain (a seal of rows or a drop), or None."""
    return _last_seal(session)


def take_candidate(*, session: Session) -> SealCandidate | None:
    """The last audit id handed out and who may still insert ids up to it (None: no id yet)."""
    last = session.execute(_LAST_ID).scalar()
    if last is None:
        return None
    # Read after N: a transaction that took an id <= N holds the lock now or has ended.
    holders = session.execute(_SEQUENCE_HOLDERS, {"among": None}).scalars()
    return SealCandidate(through_id=int(last), waiting_for=frozenset(holders))


def is_settled(*, session: Session, candidate: SealCandidate) -> bool:
    """Whether every transaction the candidate waits for has ended."""
    if not candidate.waiting_for:
        return True
    among = sorted(candidate.waiting_for)
    return session.execute(_SEQUENCE_HOLDERS, {"among": among}).first() is None


def _last_seal(session: Session) -> AuditSeal | None:
    statement = select(AuditSeal).order_by(AuditSeal.position.desc()).limit(1)
    return session.scalars(statement).first()


def _seal_one(
    session: Session, key: Ed25519PrivateKey, last: AuditSeal | None, through_id: int
) -> SealSummary:
    after_id = last.through_event_id if last is not None else 0
    columns = [getattr(AuditEvent.__table__.c, column) for column in HASHED_COLUMNS]
    rows = session.execute(
        select(*columns)
        .where(AuditEvent.id > after_id, AuditEvent.id <= through_id)
        .order_by(AuditEvent.id)
    ).mappings()
    entries = [(int(row["id"]), row_hash(dict(row))) for row in rows]
    header = SealHeader(
        position=last.position + 1 if last is not None else 1,
        after_id=after_id,
        through_id=through_id,
        prev_digest=last.digest if last is not None else GENESIS_DIGEST,
        sealed_at=datetime.now(UTC),
        key_id=key_id(key.public_key()),
    )
    digest = seal_digest(header, entries)
    seals = cast(Table, AuditSeal.__table__)
    session.execute(
        insert(seals),
        {
            "position": header.position,
            "after_event_id": header.after_id,
            "through_event_id": header.through_id,
            "entries": len(entries),
            "prev_digest": header.prev_digest,
            "digest": digest,
            "signature": key.sign(digest),
            "key_id": header.key_id,
            "sealed_at": header.sealed_at,
        },
    )
    if entries:
        session.execute(
            insert(cast(Table, AuditSealEntry.__table__)),
            [
                {"event_id": event_id, "seal_position": header.position, "row_hash": hashed}
                for event_id, hashed in entries
            ],
        )
    return SealSummary(header.position, after_id, through_id, len(entries))


def seal_through(
    *,
    session: Session,
    key: Ed25519PrivateKey,
    through_id: int,
    max_ids: int = MAX_IDS_PER_SEAL,
) -> list[SealSummary]:
    """Seal every id up to `through_id` not yet sealed, in seals of at most `max_ids` ids.

    The caller guarantees that no transaction can still add a row with an id <= through_id
    (see `take_candidate`), and commits.
    """
    lock_chain(session=session)
    written: list[SealSummary] = []
    last = _last_seal(session)
    while (last.through_event_id if last is not None else 0) < through_id:
        start = last.through_event_id if last is not None else 0
        summary = _seal_one(session, key, last, min(through_id, start + max_ids))
        written.append(summary)
        last = session.get(AuditSeal, summary.position)
    return written


def seal_once(
    *,
    engine: Engine,
    key: Ed25519PrivateKey,
    poll_s: float = 0.2,
    timeout_s: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
) -> list[SealSummary]:
    """Seal every audit row whose id was handed out before the call, once its inserts end."""
    with Session(engine) as session, session.begin():
        candidate = take_candidate(session=session)
    if candidate is None:
        return []
    deadline = clock() + timeout_s
    while True:
        with Session(engine) as session, session.begin():
            if is_settled(session=session, candidate=candidate):
                break
        if clock() > deadline:
            raise SealerWaiting(
                f"{len(candidate.waiting_for)} transaction(s) holding audit ids up to "
                f"{candidate.through_id} did not end within {timeout_s:.0f} s"
            )
        time.sleep(poll_s)
    with Session(engine) as session, session.begin():
        return seal_through(session=session, key=key, through_id=candidate.through_id)


def run_sealer(
    *,
    engine: Engine,
    key: Ed25519PrivateKey,
    interval_s: float,
    stop: threading.Event | None = None,
) -> None:
    """Seal new audit rows every `interval_s` until `stop` is set (or forever)."""
    stop = stop or threading.Event()
    logger.info("sealing the audit every %.1f s with key %s", interval_s, key_id(key.public_key()))
    candidate: SealCandidate | None = None
    while not stop.is_set():
        try:
            candidate = _tick(engine, key, candidate)
        except OperationalError as exc:
            # The database is away (a restart, a failover): the next tick tries again.
            logger.warning("sealing failed, retrying in %.1f s: %s", interval_s, exc.orig)
        stop.wait(interval_s)


def _tick(
    engine: Engine, key: Ed25519PrivateKey, candidate: SealCandidate | None
) -> SealCandidate | None:
    """Seal the pending candidate if it has settled; return the candidate to wait for next."""
    if candidate is not None:
        with Session(engine) as session, session.begin():
            if not is_settled(session=session, candidate=candidate):
                return candidate
            for seal in seal_through(session=session, key=key, through_id=candidate.through_id):
                logger.info(
                    "seal %s: audit ids %s..%s, %s rows",
                    seal.position,
                    seal.after_id + 1,
                    seal.through_id,
                    seal.entries,
                )
    with Session(engine) as session, session.begin():
        return take_candidate(session=session)
