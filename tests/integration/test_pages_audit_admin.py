"""The auditors' and administrators' pages without a browser, on the real app and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from contactpoint.settings import Settings
from db.access import Role
from tests.integration.access_support import (
    PASSWORD,
    PIN,
    bearer,
    build_client,
    fast_settings,
    new_account,
    new_authority,
    session_token,
    unique,
)

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html,application/xhtml+xml"}
CHILD = "9434765919"


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def _as(api: TestClient, engine: Engine, fast: Settings, *roles: Role, **kw: Any) -> str:
    """Sign `api` in as a new account of `roles` (a session cookie); its username."""
    account = new_account(engine, fast, roles=roles, **kw)
    api.cookies.set("cp_session", session_token(engine, account.username))
    return account.username


def _insert(
    engine: Engine,
    *,
    username: str,
    authority: str | None = None,
    event: str = "view",
    at: datetime | None = None,
    subject: str | None = CHILD,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> int:
    with engine.begin() as connection:
        return int(
            connection.execute(
                text(
                    "INSERT INTO audit_event (occurred_at, event, outcome, username, authorities, "
                    "subject, request_id, details) VALUES (:at, :event, 'success', :username, "
                    "CAST(:authorities AS text[]), :subject, :request_id, CAST(:details AS jsonb)) "
                    "RETURNING id"
                ),
                {
                    "at": at or datetime.now(UTC),
                    "event": event,
                    "username": username,
                    "authorities": [authority] if authority else [],
                    "subject": subject,
                    "request_id": request_id,
                    "details": json.dumps(details or {}),
                },
            ).scalar_one()
        )


def _view_details(*, break_glass: bool = False) -> dict[str, Any]:
    return {
        "identifier": CHILD,
        "shown_fields": ["name", "date_of_birth"],
        "withheld_fields": ["address"],
        "shielded": True,
        "sensitive": False,
        "break_glass": break_glass,
        "reason": "section 47 enquiry" if break_glass else None,
    }


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr class="govuk-table__row" id="event-\d+">(.*?)</tr>', page, re.S)


def test_an_auditor_sees_the_audit_and_filters_it_by_user_event_and_subject(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    actor = unique("actor")
    _insert(engine, username=actor, details=_view_details())
    search = {
        "criteria": {"family_name": "Okafor"},
        "result_count": 1,
        "identifiers_shown": [CHILD],
    }
    _insert(engine, username=actor, event="search", subject=None, details=search)
    _as(api, engine, fast, Role.AUDITOR)
    page = api.get("/audit", params={"user": actor}, headers=HTML)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    rows = _rows(page.text)
    assert len(rows) == 2
    assert "Search" in rows[0] and "family name: Okafor" in rows[0] and f"shown: {CHILD}" in rows[0]
    assert "Record view" in rows[1] and "name, date of birth" in rows[1] and "address" in rows[1]
    # The record's flag goes with what was asked; the reader's own column holds what they missed.
    cells = re.findall(r'<td class="govuk-table__cell[^"]*">(.*?)</td>', rows[1], re.S)
    assert f"Record {CHILD} (shielded)" in cells[4] and cells[6] == "address"
    assert ">Withheld from them</th>" in page.text
    assert f'<td class="govuk-table__cell cp-nowrap">{actor}</td>' in rows[0]
    views = api.get("/audit", params={"user": actor, "event": "view"}, headers=HTML)
    assert len(_rows(views.text)) == 1 and "Record view" in _rows(views.text)[0]
    by_child = api.get("/audit", params={"user": actor, "subject": CHILD}, headers=HTML)
    assert len(_rows(by_child.text)) == 1
    assert 'value="view" selected' in views.text and f'value="{actor}"' in views.text


def test_the_audit_pages_forward_and_back_with_next_and_previous_links(
    engine: Engine,
    fast: Settings,
) -> None:
    actor = unique("actor")
    ids = [_insert(engine, username=actor, subject=f"S{n}") for n in range(3)]
    _, client = build_client(fast_settings(fast, audit_page_rows=2))
    with client:
        _as(client, engine, fast, Role.AUDITOR)
        first = client.get("/audit", params={"user": actor}, headers=HTML).text
        assert [f"S{n}" in row for row, n in zip(_rows(first), (2, 1), strict=True)] == [True] * 2
        assert 'rel="prev"' not in first
        older = re.search(r'href="(\?[^"]+)" rel="next"', first)
        assert older and f"before={ids[1]}" in older.group(1)
        second = client.get("/audit" + older.group(1).replace("&amp;", "&"), headers=HTML).text
        assert len(_rows(second)) == 1 and "S0" in _rows(second)[0] and 'rel="next"' not in second
        newer = re.search(r'href="(\?[^"]+)" rel="prev"', second)
        assert newer and f"after={ids[0]}" in newer.group(1)
        back = client.get("/audit" + newer.group(1).replace("&amp;", "&"), headers=HTML).text
        assert len(_rows(back)) == 2 and 'rel="prev"' not in back and 'rel="next"' in back


def test_a_manager_sees_only_the_events_of_their_authority(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    mine, theirs, actor = new_authority(engine), new_authority(engine), unique("actor")
    _insert(engine, username=actor, authority=mine, subject="INSIDE-1")
    _insert(engine, username=actor, authority=theirs, subject="OUTSIDE-1")
    _as(api, engine, fast, Role.LA_MANAGER, authorities=[mine])
    page = api.get("/audit", params={"user": actor}, headers=HTML)
    assert page.status_code == 200 and f"your local authorities ({mine})" in page.text
    assert "INSIDE-1" in page.text and "OUTSIDE-1" not in page.text
    assert 'href="/audit"' in page.text and 'href="/search"' in page.text
    assert 'href="/audit/misuse"' not in page.text  # a manager runs no misuse report
    assert api.get("/audit/misuse", headers=HTML).status_code == 403


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "31/2/2025"}, "from", "Enter the from date as a real date"),
        ({"to": "yesterday"}, "to", "Enter the to date as a real date"),
        ({"from": "2/3/2025", "to": "1/3/2025"}, "to", "The to date must be the same as or after"),
        ({"event": "burglary"}, "event", "Choose an event type from the list"),
        ({"request_id": "no spaces please"}, "request_id", "Enter the request id as the audit"),
        ({"user": "x" * 101}, "user", "Enter 100 characters or fewer"),
        ({"before": "12; DROP"}, "cursor", "The page link is not valid"),
        ({"to": "31/12/9999"}, "to", "Enter the to date as a real date"),
        ({"from": "1/1/0001"}, "from", "Enter the from date as a real date"),
    ],
    ids=[
        "impossible-date",
        "words-as-date",
        "to-before-from",
        "unknown-event",
        "bad-request-id",
        "long-username",
        "bad-cursor",
        "end-of-the-calendar",
        "start-of-the-calendar",
    ],
)
def test_a_bad_audit_filter_is_a_400_with_the_error_tied_to_its_field(
    api: TestClient,
    engine: Engine,
    fast: Settings,
    params: dict[str, str],
    field: str,
    message: str,
) -> None:
    _as(api, engine, fast, Role.AUDITOR)
    page = api.get("/audit", params=params, headers=HTML)
    assert page.status_code == 400
    assert re.search(rf'<a href="#{field}">{re.escape(message)}', page.text)
    assert f'id="{field}"' in page.text and "<title>Error: Audit" in page.text


@pytest.mark.parametrize("params", [{"to": "31/12/9999"}, {"to": "1/1/0001"}])
def test_a_misuse_period_at_the_ends_of_the_calendar_is_a_400(
    api: TestClient,
    engine: Engine,
    fast: Settings,
    params: dict[str, str],
) -> None:
    _as(api, engine, fast, Role.AUDITOR)
    page = api.get("/audit/misuse", params=params, headers=HTML)
    assert page.status_code == 400 and "Enter the to date as a real date" in page.text


def test_reading_the_audit_page_is_itself_audited(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    auditor = _as(api, engine, fast, Role.AUDITOR)
    wanted = unique("someone")
    page = api.get("/audit", params={"user": wanted, "from": "1/1/2024"}, headers=HTML)
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM audit_event WHERE request_id = :id"),
            {"id": page.headers["X-Request-ID"]},
        ).one()
    assert (row.event, row.username) == ("audit_read", auditor)
    assert row.details["user"] == wanted and row.details["from"].startswith("2024-01-01")
    assert row.details["returned"] == 0


def test_the_misuse_report_lists_a_break_glass_view(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    viewer = unique("viewer")
    _insert(
        engine,
        username=viewer,
        authority=new_authority(engine),
        details=_view_details(break_glass=True),
    )
    _as(api, engine, fast, Role.AUDITOR)
    page = api.get("/audit/misuse", headers=HTML)
    assert page.status_code == 200
    table = page.text.split('id="sensitive-views"')[1].split("</table>")[0]
    row = next(row for row in table.split("<tr") if viewer in row)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells == ["1", "1", "0", "1", CHILD]  # views, shielded, sensitive, break-glass, records
    old = api.get("/audit/misuse", params={"from": "1/1/2020", "to": "2/1/2020"}, headers=HTML)
    assert old.status_code == 200 and viewer not in old.text
    bad = api.get("/audit/misuse", params={"from": "1/13/2024"}, headers=HTML)
    assert bad.status_code == 400 and '<a href="#from">Enter the from date' in bad.text
    audited = api.get("/v1/audit", params={"event": "misuse_report", "limit": 5}).json()
    assert page.headers["X-Request-ID"] in {event["request_id"] for event in audited["events"]}


@pytest.mark.parametrize("path", ["/audit", "/audit/misuse", "/admin/users", "/admin/clients"])
def test_a_practitioner_is_refused_the_audit_and_admin_pages(
    api: TestClient,
    engine: Engine,
    fast: Settings,
    path: str,
) -> None:
    _as(api, engine, fast, Role.PRACTITIONER, authorities=[new_authority(engine)])
    page = api.get(path, headers=HTML)
    assert page.status_code == 403 and "You cannot do this" in page.text


def test_each_role_sees_only_its_own_pages_in_the_navigation(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    nav_links = {"/search", "/audit", "/audit/misuse", "/admin/users", "/admin/clients"}

    def links(page: str) -> set[str]:
        nav = page.split('id="navigation"')[1].split("</nav>")[0]
        return set(re.findall(r'href="([^"]+)"', nav)) & nav_links

    _as(api, engine, fast, Role.AUDITOR)
    home = api.get("/", headers=HTML).text
    assert links(home) == {"/audit", "/audit/misuse"}
    assert 'href="/audit/misuse">Misuse report</a>' in home
    _as(api, engine, fast, Role.ADMIN)
    home = api.get("/", headers=HTML).text
    assert links(home) == {"/admin/users", "/admin/clients"}
    assert 'href="/admin/clients">CMS clients</a>' in home
    _as(api, engine, fast, Role.PRACTITIONER, authorities=[new_authority(engine)])
    assert links(api.get("/search", headers=HTML).text) == {"/search"}


@pytest.fixture
def admin(api: TestClient, engine: Engine, fast: Settings) -> Iterator[str]:
    """The form token of a signed-in administrator's pages."""
    _as(api, engine, fast, Role.ADMIN)
    yield _token(api.get("/admin/users", headers=HTML).text)


def _suspended_at(engine: Engine, username: str) -> datetime | None:
    with engine.connect() as connection:
        when = connection.execute(
            text("SELECT suspended_at FROM app_user WHERE username = :u"), {"u": username}
        ).scalar_one()
    return when if isinstance(when, datetime) else None


def _user_form(csrf: str, username: str, authority: str, /, **changes: Any) -> dict[str, Any]:
    form = {
        "csrf_token": csrf,
        "username": username,
        "password": PASSWORD,
        "pin": PIN,
        "roles": ["practitioner"],
        "authorities": authority,
        "organisation": "Leeds Health Visiting",
        "expires": (datetime.now(UTC) + timedelta(days=30)).strftime("%d/%m/%Y"),
    }
    return {**form, **changes}


def test_an_admin_creates_a_user_seeing_the_secret_once_then_suspends_and_reinstates_them(
    api: TestClient,
    engine: Engine,
    admin: str,
) -> None:
    username = unique("new.user")
    created = api.post(
        "/admin/users", data=_user_form(admin, username, new_authority(engine)), headers=HTML
    )
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', created.text)
    assert secret and "otpauth://totp/" in created.text and PASSWORD not in created.text
    listed = api.get("/admin/users", params={"q": username}, headers=HTML)
    assert username in listed.text and secret.group(1) not in listed.text
    assert "Active" in listed.text and "otpauth" not in listed.text
    asked = api.get("/admin/users/suspend", params={"username": username}, headers=HTML)
    assert asked.status_code == 200 and _suspended_at(engine, username) is None
    assert f"Are you sure you want to suspend {username}?" in asked.text
    suspended = api.post(
        "/admin/users/suspend",
        data={"csrf_token": _token(asked.text), "username": username, "confirm": "yes"},
        headers=HTML,
    )
    assert suspended.status_code == 200 and f"{username} is suspended" in suspended.text
    assert _suspended_at(engine, username) is not None
    again = api.post(
        "/admin/users/reinstate", data={"csrf_token": admin, "username": username}, headers=HTML
    )
    assert again.status_code == 200 and f"{username} is reinstated" in again.text
    with engine.connect() as connection:
        events = (
            connection.execute(
                text("SELECT event FROM audit_event WHERE subject = :u ORDER BY id"),
                {"u": username},
            )
            .scalars()
            .all()
        )
    assert events == ["user_created", "user_suspended", "user_reinstated"]


@pytest.mark.parametrize(
    ("changes", "status", "field", "message"),
    [
        ({"password": "short"}, 400, "password", "The password must have at least"),
        ({"pin": "1111"}, 400, "pin", "The PIN must not repeat one digit"),
        ({"roles": []}, 400, "roles", "A user needs at least one role"),
        ({"roles": ["emperor"]}, 400, "roles", "Choose roles from the list"),
        ({"authorities": "E99999999"}, 400, "authorities", "Unknown local authority: E99999999"),
        (
            {"roles": ["la_manager"], "authorities": ""},
            400,
            "authorities",
            "A local authority manager needs",
        ),
        ({"username": "Not A Name!"}, 400, "username", "A username has 3 to 100"),
        ({"organisation": "Bad\u0007Bell"}, 400, "organisation", "An organisation name has"),
        (
            {"child_protection": "yes", "roles": ["auditor"]},
            400,
            "child_protection",
            "Only a practitioner",
        ),
        (
            {"archive_access": "yes", "roles": ["practitioner"]},
            400,
            "archive_access",
            "Only a local authority manager can carry the archive capability",
        ),
        ({"expires": "30/2/2030"}, 400, "expires", "Enter the expiry date as a real date"),
        ({"expires": "1/1/2001"}, 400, "expires", "The expiry date must be today or in the future"),
    ],
    ids=[
        "short-password",
        "repeated-pin",
        "no-role",
        "unknown-role",
        "unknown-authority",
        "manager-without-authority",
        "bad-username",
        "control-character",
        "child-protection-auditor",
        "archive-access-practitioner",
        "impossible-expiry",
        "past-expiry",
    ],
)
def test_a_refused_account_is_explained_next_to_its_field(
    api: TestClient,
    engine: Engine,
    admin: str,
    changes: dict[str, Any],
    status: int,
    field: str,
    message: str,
) -> None:
    username = unique("refused")
    form = _user_form(admin, username, new_authority(engine), **changes)
    page = api.post("/admin/users", data=form, headers=HTML)
    assert page.status_code == status, page.text
    assert re.search(rf'<a href="#{field}">{re.escape(message)}', page.text)
    assert f'id="{field}-error"' in page.text and f'id="{field}"' in page.text
    assert PASSWORD not in page.text  # the secrets typed are never sent back
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM app_user WHERE username = :u"), {"u": username.lower()}
        ).scalar_one()
    assert count == 0


def test_every_error_of_the_account_form_is_shown_at_once_in_the_forms_order(
    api: TestClient,
    admin: str,
) -> None:
    form = _user_form(
        admin,
        "Not A Name!",
        "E99999999",
        password="short",
        pin="1111",
        roles=["practitioner", "emperor"],
        organisation="Bad\u0007Bell",
        expires="1/1/2001",
    )
    page = api.post("/admin/users", data=form, headers=HTML)
    assert page.status_code == 400
    summary = re.search(
        r'<ul class="govuk-list govuk-error-summary__list">(.*?)</ul>', page.text, re.S
    )
    assert summary
    linked = re.findall(r'<a href="#([a-z_]+)">', summary.group(1))
    fields = ["username", "password", "pin", "roles", "authorities", "organisation", "expires"]
    assert linked == fields
    for field in fields:
        assert f'id="{field}-error" class="govuk-error-message"' in page.text


def test_every_error_of_the_client_form_is_shown_at_once(api: TestClient, admin: str) -> None:
    form = {
        "csrf_token": admin,
        "name": "",
        "roles": ["admin"],
        "authority": "E99999999",
        "networks": "not-a-network",
    }
    page = api.post("/admin/clients", data=form, headers=HTML)
    assert page.status_code == 400
    for field in ("name", "roles", "authority", "networks"):
        assert f'<a href="#{field}">' in page.text and f'id="{field}-error"' in page.text


def test_a_taken_username_is_a_409_tied_to_the_username(
    api: TestClient,
    engine: Engine,
    admin: str,
) -> None:
    form = _user_form(admin, unique("twice"), new_authority(engine))
    assert api.post("/admin/users", data=form, headers=HTML).status_code == 200
    again = api.post("/admin/users", data=form, headers=HTML)
    assert again.status_code == 409 and '<a href="#username">The username' in again.text


def test_suspending_an_unknown_user_is_a_404_on_the_list(
    api: TestClient,
    admin: str,
) -> None:
    asked = api.get("/admin/users/suspend", params={"username": "nobody-at-all"}, headers=HTML)
    assert asked.status_code == 404 and '<a href="#users">There is no user' in asked.text
    page = api.post(
        "/admin/users/suspend",
        data={"csrf_token": admin, "username": "nobody-at-all", "confirm": "yes"},
        headers=HTML,
    )
    assert page.status_code == 404 and '<a href="#users">There is no user' in page.text


def test_suspending_asks_first_on_a_page_of_its_own_and_cancel_changes_nothing(
    api: TestClient,
    engine: Engine,
    fast: Settings,
    admin: str,
) -> None:
    target = new_account(engine, fast, roles=[Role.PRACTITIONER]).username
    listed = api.get("/admin/users", params={"q": target}, headers=HTML)
    assert '<form method="get" action="/admin/users/suspend"' in listed.text
    asked = api.get("/admin/users/suspend", params={"username": target, "q": target})
    assert asked.status_code == 200 and asked.headers["cache-control"] == "no-store"
    assert "govuk-button--warning" in asked.text and ">Yes, suspend</button>" in asked.text
    assert 'name="confirm" value="yes"' in asked.text and 'name="csrf_token"' in asked.text
    assert f'<a class="govuk-link" href="/admin/users?q={target}">Cancel</a>' in asked.text
    # A post without the confirmation (an old form, a replayed request) only asks again.
    unconfirmed = api.post(
        "/admin/users/suspend", data={"csrf_token": admin, "username": target}, headers=HTML
    )
    assert unconfirmed.status_code == 200 and "Are you sure you want to suspend" in unconfirmed.text
    assert _suspended_at(engine, target) is None


def test_an_admin_cannot_suspend_their_own_account_on_the_page_or_the_api(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    me = _as(api, engine, fast, Role.ADMIN)
    listed = api.get("/admin/users", params={"q": me}, headers=HTML)
    assert (
        "Your account" in listed.text
        and f'Suspend<span class="govuk-visually-hidden"> {me}<' not in listed.text
    )
    message = "You cannot suspend your own account"
    asked = api.get("/admin/users/suspend", params={"username": me}, headers=HTML)
    assert asked.status_code == 409 and f'<a href="#users">{message}' in asked.text
    posted = api.post(
        "/admin/users/suspend",
        data={"csrf_token": _token(listed.text), "username": me, "confirm": "yes"},
        headers=HTML,
    )
    assert posted.status_code == 409 and f'<a href="#users">{message}' in posted.text
    refused = api.post(f"/v1/admin/users/{me}/suspend", headers=bearer(session_token(engine, me)))
    assert refused.status_code == 409 and message in refused.json()["message"]
    assert _suspended_at(engine, me) is None


def test_an_admin_creates_a_cms_client_seeing_its_key_once_then_revokes_it(
    api: TestClient,
    engine: Engine,
    admin: str,
) -> None:
    name, authority = unique("Leeds CMS"), new_authority(engine)
    form = {
        "csrf_token": admin,
        "name": name,
        "roles": ["practitioner"],
        "authority": authority.lower(),
    }
    created = api.post("/admin/clients", data=form, headers=HTML)
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    key = re.search(r'id="api-key">(cpk_[^<]+)<', created.text)
    assert key
    listed = api.get("/admin/clients", params={"q": name}, headers=HTML)
    assert name in listed.text and key.group(1) not in listed.text and authority in listed.text
    taken = api.post("/admin/clients", data=form, headers=HTML)
    assert taken.status_code == 409 and '<a href="#name">The client name' in taken.text
    asked = api.get("/admin/clients/revoke", params={"name": name}, headers=HTML)
    assert asked.status_code == 200 and f"revoke the key of {name}?" in asked.text
    assert ">Yes, revoke the key</button>" in asked.text
    unconfirmed = api.post(
        "/admin/clients/revoke", data={"csrf_token": admin, "name": name}, headers=HTML
    )
    assert "Are you sure you want to revoke" in unconfirmed.text
    revoked = api.post(
        "/admin/clients/revoke",
        data={"csrf_token": admin, "name": name, "confirm": "yes"},
        headers=HTML,
    )
    assert revoked.status_code == 200 and f"The key of {name} is revoked" in revoked.text
    assert api.get("/v1/me", headers={"Authorization": f"Bearer {key.group(1)}"}).status_code == 401


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "A client name has 1 to 100"),
        ({"roles": ["admin"]}, "roles", "Choose roles from the list"),
        ({"authority": "E99999999"}, "authority", "Unknown local authority"),
    ],
    ids=["no-name", "admin-role", "unknown-authority"],
)
def test_a_refused_client_is_explained_next_to_its_field(
    api: TestClient,
    engine: Engine,
    admin: str,
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    form = {
        "csrf_token": admin,
        "name": unique("cms"),
        "roles": ["practitioner"],
        "authority": new_authority(engine),
    }
    page = api.post("/admin/clients", data={**form, **changes}, headers=HTML)
    assert page.status_code == 400
    assert re.search(rf'<a href="#{field}">{re.escape(message)}', page.text)


def test_admin_form_posts_without_the_csrf_token_are_refused(
    api: TestClient,
    engine: Engine,
    admin: str,
) -> None:
    username = unique("forged")
    form = _user_form("", username, new_authority(engine))
    del form["csrf_token"]
    for path, body in (
        ("/admin/users", form),
        ("/admin/users/suspend", {"username": username}),
        ("/admin/users/reinstate", {"username": username}),
        ("/admin/clients", {"name": unique("cms"), "authority": "E08000035"}),
        ("/admin/clients/revoke", {"name": "anything"}),
    ):
        refused = api.post(path, data=body, headers=HTML)
        assert refused.status_code == 403 and "did not come from this service" in refused.text
        forged = api.post(path, data={**body, "csrf_token": "forged"}, headers=HTML)
        assert forged.status_code == 403
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM app_user WHERE username = :u"), {"u": username}
        ).scalar_one()
    assert count == 0


_HELP_SECTIONS = (
    "holds",
    "searching",
    "shielding",
    "managers",
    "auditors",
    "admins",
    "who-to-call",
)


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (Role.PRACTITIONER, {"holds", "searching", "shielding", "who-to-call"}),
        (Role.LA_MANAGER, {"holds", "searching", "shielding", "managers", "who-to-call"}),
        (Role.AUDITOR, {"holds", "auditors", "who-to-call"}),
        (Role.ADMIN, {"holds", "admins", "who-to-call"}),
    ],
)
def test_the_help_page_explains_what_the_readers_roles_need_and_whom_to_call(
    api: TestClient,
    engine: Engine,
    fast: Settings,
    role: Role,
    shown: set[str],
) -> None:
    authority = new_authority(engine)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE local_authority SET team_phone = '020 7946 0999' WHERE code = :code"),
            {"code": authority},
        )
    _as(api, engine, fast, role, authorities=[authority])
    page = api.get("/help", headers=HTML)
    assert page.status_code == 200
    assert {name for name in _HELP_SECTIONS if f'id="{name}"' in page.text} == shown
    assert 'href="/help" aria-current="page"' in page.text  # in the navigation, as here
    assert "never holds case information" in page.text
    assert f"Testshire {authority}" in page.text and 'href="tel:02079460999"' in page.text


def test_the_help_page_is_for_signed_in_readers(api: TestClient) -> None:
    api.cookies.clear()
    page = api.get("/help", headers=HTML, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/sign-in"
