"""The review queue and merges end to end on the real servers: who sees which item, what a
decision does, a held record made a shielded child, merges that keep the shield and answer the
merged-away identifier with the survivor, and unmerges that give each child its own back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from db.access import Role
from feeds import Source
from feeds.linking import Outcome
from tests.integration.access_support import build_client, fast_settings, new_authority
from tests.integration.feeds_support import (
    CENSUS_HEADER,
    census_row,
    import_file,
    rows,
    shielded_kid,
)
from tests.integration.pages_support import HTML, new_username, sign_in
from tests.integration.search_support import (
    Caller,
    Kid,
    Population,
    audit_rows,
    build_population,
    make_caller,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def population(
    engine: Any, elasticsearch_ready: None, settings: Any, tmp_path_factory: Any
) -> Iterator[Population]:
    yield from build_population(
        engine=engine,
        settings=settings,
        tmp_path_factory=tmp_path_factory,
        children=1_500,
        seed=53,
    )


@pytest.fixture(scope="module")
def client(population: Population) -> Iterator[TestClient]:
    _, app_client = build_client(fast_settings(population.settings))
    with app_client:
        yield app_client


def _plain_kids(population: Population) -> list[Kid]:
    return population.unique(
        lambda k: (k.family_name, k.date_of_birth),
        where=lambda k: not k.shielded and k.status == "active" and bool(k.authority),
    )


def _item_of(population: Population, record_id: str) -> int:
    ((item,),) = rows(
        population,
        "SELECT r.id FROM feed_review r JOIN feed_record f ON f.id = r.feed_record_id"
        " WHERE f.record_id = :rid",
        rid=record_id,
    )
    return int(item)


def _census(population: Population, tmp_path: Path, name: str, line: str) -> Outcome:
    path = tmp_path / name
    path.write_text(CENSUS_HEADER + line)
    result = import_file(population, Source.SCHOOL_CENSUS, path)
    assert not result.rejected, result.rejected
    ((_, _, outcome, _),) = result.decisions
    return outcome


def _searched(client: TestClient, caller: Caller, body: dict[str, str]) -> set[str]:
    response = client.post("/v1/search", json=body, headers=caller.headers)
    assert response.status_code == 200, response.text
    return {result["identifier"] for result in response.json()["results"]}


def test_a_sibling_goes_to_its_authoritys_queue_side_by_side_and_a_decision_links_it(
    population: Population, client: TestClient, tmp_path: Path
) -> None:
    kid = _plain_kids(population)[0]
    # The same family name, date of birth and address, another given name: a twin, perhaps.
    line = census_row(kid, "Z213012326005", forename="Zebedee")
    assert _census(population, tmp_path, "census.csv", line) is Outcome.REVIEW
    item = _item_of(population, "100001/Z213012326005")
    first = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    second = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))

    queue = client.get("/v1/feed-reviews", headers=first.headers).json()
    assert item in [entry["id"] for entry in queue["items"]]
    waiting = [entry["waiting_since"] for entry in queue["items"]]
    assert waiting == sorted(waiting) and queue["oldest_waiting_since"] == waiting[0]

    shown = client.get(f"/v1/feed-reviews/{item}", headers=first.headers)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["incoming"]["given_names"] == "Zebedee"
    (candidate,) = [c for c in body["candidates"] if c["identifier"] == kid.identifier]
    assert candidate["fields"]["postcode"] == kid.postcode
    assert candidate["agreement"]["given_names"]["level"] == "else"
    assert candidate["agreement"]["given_names"]["weight"] < 0
    assert candidate["agreement"]["date_of_birth"]["level"] == "exact"
    (viewed,) = audit_rows(population.engine, username=first.username, event="feed_review_viewed")
    assert viewed.details["feed_review_id"] == item
    assert kid.identifier in viewed.details["identifiers_shown"]

    # Not sure: escalated, and then another of the team decides it.
    unsure = client.post(
        f"/v1/feed-reviews/{item}/decision", json={"decision": "not_sure"}, headers=first.headers
    )
    assert unsure.status_code == 200, unsure.text
    again = client.post(
        f"/v1/feed-reviews/{item}/decision",
        json={"decision": "same_child", "child": kid.identifier},
        headers=first.headers,
    )
    assert again.status_code == 409
    stranger = client.post(
        f"/v1/feed-reviews/{item}/decision",
        json={"decision": "same_child", "child": "9999999999"},
        headers=second.headers,
    )
    assert stranger.status_code == 422
    decided = client.post(
        f"/v1/feed-reviews/{item}/decision",
        json={"decision": "same_child", "child": kid.identifier},
        headers=second.headers,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["identifier"] == kid.identifier
    assert rows(
        population,
        "SELECT c.identifier FROM child_source_identifier i JOIN child c ON c.id = i.child_id"
        " WHERE i.value = 'Z213012326005'",
    ) == [(kid.identifier,)]
    ((outcome, decision, by),) = rows(
        population,
        "SELECT f.outcome, r.decision, r.decided_by FROM feed_review r"
        " JOIN feed_record f ON f.id = r.feed_record_id WHERE r.id = :item",
        item=item,
    )
    assert (outcome, decision, by) == ("linked", "same_child", second.username)
    events = audit_rows(population.engine, username=second.username, event="feed_review_decided")
    assert [(e.subject, e.details["decision"]) for e in events] == [(kid.identifier, "same_child")]
    escalated = audit_rows(population.engine, username=first.username, event="feed_review_decided")
    assert [e.details["decision"] for e in escalated] == ["not_sure"]
    # Decided once: a second decision is a conflict, and the item leaves the queue.
    twice = client.post(
        f"/v1/feed-reviews/{item}/decision", json={"decision": "new_child"}, headers=second.headers
    )
    assert twice.status_code == 409
    queue = client.get("/v1/feed-reviews", headers=first.headers).json()
    assert item not in [entry["id"] for entry in queue["items"]]


def test_nobody_else_sees_an_item_and_a_shielded_candidate_is_never_shown(
    population: Population, client: TestClient, tmp_path: Path
) -> None:
    kid = _plain_kids(population)[1]
    line = census_row(kid, "N213012326006", forename="Bartholomew")
    assert _census(population, tmp_path, "census.csv", line) is Outcome.REVIEW
    item = _item_of(population, "100001/N213012326006")
    elsewhere = make_caller(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    assert client.get(f"/v1/feed-reviews/{item}", headers=elsewhere.headers).status_code == 404
    queue = client.get("/v1/feed-reviews", headers=elsewhere.headers).json()
    assert item not in [entry["id"] for entry in queue["items"]]
    for role in (Role.PRACTITIONER, Role.AUDITOR, Role.ADMIN):
        caller = make_caller(population, role)
        assert client.get("/v1/feed-reviews", headers=caller.headers).status_code == 403
        assert client.get(f"/v1/feed-reviews/{item}", headers=caller.headers).status_code == 403

    # Unassigned (no authority's child was a candidate), then the candidate is shielded: a
    # reviewer of another authority sees the item, and not the child beside its address.
    population.execute("UPDATE feed_review SET local_authority_code = NULL WHERE id = :i", i=item)
    population.execute(
        "INSERT INTO shield (child_id, applied_by, reason)"
        " SELECT id, 'test', 'Risk of harm from a relative' FROM child WHERE identifier = :i",
        i=kid.identifier,
    )
    shown = client.get(f"/v1/feed-reviews/{item}", headers=elsewhere.headers)
    assert shown.status_code == 200
    assert kid.identifier not in shown.text
    assert all(c["shielded"] is False for c in shown.json()["candidates"])
    linked = client.post(
        f"/v1/feed-reviews/{item}/decision",
        json={"decision": "same_child", "child": kid.identifier},
        headers=elsewhere.headers,
    )
    assert linked.status_code == 422


def test_a_held_record_made_a_new_child_is_shielded_and_managed_by_the_authority(
    population: Population, client: TestClient, tmp_path: Path
) -> None:
    kid = shielded_kid(population)
    line = census_row(kid, "C213012326007", postcode="ZE1 0AA")
    assert _census(population, tmp_path, "census.csv", line) is Outcome.HELD
    item = _item_of(population, "100001/C213012326007")
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    queue = client.get("/v1/feed-reviews", headers=manager.headers).json()
    (entry,) = [e for e in queue["items"] if e["id"] == item]
    assert entry["kind"] == "shield_hold"
    shown = client.get(f"/v1/feed-reviews/{item}", headers=manager.headers).json()
    assert shown["candidates"][0]["identifier"] == kid.identifier
    assert shown["candidates"][0]["shielded"] is True

    decided = client.post(
        f"/v1/feed-reviews/{item}/decision", json={"decision": "new_child"}, headers=manager.headers
    )
    assert decided.status_code == 200, decided.text
    made = decided.json()["identifier"]
    assert made not in (None, kid.identifier)
    ((authority, shielded),) = rows(
        population,
        "SELECT c.local_authority_code, EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id"
        " AND s.removed_at IS NULL) FROM child c WHERE c.identifier = :i",
        i=made,
    )
    assert (authority, shielded) == (kid.authority, True)
    population.sync()
    practitioner = make_caller(population, Role.PRACTITIONER)
    assert made not in _searched(
        client, practitioner, {"family_name": kid.family_name, "postcode": "ZE1 0AA"}
    )
    record = client.get(f"/v1/children/{made}", headers=practitioner.headers).json()
    assert record["address"] is None and "ZE1 0AA" not in str(record)


def test_a_merge_keeps_the_shield_moves_the_services_and_an_unmerge_gives_them_back(
    population: Population, client: TestClient
) -> None:
    shielded = shielded_kid(population, skip=1)
    survivor = next(
        kid
        for kid in _plain_kids(population)[2:]
        if kid.authority == shielded.authority
        and rows(
            population,
            "SELECT 1 FROM involvement i JOIN child c ON c.id = i.child_id WHERE c.identifier = :i",
            i=kid.identifier,
        )
    )

    def services(identifier: str) -> list[int]:
        return [
            row[0]
            for row in rows(
                population,
                "SELECT i.id FROM involvement i JOIN child c ON c.id = i.child_id"
                " WHERE c.identifier = :i ORDER BY i.id",
                i=identifier,
            )
        ]

    before = {kid.identifier: services(kid.identifier) for kid in (survivor, shielded)}
    manager = make_caller(population, Role.LA_MANAGER, authorities=(shielded.authority,))
    practitioner = make_caller(population, Role.PRACTITIONER)
    body = {"merged": shielded.identifier, "reason": "Same child in two records, checked"}
    path = f"/v1/children/{survivor.identifier}/merge"
    elsewhere = make_caller(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    assert client.post(path, json=body, headers=practitioner.headers).status_code == 403
    assert client.post(path, json=body, headers=elsewhere.headers).status_code == 403
    themselves = {"merged": survivor.identifier, "reason": body["reason"]}
    assert client.post(path, json=themselves, headers=manager.headers).status_code == 422

    merged = client.post(path, json=body, headers=manager.headers)
    assert merged.status_code == 200, merged.text
    merge_id = merged.json()["merge_id"]
    assert client.post(path, json=body, headers=manager.headers).status_code == 409
    assert services(survivor.identifier) == sorted(
        before[survivor.identifier] + before[shielded.identifier]
    )
    # The merged-away identifier answers with the survivor, which carries the shield.
    moved = client.get(
        f"/v1/children/{shielded.identifier}",
        headers=practitioner.headers,
        follow_redirects=False,
    )
    assert moved.status_code == 301
    assert moved.headers["location"] == f"/v1/children/{survivor.identifier}"
    fhir = client.get(
        f"/fhir/Patient/{shielded.identifier}",
        headers=practitioner.headers,
        follow_redirects=False,
    )
    assert fhir.status_code == 301 and fhir.json()["resourceType"] == "OperationOutcome"
    assert fhir.headers["location"] == f"/fhir/Patient/{survivor.identifier}"
    record = client.get(f"/v1/children/{survivor.identifier}", headers=practitioner.headers).json()
    assert record["address"] is None and record["location_withheld"] is True
    population.sync()
    assert survivor.identifier not in _searched(
        client, practitioner, {"family_name": survivor.family_name, "postcode": survivor.postcode}
    )
    assert shielded.identifier not in _searched(
        client,
        manager,
        {"family_name": shielded.family_name, "date_of_birth": shielded.date_of_birth.isoformat()},
    )
    sign_in(client, population, new_username(population, Role.PRACTITIONER))
    page = client.get(f"/children/{shielded.identifier}", headers=HTML)
    assert page.status_code == 200 and "This record was merged" in page.text
    assert f'href="/children/{survivor.identifier}"' in page.text
    (event,) = audit_rows(population.engine, username=manager.username, event="children_merged")
    assert event.subject == survivor.identifier
    assert event.details["identifiers_shown"] == [survivor.identifier, shielded.identifier]

    unmerge = f"/v1/merges/{merge_id}/unmerge"
    reason = {"reason": "Two children after all: twins"}
    assert client.post(unmerge, json=reason, headers=elsewhere.headers).status_code == 403
    undone = client.post(unmerge, json=reason, headers=manager.headers)
    assert undone.status_code == 200, undone.text
    assert client.post(unmerge, json=reason, headers=manager.headers).status_code == 409
    assert {kid.identifier: services(kid.identifier) for kid in (survivor, shielded)} == before
    ((status,),) = rows(
        population, "SELECT status FROM child WHERE identifier = :i", i=shielded.identifier
    )
    assert status == "active"
    # Each is itself again; the survivor keeps the shield until its managers remove it.
    again = client.get(f"/v1/children/{shielded.identifier}", headers=manager.headers)
    assert again.status_code == 200
    assert again.json()["address"]["postcode"] == shielded.postcode
    survivor_record = client.get(
        f"/v1/children/{survivor.identifier}", headers=practitioner.headers
    ).json()
    assert survivor_record["location_withheld"] is True
    population.sync()
    assert shielded.identifier in _searched(
        client,
        manager,
        {"family_name": shielded.family_name, "date_of_birth": shielded.date_of_birth.isoformat()},
    )
