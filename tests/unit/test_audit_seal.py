"""The pure part of the audit seal: canonical row hashes, seal digests and signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from db.audit.seal import (
    GENESIS_DIGEST,
    HASHED_COLUMNS,
    SealHeader,
    SealKeyError,
    canonical_row,
    encode_private_key,
    encode_public_key,
    key_id,
    load_private_key,
    row_hash,
    seal_digest,
    signature_is_valid,
    trusted_keys,
)
from db.models import AuditEvent

_AT = datetime(2026, 11, 3, 9, 30, 15, 123456, tzinfo=UTC)


def _row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 41,
        "occurred_at": _AT,
        "event": "search",
        "outcome": "success",
        "user_id": 7,
        "username": "amara.okafor",
        "client_id": None,
        "client_name": None,
        "authorities": ["E08000035"],
        "subject": None,
        "request_id": "req-1",
        "client_address": "127.0.0.1",
        "details": {"criteria": {"family_name": "Smith"}, "result_count": 1},
    }
    return {**row, **changes}


def _header(**changes: Any) -> SealHeader:
    values: dict[str, Any] = {
        "position": 3,
        "after_id": 40,
        "through_id": 50,
        "prev_digest": bytes(range(32)),
        "sealed_at": _AT,
        "key_id": "0123456789abcdef",
    }
    return SealHeader(**{**values, **changes})


def test_every_column_of_the_audit_table_is_hashed() -> None:
    assert set(HASHED_COLUMNS) == set(AuditEvent.__table__.columns.keys())


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("id", 42),
        ("occurred_at", _AT + timedelta(microseconds=1)),
        ("event", "view"),
        ("outcome", "denied"),
        ("user_id", None),
        ("username", "amara.okafor2"),
        ("client_id", 3),
        ("client_name", "Leeds CMS"),
        ("authorities", ["E08000035", "E09000025"]),
        ("subject", "9434765919"),
        ("request_id", "req-2"),
        ("client_address", "10.0.0.1"),
        ("details", {"criteria": {"family_name": "Smyth"}, "result_count": 1}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_change_to_any_column_changes_the_row_hash(column: str, value: object) -> None:
    assert row_hash(_row(**{column: value})) != row_hash(_row())


def test_the_same_instant_in_another_time_zone_hashes_the_same() -> None:
    london_summer = _AT.astimezone(timezone(timedelta(hours=1)))
    assert row_hash(_row(occurred_at=london_summer)) == row_hash(_row())


def test_the_order_of_detail_keys_does_not_change_the_hash() -> None:
    reordered = {"result_count": 1, "criteria": {"family_name": "Smith"}}
    assert row_hash(_row(details=reordered)) == row_hash(_row())


def test_a_null_and_an_empty_string_hash_differently() -> None:
    assert row_hash(_row(subject="")) != row_hash(_row(subject=None))


def test_the_canonical_form_is_compact_sorted_utf8_json() -> None:
    text = canonical_row(_row(username="zoë.brontë")).decode()
    assert '"occurred_at":"2026-11-03T09:30:15.123456+00:00"' in text
    assert "zoë.brontë" in text and ", " not in text


def test_a_row_without_every_column_or_with_a_naive_time_is_refused() -> None:
    incomplete = _row()
    del incomplete["client_address"]
    with pytest.raises(ValueError, match="client_address"):
        row_hash(incomplete)
    with pytest.raises(ValueError, match="naive"):
        row_hash(_row(occurred_at=_AT.replace(tzinfo=None)))


@pytest.mark.parametrize(
    "changes",
    [
        {"position": 4},
        {"after_id": 39},
        {"through_id": 51},
        {"prev_digest": GENESIS_DIGEST},
        {"sealed_at": _AT + timedelta(seconds=1)},
        {"key_id": "fedcba9876543210"},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_a_change_to_any_header_field_changes_the_seal_digest(changes: dict[str, Any]) -> None:
    entries = [(41, row_hash(_row()))]
    assert seal_digest(_header(**changes), entries) != seal_digest(_header(), entries)


def test_a_changed_missing_or_added_entry_changes_the_seal_digest() -> None:
    entries = [(41, bytes(32)), (43, bytes([1]) * 32)]
    digest = seal_digest(_header(), entries)
    assert seal_digest(_header(), [(41, bytes(32)), (43, bytes([2]) * 32)]) != digest
    assert seal_digest(_header(), entries[:1]) != digest
    assert seal_digest(_header(), [*entries, (44, bytes(32))]) != digest
    assert seal_digest(_header(), list(entries)) == digest


def test_a_signature_verifies_only_with_its_key_and_its_digest() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    digest = seal_digest(_header(), [])
    signature = key.sign(digest)
    assert signature_is_valid(key.public_key(), signature=signature, digest=digest)
    assert not signature_is_valid(other.public_key(), signature=signature, digest=digest)
    assert not signature_is_valid(key.public_key(), signature=signature, digest=bytes(32))


def test_trusted_keys_are_named_by_key_id_from_the_private_and_public_settings() -> None:
    key, earlier = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = trusted_keys(
        private_key=encode_private_key(key),
        public_keys=[encode_public_key(earlier.public_key())],
    )
    assert set(keys) == {key_id(key.public_key()), key_id(earlier.public_key())}
    assert len(key_id(key.public_key())) == 16


@pytest.mark.parametrize("encoded", ["", "not base64!", "c2hvcnQ="], ids=["empty", "junk", "short"])
def test_a_malformed_key_setting_is_a_clear_error(encoded: str) -> None:
    with pytest.raises(SealKeyError):
        load_private_key(encoded)
