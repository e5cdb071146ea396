"""Updates from CMS clients on the real servers: If-Match, idempotency, ownership, sources."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Role, create_client
from db.audit import AuditContext
from db.errors import InvalidInput
from db.models import Organisation
from db.postcode_areas import authority_of_postcode, load_postcode_file
from mappings import fields as f
from tests.integration.access_support import (
    bearer,
    build_client,
    fast_settings,
    new_account,
    new_authority,
    session_token,
    unique,
)
from tests.integration.search_support import Kid, Population, build_population

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def population(
    engine: Engine, elasticsearch_ready: None, settings: Settings, tmp_path_factory: Any
) -> Iterator[Population]:
    """A few hundred demo children: the writes are under test, not the search."""
    yield from build_population(
        engine=engine, settings=settings, tmp_path_factory=tmp_path_factory, children=300, seed=16
    )


@pytest.fixture(scope="module")
def client(population: Population) -> Iterator[TestClient]:
    _, test_client = build_client(fast_settings(population.settings))
    with test_client:
        yield test_client


class Cms:
    """A CMS client of an organisation, acting for one practitioner of its authority."""

    def __init__(self, population: Population, *, kind: str | None, child_protection: bool = False):
        self.engine = population.engine
        authority = population.kids[0].authority
        self.organisation = _organisation(population.engine, kind) if kind else None
        with Session(self.engine) as session, session.begin():
            self.name = unique("cms")
            issued = create_client(
                session=session,
                context=AuditContext.operator(),
                name=self.name,
                roles=frozenset({Role.PRACTITIONER}),
                authority=authority,
                organisation=self.organisation,
            )
        self.account = new_account(
            population.engine,
            fast_settings(population.settings),
            roles=[Role.PRACTITIONER],
            authorities=[authority],
            child_protection=child_protection,
        )
        self.key = issued.key

    def headers(self, **extra: str) -> dict[str, str]:
        return {**bearer(self.key), "X-On-Behalf-Of": self.account.username, **extra}


def _organisation(engine: Engine, kind: str) -> str:
    with Session(engine) as session, session.begin():
        code = ""
        while (
            not code
            or session.scalars(
                select(Organisation.id).where(Organisation.kind == kind, Organisation.code == code)
            ).first()
        ):
            # GP practices have ODS codes (a letter, five digits); other kinds any code.
            number = uuid.uuid4().int
            code = (
                f"Y{number % 10**5:05d}" if kind == "gp_practice" else uuid.uuid4().hex[:10].upper()
            )
        session.add(Organisation(kind=kind, code=code, name=f"Test {kind} {code}", phone=None))
    return f"{kind}:{code}"


def _kid(population: Population, index: int, *, shielded: bool = False) -> Kid:
    kids = [kid for kid in population.kids if kid.shielded == shielded and kid.status == "active"]
    return kids[index]


def _read(client: TestClient, cms: Cms, kid: Kid) -> tuple[dict[str, Any], str]:
    response = client.get(f"/v1/children/{kid.identifier}", headers=cms.headers())
    assert response.status_code == 200, response.text
    return response.json(), response.headers["ETag"]


def _practitioner(name: str = "Amara Okafor") -> dict[str, str]:
    return {
        "name": name,
        "email": f"{uuid.uuid4().hex[:10]}@service.example.nhs.uk",
        "phone": "0113 496 0203",
    }


def _start(client: TestClient, cms: Cms, kid: Kid, body: dict[str, Any], **headers: str) -> Any:
    if "If-Match" not in headers:
        headers["If-Match"] = _read(client, cms, kid)[1]
    return client.post(
        f"/v1/children/{kid.identifier}/involvements", json=body, headers=cms.headers(**headers)
    )


def _patch(
    client: TestClient, cms: Cms, kid: Kid, involvement_id: int, body: dict[str, Any]
) -> Any:
    etag = _read(client, cms, kid)[1]
    return client.patch(
        f"/v1/children/{kid.identifier}/involvements/{involvement_id}",
        json=body,
        headers=cms.headers(**{"If-Match": etag}),
    )


def _audit(engine: Engine, *, username: str, event: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT subject, outcome, client_name, details FROM audit_event"
                    " WHERE username = :username AND event = :event ORDER BY id"
                ),
                {"username": username, "event": event},
            )
        )


def _involvement_count(engine: Engine, kid: Kid) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM involvement i JOIN child c ON c.id = i.child_id"
                    " WHERE c.identifier = :identifier"
                ),
                {"identifier": kid.identifier},
            ).scalar_one()
        )


def _indexed(es: Elasticsearch, alias: str, kid: Kid) -> dict[str, Any]:
    source: dict[str, Any] = es.get(index=alias, id=kid.identifier)["_source"]
    return source


def test_the_record_view_carries_its_version_as_a_strong_etag(
    population: Population, client: TestClient
) -> None:
    cms = Cms(population, kind="health_visiting")
    view, etag = _read(client, cms, _kid(population, 0))
    assert etag == f'"{view["record_version"]}"' and view["record_version"] >= 1


def test_a_write_without_if_match_is_refused_with_428_and_writes_nothing(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="health_visiting"), _kid(population, 1)
    before = _involvement_count(population.engine, kid)
    response = client.post(
        f"/v1/children/{kid.identifier}/involvements",
        json={"practitioner": _practitioner()},
        headers=cms.headers(),
    )
    assert response.status_code == 428 and "If-Match" in response.json()["message"]
    assert _involvement_count(population.engine, kid) == before


def test_a_stale_version_gets_412_with_the_current_one(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="health_visiting"), _kid(population, 2)
    view, etag = _read(client, cms, kid)
    first = _start(client, cms, kid, {"practitioner": _practitioner()}, **{"If-Match": etag})
    assert first.status_code == 201, first.text
    stale = _start(client, cms, kid, {"practitioner": _practitioner()}, **{"If-Match": etag})
    assert stale.status_code == 412
    current = first.json()["record_version"]
    assert current > view["record_version"]
    assert stale.json()["record_version"] == current and stale.headers["ETag"] == f'"{current}"'
    assert _audit(population.engine, username=cms.account.username, event="request_refused")


def test_a_started_involvement_is_audited_and_reaches_the_index(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="health_visiting"), _kid(population, 3)
    body = {"practitioner": _practitioner(), "lead_professional": True}
    response = _start(client, cms, kid, body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert response.headers["ETag"] == f'"{answer["record_version"]}"'
    (started,) = [
        i for i in answer["record"]["involvements"] if i["id"] == answer["involvement_id"]
    ]
    assert started["lead_professional"] and started["practitioner"]["name"] == "Amara Okafor"
    assert [i["id"] for i in answer["record"]["involvements"] if i["lead_professional"]] == [
        answer["involvement_id"]
    ]
    (row,) = _audit(population.engine, username=cms.account.username, event="involvement_started")
    assert row.subject == kid.identifier and row.client_name == cms.name
    assert row.details["involvement_id"] == answer["involvement_id"]
    population.sync()
    indexed = _indexed(population.es, population.settings.index_alias, kid)
    assert indexed[f.RECORD_VERSION] == answer["record_version"]


def test_the_same_key_and_body_replays_the_first_answer_and_writes_once(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="health_visiting"), _kid(population, 4)
    before = _involvement_count(population.engine, kid)
    _, etag = _read(client, cms, kid)
    body = {"practitioner": _practitioner()}
    key = {"If-Match": etag, "Idempotency-Key": unique("key")}
    first = _start(client, cms, kid, body, **key)
    again = _start(client, cms, kid, body, **key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _involvement_count(population.engine, kid) == before + 1
    assert (
        len(_audit(population.engine, username=cms.account.username, event="involvement_started"))
        == 1
    )
    other = _start(client, cms, kid, {"practitioner": _practitioner("Someone Else")}, **key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert _involvement_count(population.engine, kid) == before + 1


def test_a_key_is_per_client(population: Population, client: TestClient) -> None:
    kid = _kid(population, 5)
    one, two = Cms(population, kind="health_visiting"), Cms(population, kind="health_visiting")
    key = unique("key")
    for cms in (one, two):
        response = _start(
            client, cms, kid, {"practitioner": _practitioner()}, **{"Idempotency-Key": key}
        )
        assert response.status_code == 201, response.text


def test_a_new_lead_professional_takes_over_from_the_old_in_one_change(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="early_help"), _kid(population, 6)
    first = _start(client, cms, kid, {"practitioner": _practitioner(), "lead_professional": True})
    second = _start(client, cms, kid, {"practitioner": _practitioner(), "lead_professional": True})
    assert first.status_code == second.status_code == 201
    leads = [i["id"] for i in second.json()["record"]["involvements"] if i["lead_professional"]]
    assert leads == [second.json()["involvement_id"]]
    back = _patch(client, cms, kid, first.json()["involvement_id"], {"lead_professional": True})
    assert back.status_code == 200, back.text
    leads = [i["id"] for i in back.json()["record"]["involvements"] if i["lead_professional"]]
    assert leads == [first.json()["involvement_id"]]
    (row, *_) = _audit(
        population.engine, username=cms.account.username, event="involvement_changed"
    )
    assert row.details["changed_fields"] == ["lead_professional"]


def test_an_involvement_is_ended_and_then_takes_no_changes(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="early_help"), _kid(population, 7)
    started = _start(
        client, cms, kid, {"practitioner": _practitioner(), "start_date": "2024-01-10"}
    ).json()
    involvement_id = started["involvement_id"]
    early = _patch(client, cms, kid, involvement_id, {"end_date": "2023-12-31"})
    assert early.status_code == 422
    assert early.json()["errors"] == [
        {"field": "body.end_date", "problem": "is before the involvement's start date"}
    ]
    ended = _patch(
        client, cms, kid, involvement_id, {"end_date": "2024-06-30", "assessment_completed": True}
    )
    assert ended.status_code == 200, ended.text
    (item,) = [i for i in ended.json()["record"]["involvements"] if i["id"] == involvement_id]
    assert item["end_date"] == "2024-06-30" and item["assessment_completed"]
    again = _patch(client, cms, kid, involvement_id, {"assessment_completed": False})
    assert again.status_code == 409


def test_a_cms_of_another_organisation_may_not_change_an_involvement(
    population: Population, client: TestClient
) -> None:
    owner, other = Cms(population, kind="early_help"), Cms(population, kind="early_help")
    kid = _kid(population, 8)
    started = _start(client, owner, kid, {"practitioner": _practitioner()}).json()
    refused = _patch(
        client, other, kid, started["involvement_id"], {"end_date": date.today().isoformat()}
    )
    assert refused.status_code == 403
    assert "another organisation" in refused.json()["message"]
    (row,) = _audit(population.engine, username=other.account.username, event="access_denied")
    assert row.outcome == "denied" and row.client_name == other.name
    view, _ = _read(client, owner, kid)
    (item,) = [i for i in view["involvements"] if i["id"] == started["involvement_id"]]
    assert item["end_date"] is None


def test_a_read_only_client_may_not_write(population: Population, client: TestClient) -> None:
    cms, kid = Cms(population, kind=None), _kid(population, 9)
    response = _start(client, cms, kid, {"practitioner": _practitioner()})
    assert response.status_code == 403 and "read-only" in response.json()["message"]


def test_a_sensitive_involvement_needs_consent_or_an_override(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="mental_health"), _kid(population, 10)
    before = _involvement_count(population.engine, kid)
    refused = _start(client, cms, kid, {"practitioner": _practitioner()})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.consent"
    assert _involvement_count(population.engine, kid) == before
    given_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    consent = {"given_by": "Jordan (the young person)", "given_at": given_at}
    started = _start(client, cms, kid, {"practitioner": _practitioner(), "consent": consent})
    assert started.status_code == 201, started.text
    answer = started.json()
    (item,) = [i for i in answer["record"]["involvements"] if i["id"] == answer["involvement_id"]]
    assert item["sensitive"] and item["consent_recorded"]
    assert _audit(population.engine, username=cms.account.username, event="consent_recorded")
    override = {"reason": "Section 47 enquiry under way now"}
    plain = _start(
        client, cms, kid, {"practitioner": _practitioner(), "child_protection_override": override}
    )
    assert plain.status_code == 403
    protector = Cms(population, kind="mental_health", child_protection=True)
    allowed = _start(
        client,
        protector,
        kid,
        {"practitioner": _practitioner(), "child_protection_override": override},
    )
    assert allowed.status_code == 201, allowed.text
    assert _audit(population.engine, username=protector.account.username, event="consent_override")


def test_a_gp_practice_changes_the_address_and_the_old_postcode_is_kept(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="gp_practice"), _kid(population, 11)
    view, etag = _read(client, cms, kid)
    response = client.put(
        f"/v1/children/{kid.identifier}/address",
        json={"lines": ["  1  Quarry Hill "], "town": "Leeds", "postcode": "ls21ab"},
        headers=cms.headers(**{"If-Match": etag}),
    )
    assert response.status_code == 200, response.text
    record = response.json()["record"]
    assert record["address"] == {"lines": ["1 Quarry Hill"], "town": "Leeds", "postcode": "LS2 1AB"}
    assert record["previous_addresses"][-1]["postcode"] == view["address"]["postcode"]
    assert record["previous_addresses"][-1]["to_date"] == date.today().isoformat()
    (row,) = _audit(population.engine, username=cms.account.username, event="address_changed")
    assert row.subject == kid.identifier
    population.sync()
    indexed = _indexed(population.es, population.settings.index_alias, kid)
    assert indexed[f.POSTCODE] == "LS2 1AB"
    assert view["address"]["postcode"] in indexed[f.PREVIOUS_POSTCODES]


def test_a_source_not_permitted_for_addresses_is_refused(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="early_help"), _kid(population, 12)
    _, etag = _read(client, cms, kid)
    response = client.put(
        f"/v1/children/{kid.identifier}/address",
        json={"lines": ["1 Quarry Hill"], "town": "Leeds", "postcode": "LS2 1AB"},
        headers=cms.headers(**{"If-Match": etag}),
    )
    assert response.status_code == 403
    assert (
        "gp_practice" in response.json()["message"] and "early_help" in response.json()["message"]
    )
    (row,) = _audit(population.engine, username=cms.account.username, event="access_denied")
    assert row.outcome == "denied"
    assert _read(client, cms, kid)[1] == etag


def test_a_bad_address_names_the_field_and_changes_nothing(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="gp_practice"), _kid(population, 13)
    _, etag = _read(client, cms, kid)
    response = client.put(
        f"/v1/children/{kid.identifier}/address",
        json={"lines": ["1 Quarry Hill"], "town": " ", "postcode": "NOT A POSTCODE"},
        headers=cms.headers(**{"If-Match": etag}),
    )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"body.town", "body.postcode"}
    assert _read(client, cms, kid)[1] == etag


def test_a_shielded_childs_change_is_made_but_its_location_stays_withheld(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="gp_practice"), _kid(population, 0, shielded=True)
    _, etag = _read(client, cms, kid)
    response = client.put(
        f"/v1/children/{kid.identifier}/address",
        json={"lines": ["9 Hidden Row"], "town": "Leeds", "postcode": "LS2 1AB"},
        headers=cms.headers(**{"If-Match": etag}),
    )
    assert response.status_code == 200, response.text
    record = response.json()["record"]
    assert record["address"] is None and record["location_withheld"]
    assert "Hidden Row" not in response.text and "LS2 1AB" not in response.text
    with population.engine.connect() as connection:
        postcode = connection.execute(
            text("SELECT postcode FROM child WHERE identifier = :identifier"),
            {"identifier": kid.identifier},
        ).scalar_one()
    assert postcode == "LS2 1AB"


def test_an_address_in_another_authority_moves_the_child_with_its_shield_and_named_users(
    population: Population, client: TestClient
) -> None:
    cms, kid = Cms(population, kind="gp_practice"), _kid(population, 1, shielded=True)
    before, etag = _read(client, cms, kid)
    destination = new_authority(population.engine)
    named = new_account(
        population.engine, fast_settings(population.settings), roles=[Role.PRACTITIONER]
    )
    with population.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO postcode_authority (postcode, local_authority_code)"
                " VALUES ('LS2 7XY', :code) ON CONFLICT (postcode)"
                " DO UPDATE SET local_authority_code = excluded.local_authority_code"
            ),
            {"code": destination},
        )
        connection.execute(
            text(
                "INSERT INTO shield_access (child_id, username, granted_by, reason)"
                " SELECT id, :username, 'a manager', 'Allocated social worker'"
                " FROM child WHERE identifier = :identifier"
            ),
            {"username": named.username, "identifier": kid.identifier},
        )
    response = client.put(
        f"/v1/children/{kid.identifier}/address",
        json={"lines": ["4 New Road"], "town": "Leeds", "postcode": "LS2 7XY"},
        headers=cms.headers(**{"If-Match": etag}),
    )
    assert response.status_code == 200, response.text
    assert destination in response.json()["message"] and kid.authority in response.json()["message"]
    # The new authority's managers manage it: they see where it lives; the old ones no longer.
    settings = fast_settings(population.settings)
    new_manager = new_account(
        population.engine, settings, roles=[Role.LA_MANAGER], authorities=[destination]
    )
    old_manager = new_account(
        population.engine, settings, roles=[Role.LA_MANAGER], authorities=[kid.authority]
    )
    seen = client.get(
        f"/v1/children/{kid.identifier}",
        headers=bearer(session_token(population.engine, new_manager.username)),
    ).json()
    assert seen["local_authority"]["code"] == destination and seen["shielded"]
    assert seen["address"]["postcode"] == "LS2 7XY"
    # The services of the old area stay, marked with it.
    old_area = before["local_authority"]["name"]
    assert any(item["area"] == old_area for item in seen["involvements"]) or not [
        item for item in before["involvements"] if item["area"] == old_area
    ]
    unseen = client.get(
        f"/v1/children/{kid.identifier}",
        headers=bearer(session_token(population.engine, old_manager.username)),
    ).json()
    assert unseen["address"] is None and unseen["location_withheld"]
    # The named practitioner still sees past the shield; the shield is the same one.
    past = client.get(
        f"/v1/children/{kid.identifier}",
        headers=bearer(session_token(population.engine, named.username)),
    ).json()
    assert past["address"]["postcode"] == "LS2 7XY"
    (row,) = _audit(population.engine, username=cms.account.username, event="address_changed")
    assert row.details["moved_from"] == kid.authority and row.details["moved_to"] == destination
    # Both teams are told, in the same transaction as the move.
    with population.engine.connect() as connection:
        teams = connection.execute(
            text(
                "SELECT n.team_authority_code FROM notification n JOIN child c ON c.id = n.child_id"
                " WHERE c.identifier = :identifier AND n.kind = 'child_moved_in'"
            ),
            {"identifier": kid.identifier},
        ).scalars()
        assert set(teams) == {kid.authority, destination}
    inbox = client.get(
        "/inbox",
        headers={
            **bearer(session_token(population.engine, new_manager.username)),
            "Accept": "text/html",
        },
    )
    assert inbox.status_code == 200 and "This child moved into your area" in inbox.text
    assert "LS2 7XY" not in inbox.text and "New Road" not in inbox.text
    population.sync()
    indexed = _indexed(population.es, population.settings.index_alias, kid)
    assert indexed[f.LOCAL_AUTHORITY_CODE] == destination


def test_the_postcode_directory_loads_and_a_postcode_beats_its_district(
    population: Population, tmp_path: Any
) -> None:
    here, there = new_authority(population.engine), new_authority(population.engine)
    onspd = tmp_path / "ONSPD.csv"
    onspd.write_text(
        "pcd,pcds,dointr,doterm,oslaua,osward\n"
        f"YO1  7HH,YO1 7HH,199801,,{there},E05000001\n"
        f"YO1  9ZZ,YO1,199801,,{here},E05000001\n"  # a district row, as pcds may not be one
        "AB101AA,AB10 1AA,199801,,S12000033,S13002840\n"  # Scotland: not ContactPoint's
        f"XXXXXXX,not a postcode,199801,,{here},\n"
    )
    with Session(population.engine) as session, session.begin():
        done = load_postcode_file(session=session, path=onspd)
    assert (done.written, done.skipped_unknown_authority, done.skipped_not_a_postcode) == (2, 1, 1)
    with Session(population.engine) as session:
        assert authority_of_postcode(session=session, postcode="yo17hh") == there
        assert authority_of_postcode(session=session, postcode="YO1 2AB") == here
        assert authority_of_postcode(session=session, postcode="AB10 1AA") is None
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("postcode_district,authority\nYO1,E06000014\n")
    with Session(population.engine) as session, pytest.raises(InvalidInput, match="pcds"):
        load_postcode_file(session=session, path=wrong)
