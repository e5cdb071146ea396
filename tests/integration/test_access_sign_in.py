"""Sign-in needs all three factors, refuses replays, locks out, rate-limits and is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Role
from db.models import AuditEvent
from tests.integration.access_support import (
    Account,
    build_client,
    fast_settings,
    new_account,
    new_authority,
    unique,
)


@pytest.fixture
def account(engine: Engine, fast: Settings) -> Account:
    return new_account(engine, fast, roles=[Role.PRACTITIONER], authorities=[new_authority(engine)])


def _sign_in_events(engine: Engine, username: str) -> list[AuditEvent]:
    with Session(engine) as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.event == "sign_in", AuditEvent.username == username)
            .order_by(AuditEvent.id)
        )
        return list(rows)


def test_all_three_factors_open_a_session_with_a_strict_http_only_cookie(
    api: TestClient,
    account: Account,
) -> None:
    response = api.post("/v1/auth/login", json=account.login_body())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"].startswith("cps_") and body["me"]["username"] == account.username
    assert (
        body["me"]["roles"] == ["practitioner"] and "search_children" in body["me"]["permissions"]
    )
    cookie = response.headers["set-cookie"].lower()
    for attribute in ("httponly", "secure", "samesite=strict", "path=/"):
        assert attribute in cookie
    assert api.get("/v1/me").json()["username"] == account.username


@pytest.mark.parametrize(
    "changes",
    [
        {"password": "wrong horse battery"},
        {"pin": "0852"},
        {"code": "000000"},
        {"password": ""},
        {"pin": ""},
        {"code": ""},
    ],
    ids=["wrong-password", "wrong-pin", "wrong-code", "no-password", "no-pin", "no-code"],
)
def test_sign_in_fails_when_any_one_factor_is_wrong_or_empty(
    api: TestClient,
    account: Account,
    changes: dict[str, str],
) -> None:
    response = api.post("/v1/auth/login", json={**account.login_body(), **changes})
    assert response.status_code == 401
    assert (
        response.json()["message"] == "The username, password, PIN or one-time code is not right."
    )
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("missing", ["password", "pin", "code"])
def test_sign_in_fails_when_a_factor_is_left_out(
    api: TestClient,
    account: Account,
    missing: str,
) -> None:
    body = account.login_body()
    del body[missing]
    response = api.post("/v1/auth/login", json=body)
    assert response.status_code == 422
    # The secrets sent are never echoed (the random request id may contain any digits).
    answer = response.json()
    assert answer.pop("request_id")
    echoed = json.dumps(answer)
    assert account.password not in echoed and account.pin not in echoed


def test_a_code_that_was_already_used_is_refused(
    api: TestClient,
    account: Account,
) -> None:
    body = account.login_body()
    assert api.post("/v1/auth/login", json=body).status_code == 200
    replay = api.post("/v1/auth/login", json=body)
    assert replay.status_code == 401
    assert "already been used. Wait for the next code" in replay.json()["message"]
    failure = _sign_in_events(api_engine(api), account.username)[-1]
    assert failure.outcome == "failure"
    assert failure.details == {"reason": "code_already_used", "failed_factors": ["code"]}
    # With a wrong PIN the replay is not told apart: nothing is said about any one factor.
    wrong_pin = api.post("/v1/auth/login", json={**body, "pin": "9999"})
    assert wrong_pin.status_code == 401 and "already" not in wrong_pin.json()["message"]
    assert _sign_in_events(api_engine(api), account.username)[-1].details["failed_factors"] == [
        "pin",
        "code",
    ]


def api_engine(api: TestClient) -> Engine:
    engine: Engine = api.app.state.engine  # type: ignore[attr-defined]
    return engine


def test_an_expired_code_is_refused(api: TestClient, account: Account) -> None:
    stale = datetime.now(UTC) - timedelta(minutes=5)
    assert api.post("/v1/auth/login", json=account.login_body(at=stale)).status_code == 401


def test_a_code_of_the_previous_step_is_still_accepted(
    api: TestClient,
    account: Account,
) -> None:
    previous = datetime.now(UTC) - timedelta(seconds=30)
    assert api.post("/v1/auth/login", json=account.login_body(at=previous)).status_code == 200


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(
    api: TestClient,
    account: Account,
) -> None:
    wrong = api.post("/v1/auth/login", json=account.login_body(password="not the password"))
    unknown = api.post("/v1/auth/login", json=account.login_body(username=unique("nobody")))
    assert (wrong.status_code, wrong.json()["message"]) == (
        unknown.status_code,
        unknown.json()["message"],
    )
    assert set(wrong.json()) == set(unknown.json()) == {"message", "request_id"}


def _fail_until_locked(api: TestClient, account: Account, threshold: int) -> Any:
    for _ in range(threshold - 1):
        response = api.post("/v1/auth/login", json=account.login_body(pin="9999"))
        assert response.status_code == 401 and "locked" not in response.json()["message"]
    return api.post("/v1/auth/login", json=account.login_body(pin="9999"))


def test_repeated_failures_lock_the_account_until_a_stated_time(
    api: TestClient,
    account: Account,
    fast: Settings,
) -> None:
    locked = _fail_until_locked(api, account, fast.lockout_threshold)
    assert locked.status_code == 401
    assert "locked until" in locked.json()["message"]
    until = datetime.fromisoformat(locked.json()["locked_until"])
    assert timedelta(minutes=14) < until - datetime.now(UTC) <= timedelta(minutes=15)
    # Even the right factors are refused while the lock lasts.
    right = api.post("/v1/auth/login", json=account.login_body())
    assert right.status_code == 401 and "locked until" in right.json()["message"]


def test_an_unknown_username_locks_out_exactly_like_a_real_one(
    api: TestClient,
    account: Account,
    fast: Settings,
) -> None:
    ghost = Account(unique("ghost"), account.password, account.pin, account.totp_secret)
    locked = _fail_until_locked(api, ghost, fast.lockout_threshold)
    assert locked.status_code == 401 and "locked until" in locked.json()["message"]


def test_the_lockout_ends_at_the_stated_time(
    engine: Engine,
    api: TestClient,
    account: Account,
    fast: Settings,
) -> None:
    _fail_until_locked(api, account, fast.lockout_threshold)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE sign_in_lockout SET locked_until = now() - interval '1 second' "
                "WHERE username = :name"
            ),
            {"name": account.username},
        )
    assert api.post("/v1/auth/login", json=account.login_body()).status_code == 200


def test_sign_in_is_rate_limited_per_username_with_retry_after(
    engine: Engine,
    settings: Settings,
) -> None:
    limited = fast_settings(settings, sign_in_rate_per_username=3, lockout_threshold=100)
    account = new_account(engine, limited, roles=[Role.AUDITOR])
    _, client = build_client(limited)
    with client:
        for _ in range(3):
            assert (
                client.post("/v1/auth/login", json=account.login_body(pin="9999")).status_code
                == 401
            )
        refused = client.post("/v1/auth/login", json=account.login_body())
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= limited.sign_in_rate_window_s
    assert refused.json()["request_id"] == refused.headers["X-Request-ID"]


def test_sign_in_is_rate_limited_per_address(engine: Engine, settings: Settings) -> None:
    limited = fast_settings(settings, sign_in_rate_per_address=2)
    _, client = build_client(limited, address=f"127.0.2.{datetime.now(UTC).microsecond % 250}")
    accounts = [new_account(engine, limited, roles=[Role.AUDITOR]) for _ in range(3)]
    with client:
        statuses = [
            client.post("/v1/auth/login", json=account.login_body(pin="9999")).status_code
            for account in accounts
        ]
    assert statuses[-1] == 429


@pytest.mark.parametrize("state", ["suspended", "expired"])
def test_a_suspended_or_expired_account_cannot_sign_in(
    engine: Engine,
    api: TestClient,
    fast: Settings,
    state: str,
) -> None:
    account = new_account(engine, fast, roles=[Role.AUDITOR])
    column = "suspended_at" if state == "suspended" else "expires_at"
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE app_user SET {column} = now() - interval '1 day' WHERE username = :u"),
            {"u": account.username},
        )
    response = api.post("/v1/auth/login", json=account.login_body())
    assert response.status_code == 403 and state in response.json()["message"]


def test_every_sign_in_leaves_an_audit_row_without_any_secret(
    engine: Engine,
    api: TestClient,
    account: Account,
) -> None:
    failed = api.post("/v1/auth/login", json=account.login_body(password="a wrong guess"))
    succeeded = api.post("/v1/auth/login", json=account.login_body())
    rows = _sign_in_events(engine, account.username)
    assert [(row.outcome, row.request_id) for row in rows] == [
        ("failure", failed.headers["X-Request-ID"]),
        ("success", succeeded.headers["X-Request-ID"]),
    ]
    assert rows[0].details == {"reason": "wrong_factors", "failed_factors": ["password"]}
    assert rows[1].user_id is not None and rows[1].client_address == "127.0.0.1"
    for row in rows:
        assert "a wrong guess" not in str(row.details) and account.pin not in str(row.details)
