"""Webhook signatures as a receiver checks them: HMAC-SHA256 over "timestamp.body"."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime

import pytest

from notify import signature, verify, webhook_body
from notify.queue import Claimed, backoff_s

SECRET = "whsec_test-secret-of-enough-length-000000"
NOW = 1_800_000_000


def test_the_signature_is_hmac_sha256_over_the_timestamp_and_the_body() -> None:
    body = b'{"type":"involvement_started"}'
    expected = hmac.new(SECRET.encode(), b"1800000000." + body, hashlib.sha256).hexdigest()
    assert signature(SECRET, timestamp=NOW, body=body) == f"sha256={expected}"


@pytest.mark.parametrize(
    ("timestamp", "body", "secret", "now", "ok"),
    [
        pytest.param(NOW, b"{}", SECRET, NOW + 10, True, id="fresh-and-ours"),
        pytest.param(NOW, b"{ }", SECRET, NOW, False, id="body-changed"),
        pytest.param(NOW, b"{}", "another secret", NOW, False, id="another-secret"),
        pytest.param(NOW, b"{}", SECRET, NOW + 301, False, id="replayed-later"),
        pytest.param(NOW, b"{}", SECRET, NOW - 301, False, id="from-the-future"),
    ],
)
def test_a_receiver_accepts_only_a_fresh_request_signed_over_what_it_received(
    timestamp: int, body: bytes, secret: str, now: int, ok: bool
) -> None:
    signed = signature(secret, timestamp=timestamp, body=b"{}")
    assert verify(SECRET, timestamp=str(timestamp), signed=signed, body=body, now=now) is ok


def test_a_missing_or_malformed_timestamp_is_refused() -> None:
    signed = signature(SECRET, timestamp=NOW, body=b"{}")
    assert not verify(SECRET, timestamp=None, signed=signed, body=b"{}", now=NOW)
    assert not verify(SECRET, timestamp="-1", signed=signed, body=b"{}", now=NOW)
    assert not verify(SECRET, timestamp=str(NOW), signed=None, body=b"{}", now=NOW)


def test_the_webhook_body_holds_the_event_and_the_childs_identifier_only() -> None:
    event = uuid.uuid4()
    claimed = Claimed(
        id=1,
        notification_id=event,
        channel="webhook",
        target="https://cms.example/hook",
        client_id=7,
        attempts=1,
        kind="involvement_started",
        created_at=datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
        identifier="9434765919",
    )
    assert webhook_body(claimed) == (
        b'{"type":"involvement_started","id":"' + str(event).encode() + b'",'
        b'"time":"2026-12-03T09:30:00+00:00","child":{"identifier":"9434765919"}}'
    )


@pytest.mark.parametrize("attempts", [1, 2, 3, 8, 20])
def test_the_backoff_doubles_up_to_its_cap_with_jitter(attempts: int) -> None:
    ceiling = min(60.0, 2.0 * 2 ** (attempts - 1))
    for _ in range(50):
        wait = backoff_s(attempts, base_s=2.0, cap_s=60.0)
        assert ceiling / 2 <= wait <= ceiling
