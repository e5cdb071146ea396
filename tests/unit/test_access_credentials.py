"""Pure credential rules: argon2id hashes, one-time codes with replay refusal, keys, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from contactpoint.settings import Settings
from db.access.credentials import (
    Argon2Cost,
    accepted_totp_step,
    api_key_id,
    digest,
    hash_secret,
    new_api_key,
    new_session_token,
    new_totp_secret,
    password_hasher,
    password_problem,
    pin_problem,
    same_digest,
    verify_secret,
)
from db.access.sessions import SessionLimits

HASHER = password_hasher(Argon2Cost(time_cost=1, memory_cost_kib=8192, parallelism=1))
NOW = datetime(2025, 3, 14, 12, 0, 10, tzinfo=UTC)


def test_a_hash_is_argon2id_and_verifies_only_its_own_secret() -> None:
    stored = hash_secret("correct horse battery", hasher=HASHER)
    assert stored.startswith("$argon2id$")
    assert verify_secret(stored, "correct horse battery", hasher=HASHER)
    assert not verify_secret(stored, "correct horse batterY", hasher=HASHER)
    assert not verify_secret("not a hash", "anything", hasher=HASHER)


def test_an_unknown_user_is_checked_against_a_dummy_hash_and_always_fails() -> None:
    assert not verify_secret(None, "", hasher=HASHER)
    assert not verify_secret(None, "correct horse battery", hasher=HASHER)


def test_a_code_is_accepted_once_and_its_replay_is_refused() -> None:
    secret = new_totp_secret()
    code = pyotp.TOTP(secret).at(NOW)
    step = accepted_totp_step(secret, code, at=NOW, last_step=None)
    assert step == pyotp.TOTP(secret).timecode(NOW)
    assert accepted_totp_step(secret, code, at=NOW, last_step=step) is None


@pytest.mark.parametrize(
    ("offset_s", "accepted"),
    [(-30, True), (0, True), (30, True), (-90, False), (-300, False), (90, False)],
    ids=[
        "previous-step",
        "current-step",
        "next-step",
        "three-steps-ago",
        "five-minutes-ago",
        "far-future",
    ],
)
def test_codes_are_accepted_only_within_one_step_of_now(offset_s: int, accepted: bool) -> None:
    secret = new_totp_secret()
    code = pyotp.TOTP(secret).at(NOW + timedelta(seconds=offset_s))
    assert (accepted_totp_step(secret, code, at=NOW, last_step=None) is not None) is accepted


def test_a_code_older_than_the_last_accepted_one_is_a_replay() -> None:
    secret = new_totp_secret()
    totp = pyotp.TOTP(secret)
    latest = accepted_totp_step(
        secret, totp.at(NOW + timedelta(seconds=30)), at=NOW, last_step=None
    )
    assert latest is not None
    assert accepted_totp_step(secret, totp.at(NOW), at=NOW, last_step=latest) is None


@pytest.mark.parametrize(
    "code",
    ["", "12345", "1234567", "abcdef", "12 34 5x"],
    ids=["empty", "five-digits", "seven-digits", "letters", "mixed"],
)
def test_malformed_codes_are_refused(code: str) -> None:
    assert accepted_totp_step(new_totp_secret(), code, at=NOW, last_step=None) is None


def test_a_code_with_spaces_is_accepted() -> None:
    secret = new_totp_secret()
    code = pyotp.TOTP(secret).at(NOW)
    assert accepted_totp_step(secret, f"{code[:3]} {code[3:]}", at=NOW, last_step=None)


def test_api_keys_carry_their_lookup_id_and_are_compared_by_digest() -> None:
    key_id, key = new_api_key()
    assert api_key_id(key) == key_id and key.startswith(f"cpk_{key_id}_")
    assert same_digest(digest(key), key) and not same_digest(digest(key), key + "x")
    for garbage in ("", "cpk_", "cpk_zzzzzzzzzzzz_" + "a" * 43, new_session_token()):
        assert api_key_id(garbage) is None


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 12"),
        (" padded password ", "white space"),
        ("a" * 1025, "at most"),
        ("long enough pass", None),
    ],
    ids=["short", "padded", "huge", "fine"],
)
def test_password_rules(password: str, problem: str | None) -> None:
    found = password_problem(password, min_length=12)
    assert (found is None) if problem is None else (problem in str(found))


@pytest.mark.parametrize(
    ("pin", "ok"),
    [
        ("2580", True),
        ("25801470", True),
        ("123", False),
        ("123456789", False),
        ("12a4", False),
        ("1111", False),
    ],
    ids=["four", "eight", "three", "nine", "letter", "one-digit-repeated"],
)
def test_pin_rules(pin: str, ok: bool) -> None:
    assert (pin_problem(pin, min_digits=4, max_digits=8) is None) is ok


def test_the_session_limits_and_the_hash_cost_are_read_from_the_settings() -> None:
    settings = Settings(
        session_idle_timeout_s=60,
        session_absolute_timeout_s=3600,
        argon2_time_cost=2,
        argon2_memory_cost_kib=8192,
        argon2_parallelism=1,
    )
    limits = SessionLimits.from_settings(settings)
    assert limits == SessionLimits(idle=timedelta(minutes=1), absolute=timedelta(hours=1))
    hasher = password_hasher(Argon2Cost.from_settings(settings))
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (2, 8192, 1)
    assert password_hasher(Argon2Cost.from_settings(settings)) is hasher
