"""Notices written with the change (the outbox), and the inbox that shows them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import NewUser, Role, create_user
from db.audit import AuditContext
from db.models import Child, Involvement
from db.notifications import notify_involvement_started
from tests.integration.access_support import PASSWORD, PIN, build_client, fast_settings
from tests.integration.notify_support import (
    Writer,
    notices_of,
    practitioner_id,
    user_with_email,
    working_practitioner,
)
from tests.integration.pages_support import HTML, sensitive_involvement, sign_in
from tests.integration.search_support import Population, build_population

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def population(
    engine: Engine, elasticsearch_ready: None, settings: Settings, tmp_path_factory: Any
) -> Iterator[Population]:
    """A few hundred demo children: the notices are under test, not the search."""
    yield from build_population(
        engine=engine, settings=settings, tmp_path_factory=tmp_path_factory, children=400, seed=17
    )


@pytest.fixture(scope="module")
def client(population: Population) -> Iterator[TestClient]:
    _, test_client = build_client(fast_settings(population.settings))
    with test_client:
        yield test_client


def _inbox(client: TestClient, population: Population, username: str) -> str:
    sign_in(client, population, username)
    page = client.get("/inbox", headers=HTML)
    assert page.status_code == 200, page.text
    return page.text


def _nav_count(page: str) -> str:
    found = re.search(r'href="/inbox"[^>]*>(?:<strong[^>]*>)?([^<]+)<', page)
    assert found, "the navigation has no inbox link"
    return found.group(1)


def test_a_new_involvement_tells_the_practitioner_already_working_with_the_child(
    population: Population, client: TestClient
) -> None:
    working = working_practitioner(population.engine, offset=0)
    writer = Writer(population.engine, population.settings, authority=working.authority)
    answer = writer.start(client, working.identifier, lead_professional=False)
    assert answer.status_code == 201, answer.text
    notices = notices_of(population.engine, working.practitioner_id)
    assert [(row.kind, row.identifier) for row in notices] == [
        ("involvement_started", working.identifier)
    ]
    details = notices[0].details
    assert details["involvement_id"] == answer.json()["involvement_id"]
    assert details["practitioner"]["name"] == "Nia Adeyemi"
    assert details["service"].startswith("Test health_visiting")
    # Never case information nor the child's location: only the service and its people.
    assert set(details) == {
        "involvement_id",
        "lead_professional",
        "sensitive",
        "service",
        "service_phone",
        "service_email",
        "practitioner",
    }
    assert notices[0].deliveries == [f"email:{working.email}"]
    # The new practitioner hears nothing of their own start.
    new_email = answer.json()["record"]["involvements"][-1]["practitioner"]["email"]
    assert notices_of(population.engine, practitioner_id(population.engine, new_email)) == []


def test_a_refused_write_tells_no_one(population: Population, client: TestClient) -> None:
    working = working_practitioner(population.engine, offset=1)
    writer = Writer(population.engine, population.settings, authority=working.authority)
    stale = client.post(
        f"/v1/children/{working.identifier}/involvements",
        json={"practitioner": {"name": "Nia Adeyemi", "email": "nia.stale@example.nhs.uk"}},
        headers=writer.headers(**{"If-Match": '"0"'}),
    )
    assert stale.status_code == 412
    assert notices_of(population.engine, working.practitioner_id) == []


def test_the_inbox_shows_the_notice_with_the_child_and_marks_it_read(
    population: Population, client: TestClient
) -> None:
    working = working_practitioner(population.engine, offset=2)
    username = user_with_email(
        population.engine,
        population.settings,
        email=working.email.upper(),
        authorities=frozenset({working.authority}),
    )
    sign_in(client, population, username)
    assert _nav_count(client.get("/help", headers=HTML).text) == "Inbox"
    writer = Writer(population.engine, population.settings, authority=working.authority)
    assert writer.start(client, working.identifier).status_code == 201
    sign_in(client, population, username)
    assert _nav_count(client.get("/help", headers=HTML).text) == "Inbox (1)"
    page = client.get("/inbox", headers=HTML).text
    assert "Someone new is working with this child" in page and "Nia Adeyemi" in page
    assert f'href="/children/{working.identifier}"' in page and "New</strong>" in page
    assert _nav_count(page) == "Inbox"
    again = client.get("/inbox", headers=HTML).text
    assert "New</strong>" not in again and "Nia Adeyemi" in again
    assert notices_of(population.engine, working.practitioner_id)[0].read_at is not None
    with population.engine.connect() as connection:
        audit = connection.execute(
            text(
                "SELECT details FROM audit_event WHERE event = 'inbox_read' AND username = :u"
                " ORDER BY id"
            ),
            {"u": username},
        ).all()
    assert [row.details["identifiers_shown"] for row in audit] == [[working.identifier]] * 2
    assert audit[0].details["marked_read"] == 1 and audit[1].details["marked_read"] == 0


def test_the_lead_professional_change_tells_the_previous_lead(
    population: Population, client: TestClient
) -> None:
    working = working_practitioner(population.engine, offset=3)
    with Session(population.engine) as session, session.begin():
        session.execute(
            text(
                "UPDATE involvement SET lead_professional = true WHERE practitioner_id = :p"
                " AND end_date IS NULL AND child_id = (SELECT id FROM child WHERE identifier = :c)"
            ),
            {"p": working.practitioner_id, "c": working.identifier},
        )
    writer = Writer(population.engine, population.settings, authority=working.authority)
    started = writer.start(client, working.identifier)
    assert started.status_code == 201, started.text
    changed = writer.patch(
        client, working.identifier, started.json()["involvement_id"], lead_professional=True
    )
    assert changed.status_code == 200, changed.text
    kinds = [row.kind for row in notices_of(population.engine, working.practitioner_id)]
    assert kinds == ["involvement_started", "lead_professional_changed"]
    # The new lead is told too: they did not act (their CMS's user did).
    new_email = started.json()["record"]["involvements"][-1]["practitioner"]["email"]
    new_lead = notices_of(population.engine, practitioner_id(population.engine, new_email))
    assert [row.kind for row in new_lead] == ["lead_professional_changed"]
    assert new_lead[0].details["lead_professional"] is True


def test_a_shielded_childs_notice_carries_no_location(
    population: Population, client: TestClient
) -> None:
    working = working_practitioner(population.engine, offset=0, shielded=True)
    username = user_with_email(
        population.engine,
        population.settings,
        email=working.email,
        authorities=frozenset({working.authority}),
    )
    writer = Writer(population.engine, population.settings, authority=working.authority)
    assert writer.start(client, working.identifier).status_code == 201
    details = notices_of(population.engine, working.practitioner_id)[0].details
    assert details["service"] is None and details["service_phone"] is None
    with Session(population.engine) as session:
        child = session.query(Child).filter_by(identifier=working.identifier).one()
        town, postcode = child.town, child.postcode
    page = _inbox(client, population, username)
    assert "service withheld (shielded)" in page and "Nia Adeyemi" in page
    assert postcode not in page and town not in page


def test_a_sensitive_service_shows_as_a_sensitive_service_to_those_who_may_not_see_it(
    population: Population, client: TestClient
) -> None:
    kid, involvement_id, service = sensitive_involvement(population, 0)
    working = working_practitioner(population.engine, offset=4)
    # The notice of an existing sensitive involvement (no consent), as the outbox writes it.
    with Session(population.engine) as session, session.begin():
        child = session.query(Child).filter_by(identifier=working.identifier).one()
        involvement = session.get(Involvement, involvement_id)
        assert involvement is not None
        written = notify_involvement_started(
            session=session, child=child, involvement=involvement, acting_email=None
        )
    assert len(written.notices) == 1
    username = user_with_email(
        population.engine,
        population.settings,
        email=working.email,
        authorities=frozenset({working.authority}),
    )
    page = _inbox(client, population, username)
    assert "a sensitive service" in page and service not in page
    manager = user_with_email(
        population.engine,
        population.settings,
        email=None,
        roles=frozenset({Role.LA_MANAGER}),
        authorities=frozenset({kid.authority}),
    )
    # A manager of another child's authority has no notices: nothing was sent to a team.
    assert "You have no notices" in _inbox(client, population, manager)


def test_a_user_without_an_email_has_an_empty_inbox(
    population: Population, client: TestClient
) -> None:
    username = user_with_email(population.engine, population.settings, email=None)
    page = _inbox(client, population, username)
    assert "no work e-mail address" in page


def test_a_cms_client_cannot_read_its_users_inbox(
    population: Population, client: TestClient
) -> None:
    working = working_practitioner(population.engine, offset=5)
    writer = Writer(population.engine, population.settings, authority=working.authority)
    assert client.get("/inbox", headers={**writer.headers(), **HTML}).status_code == 403


def test_an_email_of_another_account_is_refused_when_creating_a_user(
    population: Population, client: TestClient
) -> None:
    from db.errors import Conflict, InvalidInput

    first = user_with_email(population.engine, population.settings, email="twice@example.nhs.uk")
    with Session(population.engine) as session, pytest.raises(Conflict):
        create_user(
            session=session,
            settings=fast_settings(population.settings),
            context=AuditContext.operator(),
            new=NewUser(
                username=f"{first}-2",
                roles=frozenset({Role.PRACTITIONER}),
                organisation="Test Health Visiting Team",
                email=" Twice@Example.nhs.uk ",
            ),
            password=PASSWORD,
            pin=PIN,
        )
    with pytest.raises(InvalidInput):
        user_with_email(population.engine, population.settings, email="not an address")
