"""The audit is append-only in the database, scoped when read, and records admin changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Principal, Role
from db.audit import AuditContext, AuditEventType, record_audit
from tests.integration.access_support import (
    PASSWORD,
    PIN,
    bearer,
    new_account,
    new_authority,
    session_token,
    unique,
)


def _write_event(engine: Engine, **changes: object) -> int:
    actor = Principal(user_id=None, username=unique("actor"), roles=frozenset())
    with Session(engine) as session, session.begin():
        return record_audit(
            session=session,
            context=AuditContext(principal=actor, request_id=unique("req"), client_address=None),
            event=AuditEventType.SEARCH,
            details={"criteria": {"family_name": "Smith"}, "result_count": 1},
            **changes,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET outcome = 'failure' WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_audit_row(
    engine: Engine, settings: Settings, statement: str
) -> None:
    event_id = _write_event(engine)
    # As the application's role: no right to do it at all.
    with engine.connect() as connection, pytest.raises(DBAPIError, match="permission denied"):
        connection.execute(text(statement), {"id": event_id})
    # As the schema owner: the trigger refuses, whoever asks.
    owner = create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)
    try:
        with owner.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(text(statement), {"id": event_id})
    finally:
        owner.dispose()
    with engine.connect() as connection:
        outcome = connection.execute(
            text("SELECT outcome FROM audit_event WHERE id = :id"), {"id": event_id}
        ).scalar_one()
    assert outcome == "success"


def test_an_auditor_reads_every_event_and_a_manager_only_their_authoritys(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    mine, theirs = new_authority(engine), new_authority(engine)
    inside = _write_event(engine, authorities=[mine])
    outside = _write_event(engine, authorities=[theirs])
    auditor = session_token(engine, new_account(engine, fast, roles=[Role.AUDITOR]).username)
    manager_account = new_account(engine, fast, roles=[Role.LA_MANAGER], authorities=[mine])
    manager = session_token(engine, manager_account.username)

    def ids(token: str) -> set[int]:
        response = api.get(
            "/v1/audit", params={"event": "search", "limit": 500}, headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        return {event["id"] for event in response.json()["events"]}

    assert {inside, outside} <= ids(auditor)
    assert inside in ids(manager) and outside not in ids(manager)


def test_the_audit_filters_by_user_event_and_time_and_pages_with_a_cursor(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    auditor = session_token(engine, new_account(engine, fast, roles=[Role.AUDITOR]).username)
    username = unique("actor")
    start = datetime(2003, 2, 1, 9, tzinfo=UTC)
    with engine.begin() as connection:
        for minute in range(5):
            connection.execute(
                text(
                    "INSERT INTO audit_event (occurred_at, event, outcome, username) "
                    "VALUES (:at, 'view', 'success', :u)"
                ),
                {"at": start + timedelta(minutes=minute), "u": username},
            )
    params = {
        "user": username,
        "event": "view",
        "from": start.isoformat(),
        "to": (start + timedelta(minutes=4)).isoformat(),
        "limit": 3,
    }
    first = api.get("/v1/audit", params=params, headers=bearer(auditor)).json()
    assert len(first["events"]) == 3 and first["next_cursor"]
    second = api.get(
        "/v1/audit", params={**params, "cursor": first["next_cursor"]}, headers=bearer(auditor)
    ).json()
    times = [event["occurred_at"] for event in first["events"] + second["events"]]
    assert len(times) == 4 and times == sorted(times, reverse=True)
    assert second["next_cursor"] is None


def test_reading_the_audit_is_itself_audited(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    account = new_account(engine, fast, roles=[Role.AUDITOR])
    token = session_token(engine, account.username)
    response = api.get("/v1/audit", params={"limit": 1}, headers=bearer(token))
    later = api.get(
        "/v1/audit", params={"user": account.username, "event": "audit_read"}, headers=bearer(token)
    ).json()
    assert response.headers["X-Request-ID"] in {event["request_id"] for event in later["events"]}


def test_an_admin_change_and_its_audit_row_commit_together(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    authority = new_authority(engine)
    admin = new_account(engine, fast, roles=[Role.ADMIN])
    token = session_token(engine, admin.username)
    username = unique("new")
    created = api.post(
        "/v1/admin/users",
        headers=bearer(token),
        json={
            "username": username,
            "roles": ["practitioner"],
            "authorities": [authority],
            "password": PASSWORD,
            "pin": PIN,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["provisioning_uri"].startswith("otpauth://totp/")
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM audit_event WHERE request_id = :id"),
            {"id": created.headers["X-Request-ID"]},
        ).one()
    assert (row.event, row.username, row.subject) == ("user_created", admin.username, username)
    assert authority in row.authorities
    assert PASSWORD not in json.dumps(row.details) and PIN not in json.dumps(row.details)
    # A refused change leaves neither the change nor a success row.
    again = api.post(
        "/v1/admin/users",
        headers=bearer(token),
        json={"username": unique("short"), "roles": ["auditor"], "password": "short", "pin": PIN},
    )
    assert again.status_code == 422 and "at least" in again.json()["message"]


def test_a_new_cms_key_is_shown_once_and_listed_without_it(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    token = session_token(engine, new_account(engine, fast, roles=[Role.ADMIN]).username)
    name = unique("cms")
    issued = api.post(
        "/v1/admin/clients",
        headers=bearer(token),
        json={"name": name, "authority": new_authority(engine)},
    )
    assert issued.status_code == 201 and issued.json()["key"].startswith("cpk_")
    listed = api.get("/v1/admin/clients", headers=bearer(token))
    assert issued.json()["key"] not in listed.text and name in listed.text
    assert api.post(f"/v1/admin/clients/{name}/revoke", headers=bearer(token)).status_code == 200
