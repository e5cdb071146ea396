"""Webhook signatures: HMAC-SHA256 over "timestamp.body" with the client's secret.

The receiver recomputes the signature over the timestamp header and the raw body, compares in
constant time, and rejects a timestamp older than its tolerance (a replayed request), and an
event id it has already handled (at-least-once delivery may repeat one). docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

TIMESTAMP_HEADER: Final = "ContactPoint-Timestamp"
SIGNATURE_HEADER: Final = "ContactPoint-Signature"
EVENT_HEADER: Final = "ContactPoint-Event-Id"
SCHEME: Final = "sha256="
DEFAULT_TOLERANCE_S: Final = 300


def signature(secret: str, *, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (Unix seconds)."""
    message = str(timestamp).encode() + b"." + body
    return SCHEME + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    *,
    timestamp: str | None,
    signed: str | None,
    body: bytes,
    now: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """Whether a received webhook is ours and fresh (what a receiver does)."""
    if timestamp is None or signed is None or not timestamp.isdigit():
        return False
    sent = int(timestamp)
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp=sent, body=body), signed)
