"""The audit forgets a destroyed child: its identifier and personal details leave every row
that concerns it, and the change is recorded so that `audit verify` still passes.

The rows are rewritten by `cp_audit_forget` (migration 0019), the one change the append-only
audit allows: it clears the subject and the row's salt, drops the child from the identifiers a
row shows, and replaces every other string of the details that is not the service's own
vocabulary. The hash of each row as forgotten goes to `audit_redaction`; the lifecycle run's own
audit row then attests them all with a digest, and that row is sealed like any other. The seal
entry of a forgotten row keeps the hash of the row as it was: salted (row hash version 2), so it
cannot be brute-forced back to an identifier once the salt is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.audit.seal import HASHED_COLUMNS, redaction_digest, row_hash

_FORGET = text("SELECT * FROM cp_audit_forget(CAST(:identifiers AS text[]))")
_ROWS = text(
    f"SELECT {', '.join(HASHED_COLUMNS)} FROM audit_event WHERE id = ANY(:ids) ORDER BY id"
)
_RECORD = text(
    """
    INSERT INTO audit_redaction (event_id, redacted_hash) VALUES (:event_id, :redacted_hash)
    ON CONFLICT (event_id) DO UPDATE
      SET redacted_hash = EXCLUDED.redacted_hash, redacted_at = clock_timestamp(),
          attested_by = NULL
    """
)


def forget_children(*, session: Session, identifiers: Sequence[str]) -> int:
    """Make every audit row that concerns these (destroyed) children forget them; returns how
    many rows changed. Refused by the database if any of them still exists."""
    if not identifiers:
        return 0
    ids = list(session.execute(_FORGET, {"identifiers": list(identifiers)}).scalars())
    if not ids:
        return 0
    rows = session.execute(_ROWS, {"ids": ids}).mappings()
    session.execute(
        _RECORD,
        [{"event_id": row["id"], "redacted_hash": row_hash(dict(row))} for row in rows],
    )
    return len(ids)


@dataclass(frozen=True, slots=True)
class Attestation:
    """The forgotten rows not yet attested, and their digest, for the attesting audit row."""

    event_ids: tuple[int, ...]
    digest: bytes


def pending_attestation(*, session: Session) -> Attestation:
    """The forgotten rows no audit row attests yet (locked until the transaction ends)."""
    rows = session.execute(
        text(
            "SELECT event_id, redacted_hash FROM audit_redaction WHERE attested_by IS NULL "
            "ORDER BY event_id FOR UPDATE"
        )
    ).all()
    entries = [(int(event_id), bytes(hashed)) for event_id, hashed in rows]
    return Attestation(
        event_ids=tuple(event_id for event_id, _ in entries), digest=redaction_digest(entries)
    )


def attest(*, session: Session, attestation: Attestation, audit_event_id: int) -> None:
    """Name `audit_event_id` (whose details carry the digest) as the attestation of the rows."""
    if attestation.event_ids:
        session.execute(
            text("UPDATE audit_redaction SET attested_by = :by WHERE event_id = ANY(:ids)"),
            {"by": audit_event_id, "ids": list(attestation.event_ids)},
        )
