"""Sessions live server-side: idle and absolute expiry, sign-out and suspension end them."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from contactpoint.settings import Settings
from db.access import Role
from tests.integration.access_support import (
    Account,
    bearer,
    new_account,
    new_authority,
    session_token,
)


@pytest.fixture
def account(engine: Engine, fast: Settings) -> Account:
    return new_account(engine, fast, roles=[Role.PRACTITIONER], authorities=[new_authority(engine)])


def _age_session(engine: Engine, token: str, column: str, interval: str) -> None:
    digest = hashlib.sha256(token.encode()).digest()
    with engine.begin() as connection:
        connection.execute(
            text(
                f"UPDATE user_session SET {column} = now() - CAST(:age AS interval) "
                "WHERE token_hash = :digest"
            ),
            {"age": interval, "digest": digest},
        )


def test_a_session_works_by_cookie_and_by_bearer_token(
    api: TestClient,
    account: Account,
) -> None:
    token = api.post("/v1/auth/login", json=account.login_body()).json()["token"]
    assert api.get("/v1/me").status_code == 200
    api.cookies.clear()
    assert api.get("/v1/me").status_code == 401
    assert api.get("/v1/me", headers=bearer(token)).json()["username"] == account.username


def test_only_the_digest_of_a_session_token_is_stored(
    engine: Engine,
    api: TestClient,
    account: Account,
) -> None:
    token = api.post("/v1/auth/login", json=account.login_body()).json()["token"]
    with engine.connect() as connection:
        stored = connection.execute(
            text(
                "SELECT token_hash FROM user_session s JOIN app_user u ON u.id = s.user_id "
                "WHERE u.username = :u"
            ),
            {"u": account.username},
        ).scalar_one()
    assert bytes(stored) == hashlib.sha256(token.encode()).digest()


def test_a_session_idle_for_longer_than_the_timeout_expires(
    engine: Engine,
    api: TestClient,
    account: Account,
) -> None:
    token = session_token(engine, account.username)
    _age_session(engine, token, "last_seen_at", "14 minutes")
    assert api.get("/v1/me", headers=bearer(token)).status_code == 200
    _age_session(engine, token, "last_seen_at", "16 minutes")
    refused = api.get("/v1/me", headers=bearer(token))
    assert refused.status_code == 401 and "expired" in refused.json()["message"]


def test_a_session_in_constant_use_expires_after_the_absolute_limit(
    engine: Engine,
    api: TestClient,
    account: Account,
) -> None:
    token = session_token(engine, account.username)
    _age_session(engine, token, "created_at", "7 hours 59 minutes")
    assert api.get("/v1/me", headers=bearer(token)).status_code == 200
    _age_session(engine, token, "created_at", "8 hours 1 minute")
    assert api.get("/v1/me", headers=bearer(token)).status_code == 401


def test_signing_out_revokes_the_session_and_clears_the_cookie(
    engine: Engine,
    api: TestClient,
    account: Account,
) -> None:
    token = session_token(engine, account.username)
    response = api.post("/v1/auth/logout", headers=bearer(token))
    assert response.status_code == 200
    assert 'cp_session=""' in response.headers["set-cookie"]
    assert api.get("/v1/me", headers=bearer(token)).status_code == 401
    with engine.connect() as connection:
        events = connection.execute(
            text("SELECT event FROM audit_event WHERE username = :u ORDER BY id"),
            {"u": account.username},
        ).scalars()
        assert list(events)[-1] == "sign_out"


def test_signing_in_deletes_the_sessions_that_can_no_longer_be_used(
    engine: Engine,
    api: TestClient,
    account: Account,
) -> None:
    signed_out = session_token(engine, account.username)
    assert api.post("/v1/auth/logout", headers=bearer(signed_out)).status_code == 200
    idle = session_token(engine, account.username)
    _age_session(engine, idle, "last_seen_at", "16 minutes")
    live = session_token(engine, account.username)
    token = api.post("/v1/auth/login", json=account.login_body()).json()["token"]
    with engine.connect() as connection:
        kept = connection.execute(
            text(
                "SELECT token_hash FROM user_session s JOIN app_user u ON u.id = s.user_id "
                "WHERE u.username = :u"
            ),
            {"u": account.username},
        ).scalars()
        assert {bytes(digest) for digest in kept} == {
            hashlib.sha256(value.encode()).digest() for value in (live, token)
        }
    assert api.get("/v1/me", headers=bearer(live)).status_code == 200


def test_suspending_a_user_revokes_every_session(
    engine: Engine,
    api: TestClient,
    fast: Settings,
    account: Account,
) -> None:
    tokens = [session_token(engine, account.username) for _ in range(2)]
    admin = new_account(engine, fast, roles=[Role.ADMIN])
    admin_token = session_token(engine, admin.username)
    response = api.post(f"/v1/admin/users/{account.username}/suspend", headers=bearer(admin_token))
    assert response.status_code == 200 and "ended 2 sessions" in response.json()["message"]
    for token in tokens:
        assert api.get("/v1/me", headers=bearer(token)).status_code == 401


def test_a_garbled_or_unknown_token_is_not_authenticated(api: TestClient) -> None:
    for headers in (bearer("cps_not-a-real-token"), {"Authorization": "Basic abc"}):
        response = api.get("/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
