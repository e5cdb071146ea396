"""Verifying the audit against its seals: the chain, the signatures and every sealed row.

One REPEATABLE READ snapshot, streamed: the audit rows up to the last seal, fully joined with
the seals' entries in id order, walk beside the chain of seals. A row whose hash differs from
its entry was changed; an entry without a row was removed; a row in a sealed range without an
entry was inserted there later. Ids missing from both are rolled-back inserts, which is normal.

A row that forgot a destroyed child (db/audit/forget.py) no longer matches its entry: it fits
if it matches its recorded hash as forgotten, and the lifecycle run's audit row that attests
that hash carries the digest of every hash it attests.

Retention drops whole months (db/audit/retention.py) and says so in a signed drop link of the
chain: an entry without a row is a dropped row, not a removed one, only when its id lies in
the id ranges of a drop link whose digest and signature verify, and every such drop must
account for exactly the rows it names (their count and the digest of their hashes).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from db.audit.seal import (
    GENESIS_DIGEST,
    HASHED_COLUMNS,
    SealHeader,
    drop_digest,
    redaction_digest,
    row_hash,
    seal_digest,
    signature_is_valid,
)
from db.models import AuditEvent, AuditSeal

_BATCH: Final = 2000
_JOINED = text(
    f"""
    SELECT coalesce(r.id, e.event_id) AS at_id, e.seal_position, e.row_hash,
           f.redacted_hash, f.attested_by,
           {", ".join(f"r.{column}" for column in HASHED_COLUMNS)}
    FROM (SELECT * FROM audit_event WHERE id <= :through) AS r
    FULL JOIN audit_seal_entry AS e ON e.event_id = r.id
    LEFT JOIN audit_redaction AS f ON f.event_id = coalesce(r.id, e.event_id)
    ORDER BY at_id
    """
)


class Misfit(StrEnum):
    """How a row or a seal does not fit."""

    ROW_CHANGED = "row changed"
    ROW_REMOVED = "row removed"
    ROW_INSERTED = "row inserted out of order"
    ROW_UNCOVERED = "row in no seal"
    ENTRY_MISPLACED = "entry misplaced"
    SEAL_CHANGED = "seal changed"
    CHAIN_BROKEN = "chain broken"
    BAD_SIGNATURE = "signature invalid"
    FORGETTING_UNATTESTED = "forgetting not attested"
    ATTESTATION_BROKEN = "attestation broken"
    ROW_AFTER_DROP = "row present after its drop"
    DROP_MISMATCH = "drop does not match its rows"


@dataclass(frozen=True)
class Problem:
    """One thing that does not fit, with the row id or seal position it concerns."""

    misfit: Misfit
    message: str
    event_id: int | None = None
    seal_position: int | None = None


@dataclass
class VerifyReport:
    """What was checked, and what did not fit (the first `limit` problems, in id order)."""

    seals: int = 0
    sealed_rows: int = 0
    # Sealed rows that fit as forgotten (a destroyed child's details gone), attested.
    forgotten_rows: int = 0
    sealed_through: int = 0
    unsealed_rows: int = 0
    first_unsealed_id: int | None = None
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Rows gone by retention, as the trusted drop links name them, and every drop link.
    dropped_rows: int = 0
    drops: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether everything sealed fits."""
        return self.problem_count == 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "ok": self.ok,
            "seals": self.seals,
            "sealed_rows": self.sealed_rows,
            "forgotten_rows": self.forgotten_rows,
            "sealed_through_id": self.sealed_through,
            "unsealed_rows": self.unsealed_rows,
            "first_unsealed_id": self.first_unsealed_id,
            "dropped_rows": self.dropped_rows,
            "drops": self.drops,
            "problem_count": self.problem_count,
            "problems": [
                {
                    "misfit": problem.misfit.value,
                    "event_id": problem.event_id,
                    "seal_position": problem.seal_position,
                    "message": problem.message,
                }
                for problem in self.problems
            ],
        }


def _header(seal: AuditSeal) -> SealHeader:
    return SealHeader(
        position=seal.position,
        after_id=seal.after_event_id,
        through_id=seal.through_event_id,
        prev_digest=seal.prev_digest,
        sealed_at=seal.sealed_at,
        key_id=seal.key_id,
    )


def _link_digest(seal: AuditSeal, entries: list[tuple[int, bytes]]) -> bytes:
    if seal.kind == "drop":
        return drop_digest(_header(seal), seal.dropped or {})
    return seal_digest(_header(seal), entries)


def _is_signed(seal: AuditSeal, keys: Mapping[str, Ed25519PublicKey]) -> bool:
    key = keys.get(seal.key_id)
    return key is not None and signature_is_valid(key, signature=seal.signature, digest=seal.digest)


@dataclass
class _Drop:
    """A drop link whose digest and signature verify: the ids it may account for."""

    position: int
    rows: int
    rows_digest: str
    counted: int = 0
    hashed: Any = field(default_factory=hashlib.sha256)


class _Drops:
    """The trusted drop links' id ranges, to tell a dropped row from a removed one."""

    def __init__(self, seals: list[AuditSeal], keys: Mapping[str, Ed25519PublicKey]):
        self.lows: list[int] = []
        self.ranges: list[tuple[int, int, _Drop]] = []
        self.drops: list[_Drop] = []
        for seal in seals:
            dropped = seal.dropped or {}
            if _link_digest(seal, []) != seal.digest or not _is_signed(seal, keys):
                continue
            drop = _Drop(seal.position, int(dropped["rows"]), str(dropped["rows_digest"]))
            self.drops.append(drop)
            self.ranges += [(int(low), int(high), drop) for low, high in dropped["id_ranges"]]
        self.ranges.sort(key=lambda item: item[0])
        self.lows = [low for low, _, _ in self.ranges]

    def of(self, event_id: int) -> _Drop | None:
        """The trusted drop whose ranges hold `event_id`, if any."""
        at = bisect.bisect_right(self.lows, event_id) - 1
        if at >= 0 and self.ranges[at][0] <= event_id <= self.ranges[at][1]:
            return self.ranges[at][2]
        return None


class _Walk:
    """The state of one verification: the seal being checked and the one before it."""

    def __init__(
        self,
        keys: Mapping[str, Ed25519PublicKey],
        report: VerifyReport,
        limit: int,
        drops: _Drops,
    ):
        self.keys, self.report, self.limit, self.drops = keys, report, limit, drops
        self.prev_digest, self.prev_through, self.expected_position = GENESIS_DIGEST, 0, 1
        self.seal: AuditSeal | None = None
        self.entries: list[tuple[int, bytes]] = []

    def problem(self, misfit: Misfit, message: str, **where: int | None) -> None:
        self.report.problem_count += 1
        if len(self.report.problems) < self.limit:
            self.report.problems.append(Problem(misfit, message, **where))

    def open(self, seal: AuditSeal) -> None:
        """Check the link from the previous seal to `seal`, and start collecting its entries."""
        self.report.seals += 1
        position = seal.position
        if position != self.expected_position:
            self.problem(
                Misfit.CHAIN_BROKEN,
                f"seal {position} follows seal {self.expected_position - 1}: "
                f"seal {self.expected_position} is missing",
                seal_position=position,
            )
        if seal.prev_digest != self.prev_digest:
            self.problem(
                Misfit.CHAIN_BROKEN,
                f"seal {position} does not name the digest of the seal before it",
                seal_position=position,
            )
        if seal.after_event_id != self.prev_through:
            self.problem(
                Misfit.CHAIN_BROKEN,
                f"seal {position} starts after id {seal.after_event_id}, but the seal before "
                f"it ends at id {self.prev_through}",
                seal_position=position,
            )
        self.seal, self.entries = seal, []

    def close(self) -> None:
        """Check the open seal's digest and signature against its entries."""
        seal = self.seal
        if seal is None:
            return
        if _link_digest(seal, self.entries) != seal.digest or seal.entries != len(self.entries):
            self.problem(
                Misfit.SEAL_CHANGED,
                f"seal {seal.position} (ids {seal.after_event_id + 1}..{seal.through_event_id})"
                " does not match its digest: the seal or its entries were changed",
                seal_position=seal.position,
            )
        key = self.keys.get(seal.key_id)
        if key is None:
            self.problem(
                Misfit.BAD_SIGNATURE,
                f"seal {seal.position} is signed with key {seal.key_id}, which is not trusted",
                seal_position=seal.position,
            )
        elif not signature_is_valid(key, signature=seal.signature, digest=seal.digest):
            self.problem(
                Misfit.BAD_SIGNATURE,
                f"seal {seal.position}: its signature does not verify with key {seal.key_id}",
                seal_position=seal.position,
            )
        self.prev_digest, self.prev_through = seal.digest, seal.through_event_id
        self.expected_position = seal.position + 1
        self.seal = None

    def row(self, item: Mapping[str, Any]) -> None:
        """Check one id of the joined stream against the open seal."""
        at_id: int = item["at_id"]
        present = item["id"] is not None
        seal = self.seal
        if seal is None or at_id <= seal.after_event_id:
            if present:
                self.problem(
                    Misfit.ROW_UNCOVERED,
                    f"row {at_id} lies below the last seal but in no seal's range",
                    event_id=at_id,
                )
            else:
                self.problem(
                    Misfit.ENTRY_MISPLACED,
                    f"the entry of row {at_id} lies in no seal's range",
                    event_id=at_id,
                )
            return
        where: dict[str, int | None] = {"event_id": at_id, "seal_position": seal.position}
        if item["row_hash"] is None:
            self.problem(
                Misfit.ROW_INSERTED,
                f"row {at_id} was inserted after seal {seal.position} covered its id",
                **where,
            )
            return
        self.entries.append((at_id, bytes(item["row_hash"])))
        if item["seal_position"] != seal.position:
            self.problem(
                Misfit.ENTRY_MISPLACED,
                f"the entry of row {at_id} names seal {item['seal_position']}, "
                f"but seal {seal.position} covers its id",
                **where,
            )
        drop = self.drops.of(at_id)
        if not present and drop is not None:
            drop.counted += 1
            drop.hashed.update(f"{at_id}:{bytes(item['row_hash']).hex()}\n".encode())
            self.report.dropped_rows += 1
        elif not present:
            self.problem(
                Misfit.ROW_REMOVED,
                f"row {at_id} was removed after seal {seal.position} covered it",
                **where,
            )
        elif drop is not None:
            self.problem(
                Misfit.ROW_AFTER_DROP,
                f"row {at_id} is present, but drop {drop.position} dropped it",
                **where,
            )
        elif (hashed := row_hash(item)) == bytes(item["row_hash"]):
            self.report.sealed_rows += 1
        elif item["redacted_hash"] is None or hashed != bytes(item["redacted_hash"]):
            self.problem(
                Misfit.ROW_CHANGED,
                f"row {at_id} was changed after seal {seal.position} covered it",
                **where,
            )
        elif item["attested_by"] is None:
            self.problem(
                Misfit.FORGETTING_UNATTESTED,
                f"row {at_id} forgot a destroyed child, but no lifecycle run attests it yet",
                **where,
            )
        else:
            self.report.sealed_rows += 1
            self.report.forgotten_rows += 1


def _check_attestations(session: Session, walk: _Walk) -> None:
    """Each attesting row is a lifecycle run whose details carry the digest of what it attests."""
    attesting = session.execute(
        text(
            "SELECT f.attested_by, a.event, a.details ->> 'forgotten_digest' AS claimed "
            "FROM (SELECT DISTINCT attested_by FROM audit_redaction "
            "      WHERE attested_by IS NOT NULL) AS f "
            "LEFT JOIN audit_event AS a ON a.id = f.attested_by ORDER BY f.attested_by"
        )
    ).all()
    for attested_by, event, claimed in attesting:
        if event is None and walk.drops.of(int(attested_by)) is not None:
            # Retention dropped the attesting run (and with it, earlier, what it attested).
            continue
        entries = session.execute(
            text(
                "SELECT event_id, redacted_hash FROM audit_redaction WHERE attested_by = :by "
                "ORDER BY event_id"
            ),
            {"by": attested_by},
        ).all()
        digest = redaction_digest((int(i), bytes(h)) for i, h in entries)
        if event != "lifecycle_run" or claimed != digest.hex():
            walk.problem(
                Misfit.ATTESTATION_BROKEN,
                f"audit row {attested_by} does not attest the {len(entries)} forgotten rows "
                "that name it",
                event_id=attested_by,
            )


def _seals(session: Session) -> Iterator[AuditSeal]:
    statement = select(AuditSeal).order_by(AuditSeal.position)
    yield from session.scalars(statement.execution_options(yield_per=_BATCH))


def verify_audit(
    *, session: Session, keys: Mapping[str, Ed25519PublicKey], limit: int = 100
) -> VerifyReport:
    """Check the chain, its signatures with the trusted `keys` (by key id) and every sealed row.

    `session` must be in a fresh transaction: the check reads one snapshot.
    """
    session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    report = VerifyReport()
    through = session.scalar(select(func.max(AuditSeal.through_event_id))) or 0
    report.sealed_through = through
    drop_links = list(session.scalars(select(AuditSeal).where(AuditSeal.kind == "drop")))
    drops = _Drops(drop_links, keys)
    report.drops = [
        {
            "seal_position": seal.position,
            "dropped_at": seal.sealed_at.isoformat(),
            "trusted": any(drop.position == seal.position for drop in drops.drops),
            **{
                name: (seal.dropped or {}).get(name)
                for name in ("months", "id_ranges", "rows", "dropped_by", "cutoff")
            },
        }
        for seal in sorted(drop_links, key=lambda seal: seal.position)
    ]
    walk = _Walk(keys, report, limit, drops)
    seals = _seals(session)
    walk_seal = next(seals, None)
    if walk_seal is not None:
        walk.open(walk_seal)
    joined = session.execute(
        _JOINED.execution_options(yield_per=_BATCH), {"through": through}
    ).mappings()
    for item in joined:
        while walk.seal is not None and item["at_id"] > walk.seal.through_event_id:
            walk.close()
            walk_seal = next(seals, None)
            if walk_seal is not None:
                walk.open(walk_seal)
        walk.row(dict(item))
    while walk.seal is not None:
        walk.close()
        walk_seal = next(seals, None)
        if walk_seal is not None:
            walk.open(walk_seal)
    _check_attestations(session, walk)
    for drop in drops.drops:
        if drop.counted != drop.rows or drop.hashed.hexdigest() != drop.rows_digest:
            walk.problem(
                Misfit.DROP_MISMATCH,
                f"drop {drop.position} names {drop.rows} rows, but {drop.counted} sealed rows "
                "without a row lie in its ranges, or their hashes differ",
                seal_position=drop.position,
            )
    unsealed = session.execute(
        select(func.count(), func.min(AuditEvent.id)).where(AuditEvent.id > through)
    ).one()
    report.unsealed_rows, report.first_unsealed_id = unsealed[0], unsealed[1]
    return report
