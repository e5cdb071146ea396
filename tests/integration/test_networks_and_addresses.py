"""Only from secure networks, and the client's address from the socket unless a named proxy
says otherwise: the rate limits and the audit cannot be fed a forged address."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, text

from contactpoint.settings import Settings
from db.access import Role
from db.access.networks import networks_of_setting
from tests.integration.access_support import (
    bearer,
    build_client,
    fast_settings,
    new_account,
    new_api_key,
    new_authority,
    session_token,
    unique,
)

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def _sign_ins(engine: Engine, username: str) -> list[Any]:
    return _rows(
        engine,
        "SELECT outcome, client_address, details FROM audit_event "
        "WHERE event = 'sign_in' AND username = :u ORDER BY id",
        u=username,
    )


def test_a_forged_forwarded_for_neither_resets_the_rate_limit_nor_reaches_the_audit(
    engine: Engine, settings: Settings
) -> None:
    limited = fast_settings(settings, sign_in_rate_per_username=100, sign_in_rate_per_address=2)
    address = f"127.0.3.{uuid_octet()}"
    account = new_account(engine, limited, roles=[Role.AUDITOR])
    _, client = build_client(limited, address=address)
    with client:
        statuses = [
            client.post("/v1/auth/login", json=account.login_body(pin="9999")).status_code
            for _ in range(3)
        ]
        forged = [
            client.post(
                "/v1/auth/login",
                json=account.login_body(),
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
            for n in range(5)
        ]
    assert statuses == [401, 401, 429]
    assert forged == [429] * 5
    rows = _sign_ins(engine, account.username)
    assert {row.client_address for row in rows} == {address}
    # Rate-limited attempts are refused before any factor is checked.
    assert [row.details["reason"] for row in rows[-5:]] == ["rate_limited:address"] * 5


def uuid_octet() -> int:
    return int(unique("o").split("-")[1], 16) % 250 + 1


def test_a_proxy_named_in_the_settings_is_believed_and_no_one_else(
    engine: Engine,
    fast: Settings,
) -> None:
    account = new_account(engine, fast, roles=[Role.AUDITOR])
    app, client = build_client(fast_settings(fast, sign_in_networks="127.0.0.0/8,10.9.0.0/16"))
    app.state.trusted_proxies = networks_of_setting("127.0.0.1")
    with client:
        response = client.post(
            "/v1/auth/login",
            json=account.login_body(),
            headers={"X-Forwarded-For": "203.0.113.50, 10.9.8.7"},
        )
    assert response.status_code == 200, response.text
    assert _sign_ins(engine, account.username)[-1].client_address == "10.9.8.7"


def test_sign_in_from_outside_the_secure_networks_is_refused_audited_and_checks_nothing(
    engine: Engine,
    fast: Settings,
) -> None:
    account = new_account(engine, fast, roles=[Role.AUDITOR])
    _, client = build_client(fast, address="198.51.100.20")
    with client:
        refused = client.post("/v1/auth/login", json=account.login_body())
        form = client.get("/sign-in", headers=HTML).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        page = client.post(
            "/sign-in",
            data={**account.login_body(), "csrf_token": token.group(1)},
            headers=HTML,
        )
    assert refused.status_code == 403
    assert "secure networks" in refused.json()["message"]
    assert page.status_code == 403 and "secure networks" in page.text
    rows = _sign_ins(engine, account.username)
    assert [(row.outcome, row.client_address, row.details["reason"]) for row in rows] == [
        ("failure", "198.51.100.20", "outside_networks")
    ] * 2
    # No factor was checked, so nothing counts towards the lockout.
    failures = _rows(
        engine, "SELECT failures FROM sign_in_lockout WHERE username = :u", u=account.username
    )
    assert failures == []


def test_a_session_used_from_outside_the_secure_networks_is_refused_and_audited(
    engine: Engine,
    fast: Settings,
) -> None:
    account = new_account(engine, fast, roles=[Role.AUDITOR])
    token = session_token(engine, account.username)
    _, inside = build_client(fast)
    _, outside = build_client(fast, address="198.51.100.21")
    with inside, outside:
        assert inside.get("/v1/me", headers=bearer(token)).status_code == 200
        refused = outside.get("/v1/me", headers=bearer(token))
    assert refused.status_code == 403 and "secure networks" in refused.json()["message"]
    denied = _rows(
        engine,
        "SELECT client_address FROM audit_event WHERE event = 'access_denied' "
        "AND username = :u AND request_id = :r",
        u=account.username,
        r=refused.headers["X-Request-ID"],
    )
    assert [row.client_address for row in denied] == ["198.51.100.21"]


def test_a_cms_client_calls_only_from_its_registered_networks(
    engine: Engine,
    fast: Settings,
) -> None:
    authority = new_authority(engine)
    user = new_account(engine, fast, roles=[Role.PRACTITIONER], authorities=[authority])
    key = new_api_key(engine, authority=authority, networks=["10.20.0.0/16"])
    default_key = new_api_key(engine, authority=authority)
    headers = {**bearer(key), "X-On-Behalf-Of": user.username}
    _, loopback = build_client(fast)
    _, registered = build_client(fast, address="10.20.3.4")
    with loopback, registered:
        refused = loopback.get("/v1/me", headers=headers)
        allowed = registered.get("/v1/me", headers=headers)
        default = loopback.get(
            "/v1/me", headers={**bearer(default_key), "X-On-Behalf-Of": user.username}
        )
        default_elsewhere = registered.get(
            "/v1/me", headers={**bearer(default_key), "X-On-Behalf-Of": user.username}
        )
    assert refused.status_code == 403 and "networks" in refused.json()["message"]
    assert allowed.status_code == 200, allowed.text
    assert default.status_code == 200 and default_elsewhere.status_code == 403
    denied = _rows(
        engine,
        "SELECT client_address, client_name FROM audit_event WHERE request_id = :r",
        r=refused.headers["X-Request-ID"],
    )
    assert [row.client_address for row in denied] == ["127.0.0.1"]
    assert denied[0].client_name.startswith("cms-")


def test_a_client_network_that_is_not_cidr_is_a_clear_422(
    engine: Engine,
    fast: Settings,
) -> None:
    admin = new_account(engine, fast, roles=[Role.ADMIN])
    token = session_token(engine, admin.username)
    _, client = build_client(fast)
    with client:
        response = client.post(
            "/v1/admin/clients",
            json={
                "name": unique("cms"),
                "authority": new_authority(engine),
                "networks": ["10.0.0.1/8"],
            },
            headers=bearer(token),
        )
    assert response.status_code == 422 and "CIDR" in response.json()["message"]


def test_account_and_client_changes_carry_the_client_address(
    engine: Engine,
    fast: Settings,
) -> None:
    admin = new_account(engine, fast, roles=[Role.ADMIN])
    target = new_account(engine, fast, roles=[Role.AUDITOR])
    token = session_token(engine, admin.username)
    _, client = build_client(fast, address="127.0.4.5")
    with client:
        suspended = client.post(f"/v1/admin/users/{target.username}/suspend", headers=bearer(token))
        created = client.post(
            "/v1/admin/clients",
            json={"name": unique("cms"), "authority": new_authority(engine)},
            headers=bearer(token),
        )
    assert suspended.status_code == 200 and created.status_code == 201
    for response in (suspended, created):
        rows = _rows(
            engine,
            "SELECT event, client_address FROM audit_event WHERE request_id = :r",
            r=response.headers["X-Request-ID"],
        )
        assert [row.client_address for row in rows] == ["127.0.4.5"], rows


def test_a_change_made_at_the_command_line_is_audited_as_local(
    engine: Engine,
    fast: Settings,
) -> None:
    account = new_account(engine, fast, roles=[Role.AUDITOR])
    rows = _rows(
        engine,
        "SELECT username, client_address FROM audit_event "
        "WHERE event = 'user_created' AND subject = :u",
        u=account.username,
    )
    assert [(row.username.startswith("cli:"), row.client_address) for row in rows] == [
        (True, "local")
    ]
