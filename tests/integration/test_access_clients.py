"""CMS clients act for a named, active user of their own local authority, or are refused."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from contactpoint.settings import Settings
from db.access import Role
from tests.integration.access_support import bearer, new_account, new_api_key, new_authority, unique


def _cms(key: str, user: str | None) -> dict[str, str]:
    headers = bearer(key)
    if user is not None:
        headers["X-On-Behalf-Of"] = user
    return headers


def test_a_cms_key_acts_for_a_practitioner_of_its_authority(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    authority, other = new_authority(engine), new_authority(engine)
    user = new_account(engine, fast, roles=[Role.PRACTITIONER], authorities=[authority, other])
    key = new_api_key(engine, authority=authority)
    me = api.get("/v1/me", headers=_cms(key, user.username.upper()))
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["username"] == user.username and body["client"].startswith("cms-")
    # The client acts in its own authority only, whatever else the user belongs to.
    assert body["authorities"] == [authority]


def test_a_cms_key_without_on_behalf_of_is_refused_with_the_reason(
    engine: Engine,
    api: TestClient,
) -> None:
    key = new_api_key(engine, authority=new_authority(engine))
    response = api.get("/v1/me", headers=_cms(key, None))
    assert response.status_code == 403
    assert "X-On-Behalf-Of" in response.json()["message"]


def test_a_cms_key_acting_for_a_user_of_another_authority_is_refused(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    outsider = new_account(
        engine, fast, roles=[Role.PRACTITIONER], authorities=[new_authority(engine)]
    )
    authority = new_authority(engine)
    key = new_api_key(engine, authority=authority)
    response = api.get("/v1/me", headers=_cms(key, outsider.username))
    assert response.status_code == 403
    assert (
        f"does not belong to this client's local authority ({authority})"
        in (response.json()["message"])
    )


def test_a_cms_key_acting_for_a_suspended_or_unknown_user_is_refused(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    authority = new_authority(engine)
    user = new_account(engine, fast, roles=[Role.PRACTITIONER], authorities=[authority])
    key = new_api_key(engine, authority=authority)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE app_user SET suspended_at = now() WHERE username = :u"),
            {"u": user.username},
        )
    suspended = api.get("/v1/me", headers=_cms(key, user.username))
    assert suspended.status_code == 403 and "suspended" in suspended.json()["message"]
    unknown = api.get("/v1/me", headers=_cms(key, unique("nobody")))
    assert unknown.status_code == 403 and "there is no user" in unknown.json()["message"]


def test_a_cms_client_cannot_lift_its_user_above_the_clients_role(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    authority = new_authority(engine)
    user = new_account(engine, fast, roles=[Role.PRACTITIONER, Role.ADMIN], authorities=[authority])
    key = new_api_key(engine, authority=authority)
    assert api.get("/v1/me", headers=_cms(key, user.username)).json()["roles"] == ["practitioner"]
    assert api.get("/v1/admin/users", headers=_cms(key, user.username)).status_code == 403
    auditor = new_account(engine, fast, roles=[Role.AUDITOR], authorities=[authority])
    refused = api.get("/v1/me", headers=_cms(key, auditor.username))
    assert refused.status_code == 403 and "may act only for practitioner" in refused.text


def test_a_revoked_or_forged_key_is_not_authenticated(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    authority = new_authority(engine)
    user = new_account(engine, fast, roles=[Role.PRACTITIONER], authorities=[authority])
    key = new_api_key(engine, authority=authority)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert api.get("/v1/me", headers=_cms(forged, user.username)).status_code == 401
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE api_client SET revoked_at = now() WHERE key_id = :id"),
            {"id": key.split("_")[1]},
        )
    assert api.get("/v1/me", headers=_cms(key, user.username)).status_code == 401


def test_only_the_digest_of_an_api_key_is_stored(engine: Engine) -> None:
    key = new_api_key(engine, authority=new_authority(engine))
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT key_hash FROM api_client WHERE key_id = :id"), {"id": key.split("_")[1]}
        ).scalar_one()
    assert bytes(stored) == hashlib.sha256(key.encode()).digest()


def test_a_refused_cms_request_is_audited_with_the_client_and_the_user(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    outsider = new_account(
        engine, fast, roles=[Role.PRACTITIONER], authorities=[new_authority(engine)]
    )
    key = new_api_key(engine, authority=new_authority(engine))
    response = api.get("/v1/me", headers=_cms(key, outsider.username))
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT event, outcome, username, client_name, subject FROM audit_event "
                "WHERE request_id = :id"
            ),
            {"id": response.headers["X-Request-ID"]},
        ).one()
    assert row.event == "access_denied" and row.outcome == "denied"
    assert row.username == outsider.username and row.client_name.startswith("cms-")
    assert row.subject == "GET /v1/me"
