"""Users' vetting on the real servers: sign-in, sessions and CMS requests refused when it is not
current, admins recording it and listing who lapses (API, page and command line)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, pool, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from contactpoint.cli_access import users_app
from contactpoint.settings import Settings
from db.access import Role, VettingChange, VettingRules
from db.access.vetting import add_years
from db.migrate import downgrade, upgrade
from db.models import AppUser, AuditEvent
from tests.integration.access_support import (
    PASSWORD,
    PIN,
    Account,
    bearer,
    new_account,
    new_api_key,
    new_authority,
    session_token,
    unique,
)

pytestmark = pytest.mark.integration

runner = CliRunner()
cli = typer.Typer()
cli.add_typer(users_app, name="users")


def _today(settings: Settings) -> date:
    return VettingRules.from_settings(settings).today(datetime.now(UTC))


def _vetting(
    today: date,
    *,
    dbs_years: int = 0,
    dbs_days: int = 7,
    identity: bool = True,
    dbs: bool = True,
    training: bool = True,
) -> VettingChange:
    """Vetting whose DBS check is `dbs_years` years and `dbs_days` days old on `today`."""
    checked = add_years(today, -dbs_years) - timedelta(days=dbs_days)
    return VettingChange(
        identity_checked_by="Jo Bloggs, HR officer" if identity else None,
        identity_checked_on=today - timedelta(days=400) if identity else None,
        dbs_checked_on=checked if dbs else None,
        training_completed_on=today - timedelta(days=30) if training else None,
    )


def _account(
    engine: Engine,
    settings: Settings,
    vetting: VettingChange,
    *,
    authority: str | None = None,
    roles: tuple[Role, ...] = (Role.PRACTITIONER,),
) -> Account:
    return new_account(
        engine,
        settings,
        roles=roles,
        authorities=[authority or new_authority(engine)],
        vetting=vetting,
    )


def _events(engine: Engine, username: str, event: str) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.event == event, AuditEvent.username == username)
                .order_by(AuditEvent.id)
            )
        )


@pytest.mark.parametrize(
    ("vetting", "codes", "said"),
    [
        (
            {"dbs_years": 3, "dbs_days": 1},
            ["dbs_check_lapsed"],
            r"enhanced criminal-records \(DBS\) check of .* is more than 3 years old",
        ),
        ({"training": False}, ["training_missing"], "mandatory ContactPoint training is not"),
        ({"identity": False}, ["identity_check_missing"], "no identity check is recorded"),
        ({"dbs": False}, ["dbs_check_missing"], r"no enhanced criminal-records \(DBS\) check is"),
    ],
    ids=["dbs-check-3-years-and-a-day-old", "training-missing", "identity-missing", "dbs-missing"],
)
def test_sign_in_is_refused_saying_what_lapsed_and_whom_to_ask(
    api: TestClient,
    engine: Engine,
    fast: Settings,
    vetting: dict[str, Any],
    codes: list[str],
    said: str,
) -> None:
    account = _account(engine, fast, _vetting(_today(fast), **vetting))
    response = api.post("/v1/auth/login", json=account.login_body())
    assert response.status_code == 403, response.text
    message = response.json()["message"]
    assert re.search(said, message, flags=re.IGNORECASE), message
    assert message.endswith(f"ask {fast.vetting_contact}.")
    assert "set-cookie" not in response.headers
    refusal = _events(engine, account.username, "sign_in")[-1]
    assert refusal.outcome == "failure"
    assert refusal.details == {"reason": "vetting_lapsed", "vetting": codes}


@pytest.mark.parametrize(
    ("years", "days"),
    [(3, 0), (3, -1), (0, 0)],
    ids=["dbs-check-exactly-3-years-old", "a-day-before-3-years", "checked-today"],
)
def test_sign_in_is_allowed_while_the_check_is_at_most_three_years_old(
    api: TestClient, engine: Engine, fast: Settings, years: int, days: int
) -> None:
    account = _account(engine, fast, _vetting(_today(fast), dbs_years=years, dbs_days=days))
    response = api.post("/v1/auth/login", json=account.login_body())
    assert response.status_code == 200, response.text


def test_a_session_whose_vetting_lapses_is_ended_at_its_next_request(
    api: TestClient, engine: Engine, fast: Settings
) -> None:
    account = _account(engine, fast, _vetting(_today(fast)))
    token = session_token(engine, account.username)
    assert api.get("/v1/me", headers=bearer(token)).status_code == 200
    # The check grows old while the session lives (as if three years passed).
    lapsed = add_years(_today(fast), -3) - timedelta(days=1)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE app_user SET dbs_checked_on = :day WHERE username = :name"),
            {"day": lapsed, "name": account.username},
        )
    refused = api.get("/v1/me", headers=bearer(token))
    assert refused.status_code == 403
    assert "more than 3 years old" in refused.json()["message"]
    assert "signed out" in refused.json()["message"]
    (denied,) = _events(engine, account.username, "access_denied")
    assert denied.outcome == "denied"
    assert denied.details["reason"] == "vetting_lapsed"
    assert denied.details["vetting"] == ["dbs_check_lapsed"]
    assert denied.details["session_ended"] > 0
    # Ended: even a renewed check does not bring the session back (sign in again).
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE app_user SET dbs_checked_on = :day WHERE username = :name"),
            {"day": _today(fast), "name": account.username},
        )
    assert api.get("/v1/me", headers=bearer(token)).status_code == 401


def test_a_cms_acting_for_a_lapsed_user_is_refused_with_a_403_and_an_audit_row(
    api: TestClient, engine: Engine, fast: Settings
) -> None:
    authority = new_authority(engine)
    current = _account(engine, fast, _vetting(_today(fast)), authority=authority)
    lapsed = _account(
        engine, fast, _vetting(_today(fast), dbs_years=3, dbs_days=1), authority=authority
    )
    untrained = _account(engine, fast, _vetting(_today(fast), training=False), authority=authority)
    key = new_api_key(engine, authority=authority)
    allowed = api.get("/v1/me", headers={**bearer(key), "X-On-Behalf-Of": current.username})
    assert allowed.status_code == 200, allowed.text
    for account, said in ((lapsed, "more than 3 years old"), (untrained, "training")):
        refused = api.get("/v1/me", headers={**bearer(key), "X-On-Behalf-Of": account.username})
        assert refused.status_code == 403
        body = refused.json()
        assert body["request_id"] == refused.headers["X-Request-ID"]
        assert body["message"].startswith(
            f"X-On-Behalf-Of: ContactPoint cannot act for {account.username!r}"
        )
        assert said in body["message"] and fast.vetting_contact in body["message"]
        (denied,) = _events(engine, account.username, "access_denied")
        assert denied.outcome == "denied" and denied.client_name
        assert denied.details["reason"] == body["message"]


def test_recording_a_renewed_check_lets_the_user_sign_in_and_is_audited(
    api: TestClient, engine: Engine, fast: Settings
) -> None:
    today = _today(fast)
    account = _account(engine, fast, _vetting(today, dbs_years=3, dbs_days=10))
    admin = _account(engine, fast, _vetting(today), roles=(Role.ADMIN,))
    assert api.post("/v1/auth/login", json=account.login_body()).status_code == 403
    headers = bearer(session_token(engine, admin.username))
    recorded = api.post(
        f"/v1/admin/users/{account.username}/vetting",
        headers=headers,
        json={"dbs_checked_on": today.isoformat()},
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json() == {
        "username": account.username,
        "current": True,
        "not_current": [],
        "sessions_ended": 0,
    }
    (row,) = _events(engine, admin.username, "user_vetting_recorded")
    assert row.subject == account.username
    assert row.details == {
        "dbs_checked_on": today.isoformat(),
        "not_current": [],
        "sessions_ended": 0,
    }
    assert api.post("/v1/auth/login", json=account.login_body()).status_code == 200


def test_recording_a_check_that_is_already_too_old_ends_the_users_sessions(
    api: TestClient, engine: Engine, fast: Settings
) -> None:
    today = _today(fast)
    account = _account(engine, fast, _vetting(today))
    admin = _account(engine, fast, _vetting(today), roles=(Role.ADMIN,))
    token = session_token(engine, account.username)
    old = add_years(today, -4)
    recorded = api.post(
        f"/v1/admin/users/{account.username}/vetting",
        headers=bearer(session_token(engine, admin.username)),
        json={"dbs_checked_on": old.isoformat()},
    )
    assert recorded.json()["not_current"] == ["dbs_check_lapsed"]
    assert recorded.json()["sessions_ended"] == 1
    assert api.get("/v1/me", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"dbs_checked_on": "2999-01-01"}, "cannot be in the future"),
        ({"identity_checked_by": "Jo Bloggs"}, "who checked the identity and the day"),
        ({"identity_checked_on": "2024-01-01"}, "who checked the identity and the day"),
        ({"identity_checked_by": " ", "identity_checked_on": "2024-01-01"}, "a name of 1 to"),
        ({"training_completed_on": "1900-01-01"}, "1950 or later"),
        ({}, "give at least one"),
        # A field the request does not have (a typo, or one it never takes) changes nothing.
        ({"training_completed_on": "2024-01-01", "dbs_checked": "2024-01-01"}, "not valid"),
    ],
    ids=[
        "future",
        "checker-without-date",
        "date-without-checker",
        "blank-name",
        "old",
        "empty",
        "extra-field",
    ],
)
def test_bad_vetting_is_a_422_that_changes_nothing(
    api: TestClient, engine: Engine, fast: Settings, body: dict[str, str], said: str
) -> None:
    today = _today(fast)
    account = _account(engine, fast, _vetting(today))
    admin = _account(engine, fast, _vetting(today), roles=(Role.ADMIN,))
    response = api.post(
        f"/v1/admin/users/{account.username}/vetting",
        headers=bearer(session_token(engine, admin.username)),
        json=body,
    )
    assert response.status_code == 422 and said in response.json()["message"], response.text
    with Session(engine) as session:
        user = session.scalars(select(AppUser).where(AppUser.username == account.username)).one()
        assert user.dbs_checked_on == today - timedelta(days=7)
        assert user.identity_checked_by == "Jo Bloggs, HR officer"


def test_vetting_of_an_unknown_user_is_a_404(
    api: TestClient, engine: Engine, fast: Settings
) -> None:
    admin = _account(engine, fast, _vetting(_today(fast)), roles=(Role.ADMIN,))
    response = api.post(
        "/v1/admin/users/nobody-at-all/vetting",
        headers=bearer(session_token(engine, admin.username)),
        json={"dbs_checked_on": "2024-01-01"},
    )
    assert response.status_code == 404


def _expiring_trio(engine: Engine, settings: Settings) -> tuple[str, str, str, str]:
    """A lapsed, an expiring (lapses in 10 days), a current (200 days) and an unvetted user."""
    today = _today(settings)
    lapsed = _account(engine, settings, _vetting(today, dbs_years=3, dbs_days=2)).username
    soon = _account(engine, settings, _vetting(today, dbs_years=3, dbs_days=-10)).username
    later = _account(engine, settings, _vetting(today, dbs_years=3, dbs_days=-200)).username
    never = _account(engine, settings, VettingChange(dbs_checked_on=today)).username
    return lapsed, soon, later, never


def test_admins_list_who_lapsed_and_who_lapses_within_the_days_asked(
    api: TestClient, engine: Engine, fast: Settings
) -> None:
    lapsed, soon, later, never = _expiring_trio(engine, fast)
    admin = _account(engine, fast, _vetting(_today(fast)), roles=(Role.ADMIN,))
    headers = bearer(session_token(engine, admin.username))
    rows = {row["username"]: row for row in api.get("/v1/admin/vetting", headers=headers).json()}
    assert rows[lapsed]["state"] == "lapsed" and rows[lapsed]["days_left"] == -2
    assert rows[lapsed]["problems"] == ["dbs_check_lapsed"]
    assert rows[soon]["state"] == "expiring" and rows[soon]["days_left"] == 10
    assert rows[never]["problems"] == ["identity_check_missing", "training_missing"]
    assert later not in rows and admin.username not in rows
    narrow = api.get("/v1/admin/vetting?within=5", headers=headers).json()
    assert {lapsed, never} <= {row["username"] for row in narrow}
    assert soon not in {row["username"] for row in narrow}
    wide = api.get("/v1/admin/vetting?within=365", headers=headers).json()
    assert {lapsed, soon, later, never} <= {row["username"] for row in wide}
    # Lapsed first, then by the day the check lapses.
    order = [row["username"] for row in wide if row["username"] in {lapsed, soon, later}]
    assert order == [lapsed, soon, later]
    assert api.get("/v1/admin/vetting?within=-1", headers=headers).status_code == 422
    practitioner = bearer(session_token(engine, soon))
    assert api.get("/v1/admin/vetting", headers=practitioner).status_code == 403


def test_users_vetting_prints_the_table_of_who_lapses(engine: Engine, fast: Settings) -> None:
    lapsed, soon, later, _ = _expiring_trio(engine, fast)
    result = runner.invoke(cli, ["users", "vetting"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "Vetting lapsed, or lapsing within 60 days" in result.stdout
    assert "lapsed" in lines[lapsed] and "DBS check lapsed" in lines[lapsed]
    assert "expiring" in lines[soon] and " 10 " in lines[soon]
    assert later not in lines
    wide = runner.invoke(cli, ["users", "vetting", "--within", "365"])
    assert later in wide.stdout
    as_json = json.loads(runner.invoke(cli, ["users", "vetting", "--json"]).stdout)
    assert soon in {row["username"] for row in as_json}
    assert runner.invoke(cli, ["users", "vetting", "--within", "x"]).exit_code == 2


def test_users_record_vetting_records_and_refuses_bad_dates(engine: Engine, fast: Settings) -> None:
    today = _today(fast)
    account = _account(engine, fast, _vetting(today, training=False))
    result = runner.invoke(
        cli,
        ["users", "record-vetting", account.username, "--training-completed-on", str(today)],
    )
    assert result.exit_code == 0, result.output
    assert f"{account.username}'s vetting is current" in result.stdout
    with Session(engine) as session:
        (row,) = session.scalars(
            select(AuditEvent).where(
                AuditEvent.event == "user_vetting_recorded", AuditEvent.subject == account.username
            )
        )
    assert row.username.startswith("cli:")
    assert row.details["training_completed_on"] == today.isoformat()
    for bad in (["--dbs-checked-on", "31/12/2023"], ["--dbs-checked-on", "2999-01-01"], []):
        refused = runner.invoke(cli, ["users", "record-vetting", account.username, *bad])
        assert refused.exit_code == 1 and "error:" in refused.output


def test_users_create_records_the_vetting_given(engine: Engine) -> None:
    authority, username = new_authority(engine), unique("vetted")
    result = runner.invoke(
        cli,
        [
            "users",
            "create",
            username,
            "--role",
            "practitioner",
            "--authority",
            authority,
            "--identity-checked-by",
            "Jo Bloggs, HR officer",
            "--identity-checked-on",
            "2025-01-06",
            "--dbs-checked-on",
            "2025-01-07",
            "--training-completed-on",
            "2025-01-08",
        ],
        input=f"{PASSWORD}\n{PIN}\n",
    )
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        user = session.scalars(select(AppUser).where(AppUser.username == username)).one()
        assert user.identity_checked_by == "Jo Bloggs, HR officer"
        assert (user.identity_checked_on, user.dbs_checked_on, user.training_completed_on) == (
            date(2025, 1, 6),
            date(2025, 1, 7),
            date(2025, 1, 8),
        )
    unvetted = runner.invoke(
        cli,
        ["users", "create", unique("unvetted"), "--role", "auditor"],
        input=f"{PASSWORD}\n{PIN}\n",
    )
    assert unvetted.exit_code == 0 and "cannot sign in until" in unvetted.stderr


HTML = {"Accept": "text/html,application/xhtml+xml"}


def _typed(day: date) -> str:
    return f"{day.day}/{day.month}/{day.year}"


def _signed_in_admin(api: TestClient, engine: Engine, settings: Settings) -> str:
    """Sign `api` in as a new vetted administrator (a session cookie); the pages' form token."""
    admin = _account(engine, settings, _vetting(_today(settings)), roles=(Role.ADMIN,))
    api.cookies.set("cp_session", session_token(engine, admin.username))
    page = api.get("/admin/users", headers=HTML).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_vetting_page_lists_who_lapsed_and_who_lapses_soon(
    api: TestClient, engine: Engine, fast: Settings
) -> None:
    lapsed, soon, later, never = _expiring_trio(engine, fast)
    _signed_in_admin(api, engine, fast)
    page = api.get("/admin/users/vetting", headers=HTML)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert lapsed in page.text and soon in page.text and never in page.text
    assert later not in page.text
    assert "Lapses in 11 days" in page.text and "DBS check lapsed" in page.text
    assert "Identity check not recorded" in page.text
    assert later in api.get("/admin/users/vetting?within=365", headers=HTML).text
    for typed in ("soon", "²", "-1", "99999", "1.5"):
        bad = api.get("/admin/users/vetting", params={"within": typed}, headers=HTML)
        assert bad.status_code == 400 and "whole number from 0 to" in bad.text
    users = api.get("/admin/users", params={"q": lapsed}, headers=HTML).text
    assert "Not current" in users and "DBS check lapsed" in users


def test_an_admin_records_a_renewed_check_on_the_page(
    api: TestClient, engine: Engine, fast: Settings
) -> None:
    today = _today(fast)
    account = _account(engine, fast, _vetting(today, dbs_years=3, dbs_days=5))
    csrf = _signed_in_admin(api, engine, fast)
    form = api.get(f"/admin/users/vetting/record?username={account.username}", headers=HTML)
    assert form.status_code == 200 and "Not current" in form.text
    # The form comes filled with what is recorded.
    assert 'value="Jo Bloggs, HR officer"' in form.text
    base = {"csrf_token": csrf, "username": account.username}
    week_ahead = today + timedelta(days=7)
    refused = api.post(
        "/admin/users/vetting/record",
        data={**base, "dbs_checked_on": "31/2/2026", "training_completed_on": _typed(week_ahead)},
        headers=HTML,
    )
    assert refused.status_code == 400
    assert "Enter the date of the DBS check as a real date" in refused.text
    assert "The date of the training cannot be in the future" in refused.text
    assert api.post("/v1/auth/login", json=account.login_body()).status_code == 403
    recorded = api.post(
        "/admin/users/vetting/record",
        data={**base, "dbs_checked_on": _typed(today)},
        headers=HTML,
    )
    assert recorded.status_code == 200
    assert f"Vetting of {account.username} recorded: it is current." in recorded.text
    api.cookies.clear()
    assert api.post("/v1/auth/login", json=account.login_body()).status_code == 200


def test_the_record_page_of_an_unknown_user_is_a_404_and_a_form_without_its_token_a_403(
    api: TestClient, engine: Engine, fast: Settings
) -> None:
    _signed_in_admin(api, engine, fast)
    missing = api.get("/admin/users/vetting/record?username=nobody-at-all", headers=HTML)
    assert missing.status_code == 404 and "There is no user" in missing.text
    forged = api.post(
        "/admin/users/vetting/record",
        data={"username": "nobody-at-all", "dbs_checked_on": "1/1/2024"},
        headers=HTML,
    )
    assert forged.status_code == 403


@pytest.mark.parametrize("path", ["/admin/users/vetting", "/admin/users/vetting/record?username=x"])
def test_a_practitioner_or_manager_is_refused_the_vetting_pages(
    api: TestClient, engine: Engine, fast: Settings, path: str
) -> None:
    for role in (Role.PRACTITIONER, Role.LA_MANAGER, Role.AUDITOR):
        account = _account(engine, fast, _vetting(_today(fast)), roles=(role,))
        api.cookies.set("cp_session", session_token(engine, account.username))
        page = api.get(path, headers=HTML)
        assert page.status_code == 403 and "You cannot do this" in page.text


@pytest.mark.parametrize(
    "fields",
    [
        # Control characters are dropped, as from every text field of the pages: nothing is left.
        {"identity_checked_by": "\x00\x01", "identity_checked_on": "1/1/2024"},
        {"identity_checked_by": "J" * 5000, "identity_checked_on": "1/1/2024"},
        {"dbs_checked_on": "1/1/2024 or so"},
        {"training_completed_on": "9" * 5000},
    ],
    ids=["control-only-name", "huge-name", "words-in-date", "huge-date"],
)
def test_a_vetting_form_with_bad_text_is_a_form_error_that_changes_nothing(
    api: TestClient, engine: Engine, fast: Settings, fields: dict[str, str]
) -> None:
    today = _today(fast)
    account = _account(engine, fast, _vetting(today))
    csrf = _signed_in_admin(api, engine, fast)
    answer = api.post(
        "/admin/users/vetting/record",
        data={"csrf_token": csrf, "username": account.username, **fields},
        headers=HTML,
    )
    assert answer.status_code == 400 and "There is a problem" in answer.text
    with Session(engine) as session:
        user = session.scalars(select(AppUser).where(AppUser.username == account.username)).one()
        assert user.identity_checked_by == "Jo Bloggs, HR officer"
        assert user.dbs_checked_on == today - timedelta(days=7)


def test_the_migration_leaves_existing_accounts_unvetted_and_vets_the_demo_accounts(
    settings: Settings,
) -> None:
    schema = f"cp_test_vetting_{unique('m').split('-')[1]}"
    owner_url = settings.effective_migration_url()
    owner = create_engine(owner_url, poolclass=pool.NullPool)
    with owner.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(owner_url).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(False)
    insert = text(
        "INSERT INTO app_user (username, roles, password_hash, pin_hash, totp_secret, is_demo) "
        "VALUES (:name, ARRAY['practitioner'], 'x', 'x', 'x', :demo)"
    )
    columns = text(
        "SELECT identity_checked_by, dbs_checked_on IS NOT NULL, training_completed_on IS NOT "
        "NULL FROM app_user WHERE username = :name"
    )
    try:
        upgrade(url=rendered, revision="0020", app_role=None)
        with owner.begin() as connection:
            connection.execute(text(f"SET search_path = {schema}"))
            connection.execute(insert, {"name": "real.person", "demo": False})
            connection.execute(insert, {"name": "demo.person", "demo": True})
        upgrade(url=rendered, revision="0021", app_role=None)
        with owner.begin() as connection:
            connection.execute(text(f"SET search_path = {schema}"))
            real = connection.execute(columns, {"name": "real.person"}).one()
            demo = connection.execute(columns, {"name": "demo.person"}).one()
        assert tuple(real) == (None, False, False)
        assert tuple(demo) == ("Demo data (not a real check)", True, True)
        downgrade(url=rendered, revision="0020")
    finally:
        with owner.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        owner.dispose()


def test_nobody_records_their_own_vetting(api: TestClient, engine: Engine, fast: Settings) -> None:
    admin = _account(engine, fast, _vetting(_today(fast)), roles=(Role.ADMIN,))
    token = session_token(engine, admin.username)
    own = api.post(
        f"/v1/admin/users/{admin.username}/vetting",
        headers=bearer(token),
        json={"dbs_checked_on": _today(fast).isoformat()},
    )
    assert own.status_code == 409 and "your own vetting" in own.json()["message"]
    api.cookies.set("cp_session", token)
    page = api.get("/admin/users/vetting", headers=HTML).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    answer = api.post(
        "/admin/users/vetting/record",
        data={
            "csrf_token": csrf.group(1),
            "username": admin.username,
            "dbs_checked_on": "1/1/2025",
        },
        headers=HTML,
    )
    assert answer.status_code == 409 and "your own vetting" in answer.text
    assert _events(engine, admin.username, "user_vetting_recorded") == []
