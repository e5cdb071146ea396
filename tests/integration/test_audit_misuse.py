"""The misuse report names heavy searchers, sensitive viewers, night owls and fishers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Role
from db.audit import MisuseRules, SearchDetails, ViewDetails, misuse_report
from tests.integration.access_support import (
    bearer,
    new_account,
    new_authority,
    session_token,
    unique,
)

# A week in July: London is on BST (UTC+1), so the working-hours test also tests the zone.
WEDNESDAY_10_LONDON = datetime(2024, 7, 10, 9, 0, tzinfo=UTC)
SINCE, UNTIL = datetime(2024, 7, 8, tzinfo=UTC), datetime(2024, 7, 15, tzinfo=UTC)


def _insert(
    engine: Engine,
    *,
    username: str,
    authority: str,
    event: str,
    at: datetime,
    details: Any,
    outcome: str = "success",
) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_event (occurred_at, event, outcome, username, authorities, "
                "subject, details) VALUES (:at, :event, :outcome, :username, ARRAY[:authority], "
                ":subject, CAST(:details AS jsonb))"
            ),
            {
                "at": at,
                "event": event,
                "outcome": outcome,
                "username": username,
                "authority": authority,
                "subject": details.get("identifier"),
                "details": json.dumps(details),
            },
        )


def _searches(
    engine: Engine, username: str, authority: str, count: int, *, results: int = 3, at: datetime
) -> None:
    details: SearchDetails = {
        "criteria": {"family_name": "Smith", "date_of_birth": "2019-03-14"},
        "result_count": results,
        "identifiers_shown": ["9434765919"] if results else [],
    }
    for _ in range(count):
        _insert(
            engine, username=username, authority=authority, event="search", at=at, details=details
        )


def _view(engine: Engine, username: str, authority: str, **flags: bool) -> None:
    details: ViewDetails = {
        "identifier": "9434765919",
        "shown_fields": ["name", "date_of_birth"],
        "withheld_fields": ["address"],
        "shielded": flags.get("shielded", False),
        "sensitive": flags.get("sensitive", False),
        "break_glass": flags.get("break_glass", False),
        "reason": "section 47 enquiry" if flags.get("break_glass") else None,
    }
    _insert(
        engine,
        username=username,
        authority=authority,
        event="view",
        at=WEDNESDAY_10_LONDON,
        details=details,
    )


@pytest.fixture
def scenario(engine: Engine) -> dict[str, str]:
    """One authority's week: five ordinary users and four who should be looked at."""
    authority = new_authority(engine)
    names = {role: unique(role) for role in ("heavy", "viewer", "night", "fisher", "plain")}
    for _ in range(5):
        _searches(engine, unique("peer"), authority, 10, at=WEDNESDAY_10_LONDON)
    _searches(engine, names["heavy"], authority, 100, at=WEDNESDAY_10_LONDON)
    _view(engine, names["viewer"], authority, shielded=True)
    _view(engine, names["viewer"], authority, break_glass=True)
    _view(engine, names["plain"], authority)
    # 05:30 UTC is 06:30 in London (out of hours); 06:30 UTC is 07:30 (in hours).
    _searches(engine, names["night"], authority, 1, at=datetime(2024, 7, 10, 5, 30, tzinfo=UTC))
    _searches(engine, names["night"], authority, 1, at=datetime(2024, 7, 10, 6, 30, tzinfo=UTC))
    _searches(engine, names["night"], authority, 1, at=datetime(2024, 7, 13, 11, 0, tzinfo=UTC))
    _searches(engine, names["fisher"], authority, 12, results=0, at=WEDNESDAY_10_LONDON)
    names["authority"] = authority
    return names


def test_the_misuse_report_flags_the_right_users(engine: Engine, scenario: dict[str, str]) -> None:
    with Session(engine) as session:
        report = misuse_report(
            session=session,
            since=SINCE,
            until=UNTIL,
            rules=MisuseRules(),
            authorities=frozenset({scenario["authority"]}),
        )
    assert [flag.username for flag in report.volume] == [scenario["heavy"]]
    assert report.volume[0].peer_median == 10
    assert [flag.username for flag in report.sensitive_views] == [scenario["viewer"]]
    viewer = report.sensitive_views[0]
    assert (viewer.shielded, viewer.break_glass, viewer.identifiers) == (1, 1, ["9434765919"])
    assert [(flag.username, flag.events) for flag in report.out_of_hours] == [
        (scenario["night"], 2)
    ]
    assert [(flag.username, flag.zero_result_searches) for flag in report.fishing] == [
        (scenario["fisher"], 12)
    ]
    assert report.unreviewed_break_glass == []
    assert scenario["plain"] not in report.flagged_users()


def test_an_auditor_gets_the_report_over_the_api_and_the_run_is_audited(
    engine: Engine,
    api: TestClient,
    fast: Settings,
    scenario: dict[str, str],
) -> None:
    auditor = new_account(engine, fast, roles=[Role.AUDITOR])
    token = session_token(engine, auditor.username)
    window = {"from": SINCE.isoformat(), "to": UNTIL.isoformat()}
    response = api.get("/v1/audit/report", params=window, headers=bearer(token))
    assert response.status_code == 200, response.text
    report = response.json()
    assert scenario["heavy"] in {flag["username"] for flag in report["volume"]}
    assert scenario["fisher"] in {flag["username"] for flag in report["fishing"]}
    runs = api.get(
        "/v1/audit",
        params={"user": auditor.username, "event": "misuse_report"},
        headers=bearer(token),
    )
    assert len(runs.json()["events"]) == 1


def test_the_report_window_excludes_older_events(engine: Engine, scenario: dict[str, str]) -> None:
    with Session(engine) as session:
        report = misuse_report(
            session=session,
            since=UNTIL,
            until=UNTIL + timedelta(days=7),
            rules=MisuseRules(),
            authorities=frozenset({scenario["authority"]}),
        )
    assert report.flagged_users() == set()


def _refused(engine: Engine, username: str, authority: str, event: str, count: int) -> None:
    details = (
        {"status": 422, "reason": "Add a family name", "route": "POST /v1/search"}
        if event == "request_refused"
        else {"reason": "This needs the role la_manager; your roles: practitioner."}
    )
    for _ in range(count):
        _insert(
            engine,
            username=username,
            authority=authority,
            event=event,
            at=WEDNESDAY_10_LONDON,
            details=details,
            outcome="denied",
        )


def test_refusals_and_too_many_matches_count_as_fishing(engine: Engine) -> None:
    authority = new_authority(engine)
    prober, browser, careful = unique("prober"), unique("browser"), unique("careful")
    _refused(engine, prober, authority, "request_refused", 5)
    _refused(engine, prober, authority, "access_denied", 2)
    too_many: SearchDetails = {
        "criteria": {"family_name": "Smith", "birth_year": 2019},
        "result_count": 180,
        "identifiers_shown": [],
    }
    for _ in range(3):
        _insert(
            engine,
            username=prober,
            authority=authority,
            event="search",
            at=WEDNESDAY_10_LONDON,
            details={**too_many, "too_many_matches": True},
        )
    # Refused every time: no search at all, still fishing.
    _refused(engine, browser, authority, "request_refused", 10)
    _refused(engine, careful, authority, "request_refused", 4)
    _searches(engine, careful, authority, 5, results=0, at=WEDNESDAY_10_LONDON)
    with Session(engine) as session:
        report = misuse_report(
            session=session,
            since=SINCE,
            until=UNTIL,
            rules=MisuseRules(),
            authorities=frozenset({authority}),
        )
    counted = [
        (f.username, f.zero_result_searches, f.too_many_matches, f.refusals, f.searches)
        for f in report.fishing
    ]
    assert sorted(counted) == sorted([(prober, 0, 3, 7, 3), (browser, 0, 0, 10, 0)])
    assert careful not in report.flagged_users()
