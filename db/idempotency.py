"""Idempotency keys of CMS writes: the first answer kept, and given again to a retry.

A write claims its key in its own transaction (`INSERT ... ON CONFLICT DO NOTHING`): a second
request with the same key waits on the first's row until it commits or rolls back, then replays
the answer or, if the first failed and kept nothing, claims the key itself. Only successful
answers are kept: a refused write (412, 422, ...) can be sent again with the same key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from db.errors import InvalidInput
from db.models import IdempotencyRecord

KEY_FIELD = "header.Idempotency-Key"

_CLAIM = text(
    """
    INSERT INTO idempotency_record (client_id, key, request_digest)
    VALUES (:client_id, :key, :digest)
    ON CONFLICT (client_id, key) DO NOTHING
    RETURNING id
    """
)


def request_digest(*, method: str, path: str, body: bytes) -> bytes:
    """SHA-256 of the method, the path and the body, as sent."""
    hashed = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        hashed.update(len(part).to_bytes(8, "big"))
        hashed.update(part)
    return hashed.digest()


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to a key: status, body and the ETag it carried."""

    status: int
    body: dict[str, Any]
    etag: str | None


@dataclass(frozen=True)
class Claim:
    """A key this transaction holds (`record_id`), or the answer it had already (`answer`)."""

    record_id: int | None
    answer: StoredAnswer | None


def claim_key(*, session: Session, client_id: int, key: str, digest: bytes) -> Claim:
    """Hold `key` for this write, or return its first answer (422: another request's key)."""
    record_id = session.execute(
        _CLAIM, {"client_id": client_id, "key": key, "digest": digest}
    ).scalar_one_or_none()
    if record_id is not None:
        return Claim(record_id=record_id, answer=None)
    found = session.execute(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key)
        .with_for_update()
    ).scalar_one()
    if found.request_digest != digest:
        raise InvalidInput(
            "this key was used for another request: send a new key for a new change",
            field=KEY_FIELD,
        )
    if found.status is None or found.body is None:
        # Committed without an answer (never by this module): the key is free again.
        return Claim(record_id=found.id, answer=None)
    return Claim(
        record_id=None, answer=StoredAnswer(status=found.status, body=found.body, etag=found.etag)
    )


def keep_answer(
    *, session: Session, record_id: int, status: int, body: dict[str, Any], etag: str | None
) -> None:
    """Keep the answer of the write that holds `record_id`, in its transaction."""
    record = session.get(IdempotencyRecord, record_id)
    if record is None:
        raise LookupError(f"idempotency record {record_id} vanished")
    record.status, record.body, record.etag = status, body, etag
    session.flush()


def purge_keys(*, session: Session, before: datetime) -> int:
    """Delete the keys created before `before`; how many went."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
