"""Corrections with history on the real servers: a manager of the child's authority corrects a
field with a reason, the index follows, the history keeps every earlier value; the feeds never
overwrite a correction with an older or same-dated value, and a newer one waits for a manager
to confirm or reject; other roles and authorities are refused; a shielded child's corrected
address reaches nobody without the right."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.access import Role
from db.audit import AuditContext
from db.child_records import get_child
from db.corrections import CorrectedField, correct_field
from feeds.apply import Writer
from feeds.linking import Decision, Outcome
from feeds.records import FeedAddress, FeedRecord, Source
from tests.integration.access_support import (
    bearer,
    build_client,
    fast_settings,
    new_account,
    new_api_key,
    new_authority,
)
from tests.integration.search_support import (
    Caller,
    Kid,
    Population,
    audit_rows,
    build_population,
    make_caller,
)

pytestmark = pytest.mark.integration

# The day the feed tests' corrections are made, and records older, as old and newer.
CORRECTED_ON = date(2026, 11, 2)
REASON = "Checked against the birth certificate"


@pytest.fixture(scope="module")
def population(
    engine: Any, elasticsearch_ready: None, settings: Any, tmp_path_factory: Any
) -> Iterator[Population]:
    yield from build_population(
        engine=engine,
        settings=settings,
        tmp_path_factory=tmp_path_factory,
        children=800,
        seed=73,
    )


@pytest.fixture(scope="module")
def client(population: Population) -> Iterator[TestClient]:
    _, app_client = build_client(fast_settings(population.settings))
    with app_client:
        yield app_client


_used: set[str] = set()


def _kid(population: Population, *, shielded: bool = False) -> Kid:
    """A child no other test of the module corrects, whom nobody shares a name and birth with."""
    kids = population.unique(
        lambda k: (k.given_names, k.family_name, k.date_of_birth),
        where=lambda k: k.shielded == shielded and k.status == "active" and k.authority,
    )
    kid = next(k for k in kids if k.identifier not in _used)
    _used.add(kid.identifier)
    return kid


def _manager(population: Population, kid: Kid) -> Caller:
    return make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))


def _row(population: Population, sql: str, **params: Any) -> Any:
    with population.engine.connect() as connection:
        return connection.execute(text(sql), params).one_or_none()


def _rows(population: Population, sql: str, **params: Any) -> list[Any]:
    with population.engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def _child(population: Population, identifier: str) -> Any:
    return _row(
        population,
        "SELECT id, given_names, family_name, date_of_birth, address_lines, town, postcode,"
        " record_version FROM child WHERE identifier = :identifier",
        identifier=identifier,
    )


def _found(client: TestClient, caller: Caller, body: dict[str, Any]) -> set[str]:
    response = client.post("/v1/search", json=body, headers=caller.headers)
    assert response.status_code == 200, response.text
    return {result["identifier"] for result in response.json()["results"]}


def _address_correction(postcode: str, line: str = "7 Corrected Row") -> dict[str, Any]:
    return {
        "field": "address",
        "address": {"lines": [line], "town": "Leeds", "postcode": postcode},
        "reason": "The family told us the number was wrong",
    }


def test_a_manager_corrects_a_name_the_history_keeps_the_old_one_and_search_finds_the_new(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population)
    manager = _manager(population, kid)
    before = _child(population, kid.identifier)
    body = {
        "field": "name",
        "given_names": kid.given_names,
        "family_name": "Quillfeather",
        "reason": REASON,
    }
    response = client.post(
        f"/v1/children/{kid.identifier}/corrections", json=body, headers=manager.headers
    )
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["record_version"] > before.record_version
    assert answer["correction"]["previous"] == {
        "given_names": kid.given_names,
        "family_name": kid.family_name,
    }
    population.sync()
    practitioner = make_caller(population, Role.PRACTITIONER)
    searched = {
        "given_name": kid.given_names,
        "family_name": "Quillfeather",
        "date_of_birth": kid.date_of_birth.isoformat(),
    }
    assert kid.identifier in _found(client, practitioner, searched)
    # The index's document moved to the child's new version.
    document = population.es.get(index=population.settings.index_alias, id=kid.identifier)
    assert document["_version"] == answer["record_version"]

    history = client.get(f"/v1/children/{kid.identifier}/corrections", headers=manager.headers)
    assert history.status_code == 200, history.text
    (entry,) = history.json()["corrections"]
    assert entry["previous"]["family_name"] == kid.family_name
    assert entry["value"]["family_name"] == "Quillfeather"
    assert entry["reason"] == REASON and entry["corrected_by"] == manager.username
    assert entry["kind"] == "correction"
    (audited,) = audit_rows(population.engine, username=manager.username, event="child_corrected")
    assert audited.subject == kid.identifier
    assert audited.details["field"] == "name" and audited.details["reason"] == REASON
    assert audit_rows(population.engine, username=manager.username, event="corrections_read")
    source = _row(
        population,
        "SELECT source, as_of FROM child_field_source WHERE child_id = :id AND field = 'name'",
        id=before.id,
    )
    assert source.source == "correction"


def test_a_second_correction_keeps_both_earlier_values_newest_first(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population)
    manager = _manager(population, kid)
    url = f"/v1/children/{kid.identifier}/corrections"
    first = {"field": "date_of_birth", "date_of_birth": "2015-01-02", "reason": REASON}
    second = {
        "field": "date_of_birth",
        "date_of_birth": "2015-02-01",
        "reason": "Day and month swapped",
    }
    assert client.post(url, json=first, headers=manager.headers).status_code == 201
    assert client.post(url, json=second, headers=manager.headers).status_code == 201
    entries = client.get(url, headers=manager.headers).json()["corrections"]
    assert [e["value"] for e in entries] == [
        {"date_of_birth": "2015-02-01"},
        {"date_of_birth": "2015-01-02"},
    ]
    assert entries[1]["previous"] == {"date_of_birth": kid.date_of_birth.isoformat()}
    assert _child(population, kid.identifier).date_of_birth == date(2015, 2, 1)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"field": "nickname", "reason": REASON}, "field"),
        ({"field": "date_of_birth", "date_of_birth": "2019-02-30", "reason": REASON}, "date"),
        ({"field": "date_of_birth", "date_of_birth": "2999-01-01", "reason": REASON}, "future"),
        ({"field": "date_of_birth", "date_of_birth": "1980-01-01", "reason": REASON}, "1990"),
        ({"field": "name", "given_names": "Ann", "family_name": "Lee", "reason": ""}, "reason"),
        ({"field": "name", "given_names": "Ann", "family_name": "Lee"}, "reason"),
        ({"field": "name", "given_names": "Ann", "reason": REASON}, "family_name"),
        ({"field": "name", "given_names": "Ann", "family_name": " ", "reason": REASON}, "empty"),
        (
            {
                "field": "address",
                "address": {"lines": ["1 A St"], "town": "Leeds", "postcode": "NOT A CODE"},
                "reason": REASON,
            },
            "postcode",
        ),
        (
            {
                "field": "name",
                "given_names": "Ann",
                "family_name": "Lee",
                "date_of_birth": "2019-01-01",
                "reason": REASON,
            },
            "takes no",
        ),
    ],
    ids=[
        "unknown-field",
        "impossible-date",
        "future-date",
        "before-1990",
        "empty-reason",
        "no-reason",
        "missing-value",
        "blank-name",
        "bad-postcode",
        "another-fields-value",
    ],
)
def test_a_bad_correction_is_a_422_that_names_the_problem_and_changes_nothing(
    population: Population, client: TestClient, body: dict[str, Any], problem: str
) -> None:
    kid = population.kids[0]
    manager = _manager(population, kid)
    before = _child(population, kid.identifier)
    response = client.post(
        f"/v1/children/{kid.identifier}/corrections", json=body, headers=manager.headers
    )
    assert response.status_code == 422, response.text
    assert problem in response.text
    assert "Traceback" not in response.text
    assert _child(population, kid.identifier) == before


def test_a_correction_to_the_same_value_is_a_422(
    population: Population, client: TestClient
) -> None:
    kid = population.kids[1]
    manager = _manager(population, kid)
    body = {
        "field": "name",
        "given_names": kid.given_names,
        "family_name": kid.family_name,
        "reason": REASON,
    }
    response = client.post(
        f"/v1/children/{kid.identifier}/corrections", json=body, headers=manager.headers
    )
    assert response.status_code == 422
    assert "already holds this value" in response.json()["errors"][0]["problem"]


def test_other_authorities_and_other_roles_are_refused_and_the_refusals_audited(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population)
    url = f"/v1/children/{kid.identifier}/corrections"
    body = {"field": "name", "given_names": "Ann", "family_name": "Lee", "reason": REASON}
    elsewhere = make_caller(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    response = client.post(url, json=body, headers=elsewhere.headers)
    assert response.status_code == 403
    assert "manager of the child's local authority" in response.json()["message"]
    (denied,) = audit_rows(population.engine, username=elsewhere.username, event="access_denied")
    assert denied.subject == f"POST {url}"
    assert client.get(url, headers=elsewhere.headers).status_code == 403
    for role in (Role.PRACTITIONER, Role.ADMIN, Role.AUDITOR):
        caller = make_caller(population, role, authorities=(kid.authority,))
        for response in (
            client.post(url, json=body, headers=caller.headers),
            client.get(url, headers=caller.headers),
            client.get("/v1/corrections/waiting", headers=caller.headers),
            client.post(
                "/v1/corrections/waiting/1", json={"decision": "confirmed"}, headers=caller.headers
            ),
        ):
            assert response.status_code == 403, (role, response.text)
        assert audit_rows(population.engine, username=caller.username, event="access_denied")
    # A CMS acting for a manager of the authority: corrections are made signed in.
    fast = fast_settings(population.settings)
    account = new_account(
        population.engine, fast, roles=[Role.LA_MANAGER], authorities=[kid.authority]
    )
    key = new_api_key(population.engine, authority=kid.authority, roles=(Role.LA_MANAGER,))
    headers = {**bearer(key), "X-On-Behalf-Of": account.username}
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 403, response.text
    assert _child(population, kid.identifier).family_name == kid.family_name
    assert (
        client.post(
            "/v1/children/0000000000/corrections",
            json=body,
            headers=_manager(population, kid).headers,
        ).status_code
        == 404
    )


def _health_record(kid: Kid, *, as_of: date, postcode: str, number: str) -> FeedRecord:
    return FeedRecord(
        source=Source.HEALTH,
        record_id=f"94{number}",
        version=1,
        as_of=as_of,
        given_names=kid.given_names,
        family_name=kid.family_name,
        date_of_birth=kid.date_of_birth,
        address=FeedAddress(lines=("1 Feed Street",), town="Leeds", postcode=postcode),
    )


def _apply(population: Population, kid: Kid, record: FeedRecord) -> None:
    with Session(population.engine) as session, session.begin():
        Writer(session).apply(
            record, Decision(outcome=Outcome.LINKED, reason="test", identifier=kid.identifier)
        )


def _correct_address(population: Population, kid: Kid, postcode: str) -> None:
    """The address corrected on CORRECTED_ON (the service, as the API calls it)."""
    with Session(population.engine) as session, session.begin():
        child = get_child(session=session, identifier=kid.identifier)
        assert child is not None
        correct_field(
            session=session,
            context=AuditContext.operator(),
            child=child,
            field=CorrectedField.ADDRESS,
            value={"lines": ["7 Corrected Row"], "town": "Leeds", "postcode": postcode},
            reason="The family told us the number was wrong",
            today=CORRECTED_ON,
        )


def test_an_older_or_same_dated_feed_record_never_overwrites_a_correction(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population)
    _correct_address(population, kid, "LS6 2AB")
    for days, number in ((-30, "00000001"), (0, "00000002")):
        record = _health_record(
            kid, as_of=CORRECTED_ON + timedelta(days=days), postcode="LS7 3CD", number=number
        )
        _apply(population, kid, record)
    child = _child(population, kid.identifier)
    assert (child.address_lines, child.postcode) == (["7 Corrected Row"], "LS6 2AB")
    waiting = _rows(
        population, "SELECT id FROM correction_confirmation WHERE child_id = :id", id=child.id
    )
    assert waiting == []


def test_a_newer_feed_record_waits_for_a_manager_who_is_told_and_confirms_it(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population)
    manager = _manager(population, kid)
    _correct_address(population, kid, "LS6 2AB")
    record = _health_record(
        kid, as_of=CORRECTED_ON + timedelta(days=10), postcode="LS7 3CD", number="00000003"
    )
    _apply(population, kid, record)
    _apply(population, kid, record)  # seen again: queued once
    child = _child(population, kid.identifier)
    assert child.postcode == "LS6 2AB"
    (notice,) = _rows(
        population,
        "SELECT kind, team_authority_code, details FROM notification WHERE child_id = :id",
        id=child.id,
    )
    assert notice.kind == "correction_challenged"
    assert notice.team_authority_code == kid.authority
    assert notice.details["field"] == "address" and "LS7" not in str(notice.details)
    inbox = client.get("/inbox", headers=manager.headers)
    assert inbox.status_code == 200, inbox.text
    assert "would change a detail your team corrected" in inbox.text
    assert f"/children/{kid.identifier}" in inbox.text and "LS7 3CD" not in inbox.text
    waiting = client.get("/v1/corrections/waiting", headers=manager.headers)
    assert waiting.status_code == 200, waiting.text
    (item,) = [w for w in waiting.json()["waiting"] if w["identifier"] == kid.identifier]
    assert item["current"]["postcode"] == "LS6 2AB" and item["proposed"]["postcode"] == "LS7 3CD"
    assert item["source"] == "health" and item["as_of"] == "2026-11-12"
    # Another authority's manager neither sees it nor decides it.
    elsewhere = make_caller(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    assert client.get("/v1/corrections/waiting", headers=elsewhere.headers).json()["waiting"] == []
    url = f"/v1/corrections/waiting/{item['id']}"
    refused = client.post(url, json={"decision": "confirmed"}, headers=elsewhere.headers)
    assert refused.status_code == 403

    decided = client.post(url, json={"decision": "confirmed"}, headers=manager.headers)
    assert decided.status_code == 200, decided.text
    after = _child(population, kid.identifier)
    assert (after.address_lines, after.postcode) == (["1 Feed Street"], "LS7 3CD")
    assert after.record_version > child.record_version
    source = _row(
        population,
        "SELECT source, record_id FROM child_field_source WHERE child_id = :id"
        " AND field = 'address'",
        id=child.id,
    )
    assert (source.source, source.record_id) == ("health", "9400000003")
    history = client.get(
        f"/v1/children/{kid.identifier}/corrections", headers=manager.headers
    ).json()["corrections"]
    assert [e["kind"] for e in history] == ["feed_confirmed", "correction"]
    assert history[0]["previous"]["postcode"] == "LS6 2AB"
    (audited,) = audit_rows(
        population.engine, username=manager.username, event="correction_decided"
    )
    assert audited.details["decision"] == "confirmed"
    again = client.post(url, json={"decision": "rejected"}, headers=manager.headers)
    assert again.status_code == 409
    population.sync()
    document = population.es.get(index=population.settings.index_alias, id=kid.identifier)
    assert document["_version"] == after.record_version


def test_a_rejected_feed_change_leaves_the_correction_and_moves_the_childs_version(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population)
    manager = _manager(population, kid)
    _correct_address(population, kid, "LS6 2AB")
    record = _health_record(
        kid, as_of=CORRECTED_ON + timedelta(days=3), postcode="LS8 4EF", number="00000004"
    )
    _apply(population, kid, record)
    before = _child(population, kid.identifier)
    (item,) = [
        w
        for w in client.get("/v1/corrections/waiting", headers=manager.headers).json()["waiting"]
        if w["identifier"] == kid.identifier
    ]
    decided = client.post(
        f"/v1/corrections/waiting/{item['id']}",
        json={"decision": "rejected"},
        headers=manager.headers,
    )
    assert decided.status_code == 200, decided.text
    after = _child(population, kid.identifier)
    assert after.postcode == "LS6 2AB"
    assert after.record_version > before.record_version
    # The same record seen again is not asked about again.
    _apply(population, kid, record)
    assert not [
        w
        for w in client.get("/v1/corrections/waiting", headers=manager.headers).json()["waiting"]
        if w["identifier"] == kid.identifier
    ]
    bad = client.post(
        f"/v1/corrections/waiting/{item['id']}", json={"decision": "maybe"}, headers=manager.headers
    )
    assert bad.status_code == 422


def test_a_shielded_childs_corrected_address_reaches_nobody_without_the_right(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population, shielded=True)
    manager = _manager(population, kid)
    response = client.post(
        f"/v1/children/{kid.identifier}/corrections",
        json=_address_correction("LS9 8QZ", line="99 Hidden Lane"),
        headers=manager.headers,
    )
    assert response.status_code == 201, response.text
    population.sync()
    practitioner = make_caller(population, Role.PRACTITIONER)
    view = client.get(f"/v1/children/{kid.identifier}", headers=practitioner.headers)
    assert view.status_code == 200
    assert "LS9 8QZ" not in view.text and "Hidden Lane" not in view.text
    assert view.json()["field_sources"] is None
    probes = [
        {"family_name": kid.family_name, "postcode": "LS9 8QZ"},
        {
            "given_name": kid.given_names,
            "family_name": kid.family_name,
            "date_of_birth": kid.date_of_birth.isoformat(),
            "postcode": "LS9",
        },
        {
            "given_name": kid.given_names,
            "family_name": kid.family_name,
            "address": "99 Hidden Lane Leeds",
        },
    ]
    for probe in probes:
        assert kid.identifier not in _found(client, practitioner, probe), probe
    assert (
        client.get(
            f"/v1/children/{kid.identifier}/corrections", headers=practitioner.headers
        ).status_code
        == 403
    )
    # Its own manager finds it at the corrected postcode.
    assert kid.identifier in _found(
        client, manager, {"family_name": kid.family_name, "postcode": "LS9 8QZ"}
    )
    # The audit names the field, never the value; the reason is withheld from an audit reader
    # who may not see the location (a manager of another authority reads their own rows only).
    (audited,) = audit_rows(population.engine, username=manager.username, event="child_corrected")
    assert "LS9" not in str(audited.details) and "Hidden" not in str(audited.details)
