"""Inputs that once gave a 500 (a NUL at sign-in, a foreign cursor, dates PostgreSQL cannot hold)
are clear 4xx answers: JSON naming the field to the API, a page to a browser."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.settings import Settings
from db.access import Role
from tests.integration.access_support import bearer, new_account, session_token

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html"}


@pytest.fixture
def auditor(engine: Engine, fast: Settings) -> dict[str, str]:
    """The headers of an auditor's session (who may read the audit and run the report)."""
    account = new_account(engine, fast, roles=[Role.AUDITOR])
    return bearer(session_token(engine, account.username))


@pytest.mark.parametrize("field", ["username", "password", "pin", "code"])
@pytest.mark.parametrize(
    "character", ["\x00", "\x07", "\x1b", "\x7f"], ids=["nul", "bell", "esc", "del"]
)
def test_a_control_character_in_a_sign_in_factor_is_a_422_naming_the_field(
    engine: Engine,
    api: TestClient,
    fast: Settings,
    field: str,
    character: str,
) -> None:
    account = new_account(engine, fast, roles=[Role.PRACTITIONER])
    body = account.login_body()
    body[field] = f"{body[field][:2]}{character}{body[field][2:]}"
    answer = api.post("/v1/auth/login", json=body)
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [f"body.{field}"]
    assert "control characters" in answer.text


def _sign_in_form(client: TestClient) -> str:
    page = client.get("/sign-in", headers=HTML)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the sign-in page has no form token"
    return found.group(1)


@pytest.mark.parametrize("field", ["username", "password", "pin", "code"])
def test_a_nul_in_a_sign_in_field_of_the_page_is_the_sign_in_page_with_an_error(
    engine: Engine,
    api: TestClient,
    fast: Settings,
    field: str,
) -> None:
    account = new_account(engine, fast, roles=[Role.PRACTITIONER])
    api.cookies.clear()
    token = _sign_in_form(api)
    data = {**account.login_body(), "csrf_token": token}
    data[field] = f"a\x00{data[field]}"
    page = api.post("/sign-in", data=data, headers=HTML, follow_redirects=False)
    assert page.status_code == 400, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "There is a problem" in page.text and "control characters" in page.text
    api.cookies.clear()


@pytest.mark.parametrize(
    "cursor", ["%C2%B2", "%D9%A3", "-1", "1.5", "99999999999999999999", "9223372036854775808"]
)
def test_a_cursor_that_is_not_a_next_cursor_is_a_422(
    api: TestClient,
    auditor: dict[str, str],
    cursor: str,
) -> None:
    answer = api.get(f"/v1/audit?cursor={cursor}", headers=auditor)
    assert answer.status_code == 422, answer.text
    assert "cursor" in answer.text


def test_the_largest_cursor_postgresql_can_hold_is_taken(
    api: TestClient,
    auditor: dict[str, str],
) -> None:
    answer = api.get("/v1/audit?cursor=9223372036854775807&limit=1", headers=auditor)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/report"])
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=0001-01-01T00:00:00Z", "to"),
        ("from=9999-12-31T23:59:59Z", "from"),
        ("from=1899-12-31T23:59:59Z", "from"),
        ("to=2201-01-01T00:00:00Z", "to"),
        ("from=2026-01-01T00:00:00-17:00", "from"),
        ("to=2026-01-01T00:00:00%2B14:30", "to"),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
    ],
    ids=[
        "year-1",
        "year-9999",
        "before-1900",
        "after-2200",
        "offset-minus-17h",
        "offset-plus-14h30",
        "from-after-to",
    ],
)
def test_a_time_outside_what_the_audit_can_hold_is_a_422_naming_the_field(
    api: TestClient,
    auditor: dict[str, str],
    path: str,
    query: str,
    field: str,
) -> None:
    answer = api.get(f"{path}?{query}", headers=auditor)
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [f"query.{field}"]


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/report"])
def test_times_at_the_edges_of_the_range_are_taken(
    api: TestClient,
    auditor: dict[str, str],
    path: str,
) -> None:
    query = "from=1900-01-01T00:00:00%2B14:00&to=2200-12-31T23:59:59-14:00"
    answer = api.get(f"{path}?{query}", headers=auditor)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/admin/users/suspend", {"username": "a\x00b"}),
        ("/admin/users/reinstate", {"username": "a\x00b"}),
        ("/admin/users/reinstate", {"username": "x" * 5000}),
        ("/admin/clients/revoke", {"name": "c\x00"}),
        ("/admin/clients/revoke", {"name": "c" * 5000}),
        ("/admin/users/vetting/record", {"username": "a\x00b", "dbs_checked_on": "1/1/2024"}),
        ("/admin/users/vetting/record", {"username": "x" * 5000, "dbs_checked_on": "1/1/2024"}),
    ],
    ids=[
        "suspend-nul",
        "reinstate-nul",
        "reinstate-huge",
        "revoke-nul",
        "revoke-huge",
        "vetting-nul",
        "vetting-huge",
    ],
)
def test_an_admin_page_naming_an_account_with_a_nul_or_a_huge_name_is_a_not_found_page(
    engine: Engine,
    api: TestClient,
    fast: Settings,
    path: str,
    fields: dict[str, str],
) -> None:
    admin = new_account(engine, fast, roles=[Role.ADMIN])
    api.cookies.clear()
    api.cookies.set("cp_session", session_token(engine, admin.username))
    page = api.get("/admin/users", headers=HTML)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    answer = api.post(
        path, data={**fields, "csrf_token": found.group(1)}, headers=HTML, follow_redirects=False
    )
    api.cookies.clear()
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"].startswith("text/html")
