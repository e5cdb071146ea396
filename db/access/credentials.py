"""Secrets and how they are checked: argon2id hashes, one-time codes, tokens and API keys.

Pure functions (no database), unit-tested without servers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Final

import pyotp
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from contactpoint.settings import Settings

SESSION_TOKEN_PREFIX: Final = "cps_"
API_KEY_PREFIX: Final = "cpk_"
_API_KEY = re.compile(r"^cpk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
_CODE = re.compile(r"^[0-9]{6}$")
# Checked when an unknown user signs in, so that the answer takes as long as for a real one.
_DUMMY_TOTP_SECRET: Final = pyotp.random_base32()


@dataclass(frozen=True)
class Argon2Cost:
    """The argon2id cost of password and PIN hashes (from the settings)."""

    time_cost: int
    memory_cost_kib: int
    parallelism: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Argon2Cost:
        """The cost configured for this deployment."""
        return cls(
            time_cost=settings.argon2_time_cost,
            memory_cost_kib=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
        )


@lru_cache(maxsize=4)
def password_hasher(cost: Argon2Cost) -> PasswordHasher:
    """An argon2id hasher of the given cost (cached: building one is cheap, hashing is not)."""
    return PasswordHasher(
        time_cost=cost.time_cost,
        memory_cost=cost.memory_cost_kib,
        parallelism=cost.parallelism,
        type=Type.ID,
    )


@lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def hash_secret(secret: str, *, hasher: PasswordHasher) -> str:
    """The argon2id hash (salted, with its parameters) of a password or a PIN."""
    return hasher.hash(secret)


def verify_secret(stored: str | None, secret: str, *, hasher: PasswordHasher) -> bool:
    """Whether `secret` matches `stored`; with no stored hash, a dummy one is checked (timing)."""
    candidate = stored if stored is not None else _dummy_hash(hasher)
    try:
        hasher.verify(candidate, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored is not None


def password_problem(password: str, *, min_length: int) -> str | None:
    """Why `password` is not acceptable, or None."""
    if len(password) < min_length:
        return f"the password must have at least {min_length} characters"
    if len(password) > 1024:
        return "the password must have at most 1024 characters"
    if password != password.strip():
        return "the password must not start or end with white space"
    return None


def pin_problem(pin: str, *, min_digits: int, max_digits: int) -> str | None:
    """Why `pin` is not acceptable, or None."""
    if not re.fullmatch(rf"[0-9]{{{min_digits},{max_digits}}}", pin):
        return f"the PIN must be {min_digits} to {max_digits} digits"
    if len(set(pin)) == 1:
        return "the PIN must not repeat one digit"
    return None


def new_totp_secret() -> str:
    """A fresh 160-bit base32 secret for RFC 6238 codes."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    """The otpauth:// URI that enrols `secret` in an authenticator app or token."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def current_code(secret: str, *, at: datetime) -> str:
    """The code of `secret` at `at` (demo accounts and tests)."""
    return pyotp.TOTP(secret).at(at)


def matched_totp_step(
    secret: str | None, code: str, *, at: datetime, window: int = 1
) -> int | None:
    """The time step that `code` belongs to (within +/- `window` steps of `at`), used or not."""
    totp = pyotp.TOTP(secret if secret is not None else _DUMMY_TOTP_SECRET)
    code = code.replace(" ", "")
    candidate = code if _CODE.match(code) else "-" * 6
    now_step = totp.timecode(at)
    matched = None
    # Every candidate step is compared (constant work), and the latest match wins.
    for step in range(now_step - window, now_step + window + 1):
        if hmac.compare_digest(totp.generate_otp(step), candidate):
            matched = step
    return None if secret is None else matched


def accepted_totp_step(
    secret: str | None, code: str, *, at: datetime, last_step: int | None, window: int = 1
) -> int | None:
    """The time step that `code` belongs to (within +/- `window` steps of `at`), or None.

    A step at or before `last_step` was already used: refusing it stops replays.
    """
    step = matched_totp_step(secret, code, at=at, window=window)
    if step is None or (last_step is not None and step <= last_step):
        return None
    return step


def digest(value: str) -> bytes:
    """SHA-256 of a high-entropy token or key (a slow hash adds nothing at 256 bits)."""
    return hashlib.sha256(value.encode()).digest()


def new_session_token() -> str:
    """A session token: 256 random bits."""
    return SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """(key id, key): the id is stored in clear for lookup, the key only as a digest."""
    key_id = secrets.token_hex(6)
    return key_id, f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def api_key_id(key: str) -> str | None:
    """The key id of a well-formed API key, or None."""
    match = _API_KEY.match(key)
    return match.group(1) if match else None


def same_digest(stored: bytes, value: str) -> bool:
    """Constant-time comparison of a stored digest with the digest of `value`."""
    return hmac.compare_digest(stored, digest(value))
