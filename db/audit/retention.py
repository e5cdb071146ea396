"""The audit's monthly maintenance: partitions created ahead, and whole old months dropped.

The audit is partitioned by month (UTC) of `occurred_at` (migration 0022). A month is dropped
only whole, once all of it is older than the retention period: its partition is detached and
dropped, so no row is ever updated or deleted one by one. Before dropping, every row of the
month must be sealed and fit its seal entry (a changed row is never dropped out of sight).
The drop is then a signed link of the seal chain (kind 'drop') naming the months, the id
ranges and the digest of the dropped rows' hashes, when and by whom; `verify` trusts the
removal of exactly those rows and still detects any other.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, Table, insert, text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.audit.context import AuditContext
from db.audit.events import AuditEventType
from db.audit.seal import (
    GENESIS_DIGEST,
    HASHED_COLUMNS,
    SealHeader,
    SealKeyError,
    drop_digest,
    key_id,
    load_private_key,
    row_hash,
)
from db.audit.sealer import last_seal, lock_chain, seal_once
from db.audit.writer import record_audit
from db.models import AuditSeal

_PARTITION: Final = re.compile(r"audit_event_(\d{4})_(\d{2})")
# Rows fetched at a time while checking the months to drop (bounded memory for any month).
_BATCH: Final = 2000
_PARTITIONS = text(
    """
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = to_regclass('audit_event') ORDER BY c.relname
    """
)
# The dropped ids as ranges: runs of consecutive sealed ids (in the seal entries' order) that
# all belong to the dropped months. Ids between two such entries that no entry names (rolled
# back inserts) fall inside a range; an id of a kept month never does.
_ID_RANGES = """
WITH gone AS ({dropped}),
marked AS (
  SELECT e.event_id, g.id IS NOT NULL AS is_gone
  FROM audit_seal_entry e LEFT JOIN gone g ON g.id = e.event_id
  WHERE e.event_id BETWEEN :low AND :high
),
runs AS (
  SELECT event_id, is_gone,
         row_number() OVER (ORDER BY event_id)
         - row_number() OVER (PARTITION BY is_gone ORDER BY event_id) AS run
  FROM marked
)
SELECT min(event_id) AS low, max(event_id) AS high, count(*) AS rows
FROM runs WHERE is_gone GROUP BY run ORDER BY low
"""


class RetentionRefused(RuntimeError):
    """A month that is due to be dropped cannot be: a row unsealed, or not as sealed."""


@dataclass(frozen=True)
class DropSummary:
    """One drop link: which months and ids went, and its place in the chain."""

    position: int
    months: list[str]
    id_ranges: list[list[int]]
    rows: int
    dropped_by: str
    dropped_at: str


@dataclass
class MaintenanceSummary:
    """What a maintenance run did: months created, the drop (if any), rows sealed first."""

    today: str
    retention_years: int
    cutoff: str
    created: list[str] = field(default_factory=list)
    dropped: DropSummary | None = None
    sealed_first: int = 0
    refused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def month_of(partition: str) -> date | None:
    """The first day of a monthly partition's month (None for the default partition)."""
    found = _PARTITION.fullmatch(partition)
    if found is None:
        return None
    return date(int(found.group(1)), int(found.group(2)), 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def retention_cutoff(today: date, years: int) -> date:
    """The day before which the audit is no longer kept (29 February falls to the 28th)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def expired_months(partitions: Sequence[str], *, cutoff: date) -> list[str]:
    """The monthly partitions whose whole month lies before `cutoff`, oldest first."""
    expired = []
    for name in partitions:
        month = month_of(name)
        if month is not None and _add_months(month, 1) <= cutoff:
            expired.append(name)
    return sorted(expired)


def list_partitions(*, session: Session) -> list[str]:
    """The audit's partitions by name (the monthly ones and `audit_event_default`)."""
    return list(session.execute(_PARTITIONS).scalars())


def ensure_partitions(*, session: Session, today: date, months_ahead: int) -> list[str]:
    """Create this month's partition and the next `months_ahead`, and give any month whose
    rows wait in the default partition its own; returns the partitions created."""
    created = session.execute(
        text("SELECT cp_audit_ensure_partitions(:first, :last)"),
        {"first": today.replace(day=1), "last": _add_months(today, months_ahead)},
    ).scalars()
    return list(created)


@dataclass(frozen=True)
class _Checked:
    """What the rows of the months to drop came to: how many, their ids' span, their digest."""

    rows: int
    low: int | None
    high: int | None
    digest: str


def _check_rows(session: Session, partitions: Sequence[str]) -> _Checked:
    """Every row of the partitions, streamed in id order, against its seal entry's hash; a
    row not sealed, or not as sealed, refuses the drop."""
    quote = session.get_bind().dialect.identifier_preparer.quote
    columns = ", ".join(f"r.{column}" for column in HASHED_COLUMNS)
    union = " UNION ALL ".join(f"SELECT * FROM {quote(name)}" for name in partitions)
    rows = session.execute(
        text(
            f"SELECT {columns}, e.row_hash AS sealed_hash, f.redacted_hash, f.attested_by "
            f"FROM ({union}) r LEFT JOIN audit_seal_entry e ON e.event_id = r.id "
            "LEFT JOIN audit_redaction f ON f.event_id = r.id ORDER BY r.id"
        ).execution_options(yield_per=_BATCH)
    ).mappings()
    digest = hashlib.sha256()
    count, low, high = 0, None, None
    for row in rows:
        event_id = int(row["id"])
        if row["sealed_hash"] is None:
            raise RetentionRefused(f"row {event_id} is not sealed yet; seal, then run again")
        sealed = bytes(row["sealed_hash"])
        hashed = row_hash(dict(row))
        # A row that forgot a destroyed child fits as forgotten, once a lifecycle run attests it.
        forgotten = (
            row["redacted_hash"] is not None
            and row["attested_by"] is not None
            and hashed == bytes(row["redacted_hash"])
        )
        if hashed != sealed and not forgotten:
            raise RetentionRefused(
                f"row {event_id} does not fit its seal; its month is kept as evidence "
                "(`contactpoint audit verify` names it)"
            )
        digest.update(f"{event_id}:{sealed.hex()}\n".encode())
        count, low, high = count + 1, low if low is not None else event_id, event_id
    return _Checked(rows=count, low=low, high=high, digest=digest.hexdigest())


def _id_ranges(session: Session, partitions: Sequence[str], low: int, high: int) -> list[list[int]]:
    quote = session.get_bind().dialect.identifier_preparer.quote
    dropped = " UNION ALL ".join(f"SELECT id FROM {quote(name)}" for name in partitions)
    found = session.execute(
        text(_ID_RANGES.format(dropped=dropped)), {"low": low, "high": high}
    ).all()
    return [[int(row.low), int(row.high)] for row in found]


def drop_months(
    *,
    session: Session,
    key: Ed25519PrivateKey,
    partitions: Sequence[str],
    dropped_by: str,
    cutoff: date,
    retention_years: int,
) -> DropSummary | None:
    """Detach and drop `partitions` whole and add the signed drop link to the chain.

    In the caller's transaction (the schema owner's: it is DDL), which commits.
    """
    if not partitions:
        return None
    lock_chain(session=session)
    checked = _check_rows(session, partitions)
    ranges = (
        _id_ranges(session, partitions, checked.low, checked.high)
        if checked.low is not None and checked.high is not None
        else []
    )
    quote = session.get_bind().dialect.identifier_preparer.quote
    for partition in partitions:
        session.execute(text(f"ALTER TABLE audit_event DETACH PARTITION {quote(partition)}"))
    # Detached, nothing can be added to them: the rows checked are the rows dropped.
    counted = sum(
        int(session.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar_one())
        for name in partitions
    )
    if counted != checked.rows:
        raise RetentionRefused("rows were added to a month while it was being dropped")
    for partition in partitions:
        session.execute(text(f"DROP TABLE {quote(partition)}"))
    now = datetime.now(UTC)
    months = [f"{month:%Y-%m}" for name in partitions if (month := month_of(name)) is not None]
    dropped: dict[str, Any] = {
        "months": months,
        "partitions": list(partitions),
        "id_ranges": ranges,
        "rows": checked.rows,
        "rows_digest": checked.digest,
        "dropped_by": dropped_by,
        "cutoff": cutoff.isoformat(),
        "retention_years": retention_years,
    }
    last = last_seal(session=session)
    through = last.through_event_id if last is not None else 0
    header = SealHeader(
        position=last.position + 1 if last is not None else 1,
        after_id=through,
        through_id=through,
        prev_digest=last.digest if last is not None else GENESIS_DIGEST,
        sealed_at=now,
        key_id=key_id(key.public_key()),
    )
    digest = drop_digest(header, dropped)
    session.execute(
        insert(cast(Table, AuditSeal.__table__)),
        {
            "position": header.position,
            "after_event_id": through,
            "through_event_id": through,
            "entries": 0,
            "prev_digest": header.prev_digest,
            "digest": digest,
            "signature": key.sign(digest),
            "key_id": header.key_id,
            "sealed_at": now,
            "kind": "drop",
            "dropped": dropped,
        },
    )
    return DropSummary(
        position=header.position,
        months=months,
        id_ranges=ranges,
        rows=checked.rows,
        dropped_by=dropped_by,
        dropped_at=now.isoformat(),
    )


def run_audit_maintenance(
    *,
    engine: Engine,
    today: date,
    settings: Settings,
    context: AuditContext | None = None,
) -> MaintenanceSummary:
    """Seal what is there, create the coming months, drop the months past retention, and
    write one `audit_retention` audit row.

    `engine` is the schema owner's (creating and dropping partitions is DDL); `context` says
    who runs it (the operator at the shell by default); the settings give the seal key, the
    retention period and the months ahead.
    """
    encoded = settings.effective_seal_private_key()
    if encoded is None:
        raise SealKeyError("dropping audit months needs the audit seal private key")
    key = load_private_key(encoded)
    context = context or AuditContext.operator()
    retention_years = settings.audit_retention_years
    months_ahead = settings.audit_partition_months_ahead
    cutoff = retention_cutoff(today, retention_years)
    summary = MaintenanceSummary(
        today=today.isoformat(), retention_years=retention_years, cutoff=cutoff.isoformat()
    )
    summary.sealed_first = sum(seal.entries for seal in seal_once(engine=engine, key=key))
    with Session(engine) as session, session.begin():
        summary.created = ensure_partitions(session=session, today=today, months_ahead=months_ahead)
    try:
        with Session(engine) as session, session.begin():
            summary.dropped = drop_months(
                session=session,
                key=key,
                partitions=expired_months(list_partitions(session=session), cutoff=cutoff),
                dropped_by=context.actor.username,
                cutoff=cutoff,
                retention_years=retention_years,
            )
    except RetentionRefused as exc:
        # Nothing was dropped (the transaction rolled back); the months wait for the next run.
        summary.refused.append(str(exc))
    with Session(engine) as session, session.begin():
        record_audit(
            session=session,
            context=context,
            event=AuditEventType.AUDIT_RETENTION,
            subject=",".join(summary.dropped.months) if summary.dropped else None,
            details=summary.as_dict(),
        )
    return summary
