"""Break glass is reviewed: who may break it, the managers' queue, outcomes, and the report.

A few children of their own in PostgreSQL (the record view reads no index); accounts and
authorities are fresh per test, so no test depends on another's rows.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from contactpoint.settings import Settings
from db.access import Role
from db.normalise import nhs_check_digit
from tests.integration.access_support import (
    bearer,
    build_client,
    fast_settings,
    new_account,
    session_token,
)

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html,application/xhtml+xml"}
REASON = "Section 47 enquiry, child at immediate risk"


@dataclass(frozen=True)
class Shielded:
    """A shielded child and its authority's team."""

    identifier: str
    postcode: str
    authority: str
    team_name: str
    team_phone: str


@pytest.fixture(scope="module")
def client(engine: Engine, elasticsearch_ready: None, settings: Settings) -> Iterator[TestClient]:
    _, app_client = build_client(fast_settings(settings))
    with app_client:
        yield app_client


def _authority(engine: Engine, *, phone: str | None = "0113 496 0000") -> tuple[str, str]:
    code = f"E7{secrets.randbelow(10**7):07d}"
    name = f"Reviewshire {code}"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO local_authority (code, name, team_phone) VALUES (:code, :name, :phone)"
            ),
            {"code": code, "name": name, "phone": phone},
        )
    return code, name


def _identifier() -> str:
    while True:
        first = f"{secrets.randbelow(9 * 10**8) + 10**8}"
        digit = nhs_check_digit(first)
        if digit is not None:
            return f"{first}{digit}"


@pytest.fixture
def kid(engine: Engine) -> Shielded:
    """A shielded child of a fresh authority."""
    code, name = _authority(engine)
    identifier = _identifier()
    with engine.begin() as connection:
        child_id = connection.execute(
            text(
                "INSERT INTO child (identifier, given_names, family_name, gender, date_of_birth,"
                " address_lines, town, postcode, local_authority_code) VALUES (:identifier,"
                " 'Evan', 'Hartley', 'male', '2015-02-20', ARRAY['6 Jubilee Square'],"
                " 'Birmingham', 'B28 6JU', :code) RETURNING id"
            ),
            {"identifier": identifier, "code": code},
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO shield (child_id, applied_by, reason)"
                " VALUES (:id, 'test', 'Risk of harm from a relative')"
            ),
            {"id": child_id},
        )
    return Shielded(identifier, "B28 6JU", code, name, "0113 496 0000")


def _user(
    engine: Engine,
    settings: Settings,
    *roles: Role,
    authorities: tuple[str, ...] = (),
    child_protection: bool = False,
) -> tuple[str, dict[str, str]]:
    account = new_account(
        engine,
        fast_settings(settings),
        roles=roles,
        authorities=authorities,
        child_protection=child_protection,
    )
    return account.username, bearer(session_token(engine, account.username))


def _break_glass(client: TestClient, headers: dict[str, str], identifier: str) -> Any:
    """The API's break glass (the one place to change when its route changes)."""
    return client.post(
        f"/v1/children/{identifier}/break-glass", json={"reason": REASON}, headers=headers
    )


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def _audit(engine: Engine, username: str, event: str) -> list[Any]:
    return _rows(
        engine,
        "SELECT outcome, subject, details, client_address FROM audit_event"
        " WHERE username = :username AND event = :event ORDER BY id",
        username=username,
        event=event,
    )


def _open_reviews(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/v1/break-glass/reviews", headers=headers)
    assert response.status_code == 200, response.text
    reviews: list[dict[str, Any]] = response.json()["reviews"]
    return reviews


def _page_token(client: TestClient, engine: Engine, username: str, path: str = "/") -> str:
    client.cookies.clear()
    client.cookies.set("cp_session", session_token(engine, username))
    page = client.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_a_manager_of_another_authority_is_refused_with_the_childs_team_named(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    elsewhere, _ = _authority(engine)
    manager, headers = _user(engine, settings, Role.LA_MANAGER, authorities=(elsewhere,))
    refused = _break_glass(client, headers, kid.identifier)
    assert refused.status_code == 403
    message = refused.json()["message"]
    assert kid.team_name in message and kid.team_phone in message
    assert kid.postcode not in refused.text
    (denied,) = _audit(engine, manager, "access_denied")
    assert denied.outcome == "denied" and kid.team_name in denied.details["reason"]
    assert _audit(engine, manager, "view") == []
    owner, owner_headers = _user(engine, settings, Role.LA_MANAGER, authorities=(kid.authority,))
    assert _open_reviews(client, owner_headers) == []


def test_a_manager_of_another_authority_is_refused_on_the_page_and_offered_no_override(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    elsewhere, _ = _authority(engine)
    manager, _ = _user(engine, settings, Role.LA_MANAGER, authorities=(elsewhere,))
    token = _page_token(client, engine, manager, f"/children/{kid.identifier}")
    record = client.get(f"/children/{kid.identifier}", headers=HTML).text
    assert "See the location (child-protection override)" not in record
    refused = client.post(
        f"/children/{kid.identifier}/break-glass",
        data={"reason": REASON, "csrf_token": token},
        headers=HTML,
    )
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert kid.team_name in refused.text and kid.team_phone in refused.text
    assert kid.postcode not in refused.text
    (denied,) = _audit(engine, manager, "access_denied")
    assert denied.subject == f"POST /children/{kid.identifier}/break-glass"
    client.cookies.clear()


def test_a_child_protection_practitioner_of_another_authority_may_and_one_review_opens(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    elsewhere, _ = _authority(engine)
    protector, headers = _user(
        engine, settings, Role.PRACTITIONER, authorities=(elsewhere,), child_protection=True
    )
    shown = _break_glass(client, headers, kid.identifier)
    assert shown.status_code == 200 and shown.json()["address"]["postcode"] == kid.postcode
    owner, owner_headers = _user(engine, settings, Role.LA_MANAGER, authorities=(kid.authority,))
    (review,) = _open_reviews(client, owner_headers)
    assert (review["identifier"], review["broken_by"], review["reason"]) == (
        kid.identifier,
        protector,
        REASON,
    )
    (view,) = _rows(
        engine, "SELECT id FROM audit_event WHERE username = :u AND event = 'view'", u=protector
    )
    assert review["view_event_id"] == view.id and review["yours"] is False
    other, other_headers = _user(engine, settings, Role.LA_MANAGER, authorities=(elsewhere,))
    assert _open_reviews(client, other_headers) == []
    _page_token(client, engine, owner)
    home = client.get("/", headers=HTML).text
    assert "Break glass to review" in home and kid.identifier in home and REASON in home
    assert f'href="/break-glass/reviews/{review["id"]}"' in home
    _page_token(client, engine, other)
    assert kid.identifier not in client.get("/", headers=HTML).text
    client.cookies.clear()


def test_the_childs_own_manager_sees_the_location_with_nothing_to_review(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    owner, headers = _user(engine, settings, Role.LA_MANAGER, authorities=(kid.authority,))
    shown = _break_glass(client, headers, kid.identifier)
    assert shown.status_code == 200 and shown.json()["address"]["postcode"] == kid.postcode
    assert shown.json()["break_glass"] is False
    assert _open_reviews(client, headers) == []


def _broken(client: TestClient, engine: Engine, settings: Settings, kid: Shielded) -> str:
    """A child-protection practitioner breaks the glass; their username."""
    protector, headers = _user(engine, settings, Role.PRACTITIONER, child_protection=True)
    assert _break_glass(client, headers, kid.identifier).status_code == 200
    return protector


def test_recording_an_outcome_closes_the_review_and_is_audited_with_the_client_address(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    protector = _broken(client, engine, settings, kid)
    manager, headers = _user(engine, settings, Role.LA_MANAGER, authorities=(kid.authority,))
    (review,) = _open_reviews(client, headers)
    body = {"outcome": "justified", "reason": "Confirmed with the allocated social worker"}
    done = client.post(f"/v1/break-glass/reviews/{review['id']}", json=body, headers=headers)
    assert done.status_code == 200, done.text
    assert _open_reviews(client, headers) == []
    (row,) = _audit(engine, manager, "break_glass_reviewed")
    assert row.outcome == "success" and row.subject == kid.identifier
    assert row.client_address == "127.0.0.1"
    assert row.details["outcome"] == "justified" and row.details["reason"] == body["reason"]
    assert row.details["broken_by"] == protector and row.details["review_id"] == review["id"]
    (stored,) = _rows(
        engine,
        "SELECT outcome, outcome_reason, reviewed_by FROM break_glass_review WHERE id = :id",
        id=review["id"],
    )
    assert tuple(stored) == ("justified", body["reason"], manager)
    again = client.post(f"/v1/break-glass/reviews/{review['id']}", json=body, headers=headers)
    assert again.status_code == 409


@pytest.mark.parametrize(
    "reason",
    ["          ", "\t" * 10, "\u200b" * 10, "Too short", "- - - - - - - - - - - -"],
    ids=["spaces", "tabs", "zero-width-spaces", "short", "punctuation"],
)
def test_an_outcome_without_a_reason_in_words_is_refused_and_audited(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded, reason: str
) -> None:
    _broken(client, engine, settings, kid)
    manager, headers = _user(engine, settings, Role.LA_MANAGER, authorities=(kid.authority,))
    (review,) = _open_reviews(client, headers)
    body = {"outcome": "referred_for_investigation", "reason": reason}
    refused = client.post(f"/v1/break-glass/reviews/{review['id']}", json=body, headers=headers)
    assert refused.status_code == 422
    assert "10 letters or digits" in refused.json()["errors"][0]["problem"]
    assert [r["id"] for r in _open_reviews(client, headers)] == [review["id"]]
    (row,) = _audit(engine, manager, "break_glass_reviewed")
    assert row.outcome == "failure" and row.details["review_id"] == review["id"]


def test_a_manager_of_another_authority_may_not_review_and_the_refusal_is_audited(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    _broken(client, engine, settings, kid)
    _, owner_headers = _user(engine, settings, Role.LA_MANAGER, authorities=(kid.authority,))
    (review,) = _open_reviews(client, owner_headers)
    elsewhere, _ = _authority(engine)
    other, headers = _user(engine, settings, Role.LA_MANAGER, authorities=(elsewhere,))
    body = {"outcome": "justified", "reason": "Looks fine to me from here"}
    refused = client.post(f"/v1/break-glass/reviews/{review['id']}", json=body, headers=headers)
    assert refused.status_code == 403
    (denied,) = _audit(engine, other, "access_denied")
    assert denied.subject == f"POST /v1/break-glass/reviews/{review['id']}"
    assert _audit(engine, other, "break_glass_reviewed") == []
    assert len(_open_reviews(client, owner_headers)) == 1


def test_nobody_reviews_their_own_break_glass(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    protector = _broken(client, engine, settings, kid)
    # Later made a manager of the child's authority: still not the one to review it.
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE app_user SET roles = roles || '{la_manager}' WHERE username = :u"),
            {"u": protector},
        )
        connection.execute(
            text(
                "INSERT INTO app_user_authority (user_id, local_authority_code)"
                " SELECT id, :code FROM app_user WHERE username = :u"
            ),
            {"u": protector, "code": kid.authority},
        )
    headers = bearer(session_token(engine, protector))
    (review,) = _open_reviews(client, headers)
    assert review["yours"] is True
    body = {"outcome": "justified", "reason": "I had every reason to do this"}
    refused = client.post(f"/v1/break-glass/reviews/{review['id']}", json=body, headers=headers)
    assert refused.status_code == 403 and "yourself" in refused.json()["message"]
    (denied,) = _audit(engine, protector, "access_denied")
    assert "yourself" in denied.details["reason"]


def test_a_manager_reviews_on_the_page_and_the_outcome_is_audited(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    _broken(client, engine, settings, kid)
    manager, headers = _user(engine, settings, Role.LA_MANAGER, authorities=(kid.authority,))
    (review,) = _open_reviews(client, headers)
    path = f"/break-glass/reviews/{review['id']}"
    token = _page_token(client, engine, manager, path)
    bad = client.post(
        path,
        data={"outcome": "justified", "reason": "\u200b" * 12, "csrf_token": token},
        headers=HTML,
    )
    assert bad.status_code == 400 and "10 letters or digits" in bad.text
    done = client.post(
        path,
        data={
            "outcome": "referred_for_investigation",
            "reason": "No enquiry is open for this child",
            "csrf_token": token,
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/?reviewed=1"
    home = client.get("/?reviewed=1", headers=HTML).text
    assert "The review is recorded." in home and kid.identifier not in home
    failed, recorded = _audit(engine, manager, "break_glass_reviewed")
    assert (failed.outcome, recorded.outcome) == ("failure", "success")
    assert recorded.details["outcome"] == "referred_for_investigation"
    client.cookies.clear()


def _old_open_review(engine: Engine, kid: Shielded, *, username: str, at: datetime) -> None:
    """A break glass at `at` that nobody reviewed (its view row back-dated too)."""
    with engine.begin() as connection:
        event_id = connection.execute(
            text(
                "INSERT INTO audit_event (occurred_at, event, outcome, username, authorities,"
                " subject, details) VALUES (:at, 'view', 'success', :u, ARRAY[:code],"
                " :identifier, CAST(:details AS jsonb)) RETURNING id"
            ),
            {
                "at": at,
                "u": username,
                "code": kid.authority,
                "identifier": kid.identifier,
                "details": '{"break_glass": true, "shielded": true}',
            },
        ).scalar_one()
        connection.execute(
            text(
                "INSERT INTO break_glass_review (view_event_id, child_id, local_authority_code,"
                " broken_by, broken_at, reason) SELECT :event, id, :code, :u, :at, :reason"
                " FROM child WHERE identifier = :identifier"
            ),
            {
                "event": event_id,
                "code": kid.authority,
                "u": username,
                "at": at,
                "reason": REASON,
                "identifier": kid.identifier,
            },
        )


def test_an_unreviewed_break_glass_older_than_two_working_days_heads_the_misuse_report(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    now = datetime.now(UTC)
    _old_open_review(engine, kid, username="old.breaker", at=now - timedelta(days=10))
    _old_open_review(engine, kid, username="recent.breaker", at=now - timedelta(minutes=5))
    auditor, headers = _user(engine, settings, Role.AUDITOR)
    report = client.get("/v1/audit/report", headers=headers).json()
    overdue = [
        row for row in report["unreviewed_break_glass"] if row["identifier"] == kid.identifier
    ]
    assert [row["username"] for row in overdue] == ["old.breaker"]
    assert overdue[0]["authority"] == kid.authority
    _page_token(client, engine, auditor, "/audit/misuse")
    page = client.get("/audit/misuse", headers=HTML).text
    headings = re.findall(r'<h2 class="govuk-heading-m" id="([a-z-]+)-heading">', page)
    assert headings[0] == "unreviewed-break-glass"
    assert "Break glass not reviewed after 2 working days" in page
    section = page.split('id="unreviewed-break-glass"')[1].split("</table>")[0]
    assert "old.breaker" in section and kid.identifier in section
    assert "recent.breaker" not in section
    client.cookies.clear()


def test_a_manager_signs_in_to_the_home_page_of_break_glass_to_review(
    client: TestClient, engine: Engine, settings: Settings, kid: Shielded
) -> None:
    account = new_account(
        engine, fast_settings(settings), roles=(Role.LA_MANAGER,), authorities=(kid.authority,)
    )
    client.cookies.clear()
    form = client.get("/sign-in", headers=HTML).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found
    signed = client.post(
        "/sign-in",
        data={**account.login_body(), "csrf_token": found.group(1)},
        headers=HTML,
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    home = client.get("/", headers=HTML)
    assert home.status_code == 200 and "Break glass to review" in home.text
    assert 'id="no-reviews"' in home.text and 'href="/search"' in home.text
    client.cookies.clear()
