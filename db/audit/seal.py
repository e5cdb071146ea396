"""Tamper evidence for the audit, the pure part: a row's hash, a seal's digest and signature.

Each seal covers the audit ids in (after_id, through_id]: it lists the hash of every row in
that range, names the digest of the seal before it, and is signed with Ed25519. Changing,
removing or adding a row in a sealed range, or changing a seal, no longer fits the chain,
and a new valid seal needs the private key; a verifier needs only the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

# Every column of audit_event, in the order hashed. A new column needs a new hash version:
# a unit test compares this list with the model.
HASHED_COLUMNS: Final = (
    "salt",
    "id",
    "occurred_at",
    "event",
    "outcome",
    "user_id",
    "username",
    "client_id",
    "client_name",
    "authorities",
    "subject",
    "request_id",
    "client_address",
    "details",
)
# Version 2 hashes a row with its random salt (migration 0019): once the lifecycle job has
# forgotten a destroyed child (subject, details and salt cleared), the entry kept in the seal
# cannot be brute-forced back to its identifier. Rows without a salt (written before 0019, or
# forgotten) hash as version 1, without it.
ROW_HASH_VERSION: Final = "cp-audit-row/2"
UNSALTED_ROW_HASH_VERSION: Final = "cp-audit-row/1"
SEAL_DIGEST_VERSION: Final = "cp-audit-seal/1"
# A drop link of the chain: retention dropped whole months (db/audit/retention.py).
DROP_DIGEST_VERSION: Final = "cp-audit-drop/1"
# The digest that the first seal names as its predecessor.
GENESIS_DIGEST: Final = bytes(32)


class SealKeyError(ValueError):
    """A seal key setting that is not a base64 Ed25519 key."""


def _canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("audit times are timestamptz; a naive time cannot be hashed")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, UUID):
        return str(value)
    return value


def canonical_row(row: Mapping[str, Any]) -> bytes:
    """A row as UTF-8 JSON: every column named, keys sorted, times in UTC to the microsecond."""
    missing = [column for column in HASHED_COLUMNS if column not in row and column != "salt"]
    if missing:
        raise ValueError(f"an audit row to hash lacks {', '.join(missing)}")
    salt = row.get("salt")
    columns = HASHED_COLUMNS if salt is not None else HASHED_COLUMNS[1:]
    document = {
        "v": ROW_HASH_VERSION if salt is not None else UNSALTED_ROW_HASH_VERSION,
        **{column: _canonical_value(row[column]) for column in columns},
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def row_hash(row: Mapping[str, Any]) -> bytes:
    """The SHA-256 of the canonical form of an audit row."""
    return hashlib.sha256(canonical_row(row)).digest()


@dataclass(frozen=True)
class SealHeader:
    """What a seal says besides its entries: where it sits in the chain and what it covers."""

    position: int
    after_id: int
    through_id: int
    prev_digest: bytes
    sealed_at: datetime
    key_id: str


def seal_digest(header: SealHeader, entries: Iterable[tuple[int, bytes]]) -> bytes:
    """The SHA-256 over the header and every (event id, row hash) of the range, in id order."""
    digest = hashlib.sha256()
    lines = (
        SEAL_DIGEST_VERSION,
        str(header.position),
        str(header.after_id),
        str(header.through_id),
        header.prev_digest.hex(),
        _canonical_value(header.sealed_at),
        header.key_id,
    )
    digest.update("".join(f"{line}\n" for line in lines).encode())
    for event_id, hashed in entries:
        digest.update(f"{event_id}:{hashed.hex()}\n".encode())
    return digest.digest()


def drop_digest(header: SealHeader, dropped: Mapping[str, Any]) -> bytes:
    """The SHA-256 over a drop link's header and what it dropped (canonical JSON)."""
    lines = (
        DROP_DIGEST_VERSION,
        str(header.position),
        str(header.after_id),
        str(header.through_id),
        header.prev_digest.hex(),
        _canonical_value(header.sealed_at),
        header.key_id,
        json.dumps(
            dropped, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ),
    )
    return hashlib.sha256("".join(f"{line}\n" for line in lines).encode()).digest()


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short name of a public key, stored with each seal: its SHA-256, first 16 hex digits."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def load_private_key(encoded: str) -> Ed25519PrivateKey:
    """The private key from the base64 of its 32 raw bytes (the AUDIT_SEAL_PRIVATE_KEY form)."""
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded, validate=True))
    except ValueError as exc:
        raise SealKeyError("the audit seal private key is not base64 of 32 bytes") from exc


def load_public_key(encoded: str) -> Ed25519PublicKey:
    """A public key from the base64 of its 32 raw bytes (the AUDIT_SEAL_PUBLIC_KEYS form)."""
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded, validate=True))
    except ValueError as exc:
        raise SealKeyError(f"not a base64 Ed25519 public key: {encoded!r}") from exc


def encode_private_key(key: Ed25519PrivateKey) -> str:
    """The base64 of the private key's raw bytes."""
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def encode_public_key(key: Ed25519PublicKey) -> str:
    """The base64 of the public key's raw bytes."""
    return base64.b64encode(public_key_bytes(key)).decode()


def new_private_key() -> str:
    """A fresh Ed25519 private key, base64."""
    return encode_private_key(Ed25519PrivateKey.generate())


def signature_is_valid(key: Ed25519PublicKey, *, signature: bytes, digest: bytes) -> bool:
    """Whether `signature` is `key`'s signature of `digest`."""
    try:
        key.verify(signature, digest)
    except InvalidSignature:
        return False
    return True


def trusted_keys(
    *, private_key: str | None, public_keys: Iterable[str]
) -> dict[str, Ed25519PublicKey]:
    """The public keys a verifier trusts, by key id: the given ones and the private key's own."""
    keys = [load_public_key(encoded) for encoded in public_keys]
    if private_key is not None:
        keys.append(load_private_key(private_key).public_key())
    return {key_id(key): key for key in keys}


REDACTION_DIGEST_VERSION: Final = "cp-audit-redaction/1"


def redaction_digest(entries: Iterable[tuple[int, bytes]]) -> bytes:
    """The SHA-256 over the (event id, hash as forgotten) of forgotten rows, in id order: the
    lifecycle run's audit row carries it, attesting each forgetting."""
    digest = hashlib.sha256(f"{REDACTION_DIGEST_VERSION}\n".encode())
    for event_id, hashed in entries:
        digest.update(f"{event_id}:{hashed.hex()}\n".encode())
    return digest.digest()
