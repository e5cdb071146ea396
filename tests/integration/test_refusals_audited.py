"""Every refused request of a signed-in principal is audited, with the route, status and
reason (never the values sent), once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from contactpoint.settings import Settings
from db.access import Role
from tests.integration.access_support import bearer, new_account, new_authority, session_token

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _rows(engine: Engine, request_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT event, outcome, username, subject, details, client_address "
                    "FROM audit_event WHERE request_id = :r ORDER BY id"
                ),
                {"r": request_id},
            )
        )


@pytest.fixture
def practitioner(engine: Engine, fast: Settings) -> dict[str, str]:
    account = new_account(
        engine, fast, roles=[Role.PRACTITIONER], authorities=[new_authority(engine)]
    )
    return {**bearer(session_token(engine, account.username)), "X-User": account.username}


@pytest.mark.parametrize(
    ("method", "path", "body", "route", "status"),
    [
        ("POST", "/v1/search", {"given_name": "Evan"}, "POST /v1/search", 422),
        (
            "POST",
            "/v1/search",
            {"family_name": "Smith", "date_of_birth": "2015-02-30"},
            "POST /v1/search",
            422,
        ),
        (
            "POST",
            "/v1/search",
            {"family_name": "Smith", "birth_year": 2015, "favourite": "zebra-crossing-42"},
            "POST /v1/search",
            422,
        ),
        ("GET", "/v1/children/not-an-id!", None, "GET /v1/children/{identifier}", 422),
        ("GET", "/v1/audit", None, "GET /v1/audit", 403),
    ],
    ids=[
        "too little to search on",
        "an impossible date",
        "an unknown field",
        "a malformed identifier",
        "a route of another role",
    ],
)
def test_a_refused_api_request_leaves_one_audit_row_with_its_reason(
    engine: Engine,
    api: TestClient,
    practitioner: dict[str, str],
    method: str,
    path: str,
    body: dict[str, object] | None,
    route: str,
    status: int,
) -> None:
    username = practitioner.pop("X-User")
    response = api.request(method, path, json=body, headers=practitioner)
    assert response.status_code == status
    rows = _rows(engine, response.headers["X-Request-ID"])
    assert len(rows) == 1, rows
    row = rows[0]
    assert row.username == username and row.outcome == "denied"
    assert row.client_address == "127.0.0.1"
    if status == 403:
        assert row.event == "access_denied"
        return
    assert row.event == "request_refused"
    assert row.details["status"] == status and row.details["route"] == route
    assert row.details["reason"]
    # What was typed is never copied into the audit row of a refusal.
    for value in (body or {}).values():
        assert str(value) not in str(row.details)


def test_the_search_page_refusing_a_form_is_audited(
    engine: Engine,
    api: TestClient,
    fast: Settings,
) -> None:
    account = new_account(
        engine, fast, roles=[Role.PRACTITIONER], authorities=[new_authority(engine)]
    )
    api.cookies.set(fast.session_cookie_name, session_token(engine, account.username))
    page = api.get("/search", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    refused = api.post(
        "/search", data={"csrf_token": token.group(1), "given_name": "Evan"}, headers=HTML
    )
    assert refused.status_code == 400
    rows = _rows(engine, refused.headers["X-Request-ID"])
    assert [(row.event, row.details["status"], row.details["route"]) for row in rows] == [
        ("request_refused", 400, "POST /search")
    ]


def test_a_view_of_an_unknown_child_is_audited_once(
    engine: Engine,
    api: TestClient,
    practitioner: dict[str, str],
) -> None:
    practitioner.pop("X-User")
    response = api.get("/v1/children/9999999999", headers=practitioner)
    assert response.status_code == 404
    rows = _rows(engine, response.headers["X-Request-ID"])
    assert [(row.event, row.outcome) for row in rows] == [("view", "failure")]


def test_a_stranger_leaves_no_refusal_row(engine: Engine, api: TestClient) -> None:
    response = api.post("/v1/search", json={"given_name": "Evan"})
    assert response.status_code == 401
    assert _rows(engine, response.headers["X-Request-ID"]) == []
