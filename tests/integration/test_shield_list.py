"""Managers see shields: the list of their authorities' shielded children (filtered, audited),
and a shield tag in the results and the record for those who see the location."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from db.access import Role
from tests.integration.access_support import build_client, fast_settings, new_authority
from tests.integration.search_support import (
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
        seed=59,
    )


@pytest.fixture(scope="module")
def client(population: Population) -> Iterator[TestClient]:
    _, app_client = build_client(fast_settings(population.settings))
    with app_client:
        yield app_client


def test_a_manager_lists_their_authoritys_shielded_children_and_nobody_elses(
    population: Population, client: TestClient
) -> None:
    kid = next(k for k in population.kids if k.shielded and k.status == "active")
    ours = {
        k.identifier
        for k in population.kids
        if k.shielded and k.status == "active" and k.authority == kid.authority
    }
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    listed = client.get("/v1/shields", headers=manager.headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert {c["identifier"] for c in body["children"]} == ours and body["total"] == len(ours)
    (mine,) = [c for c in body["children"] if c["identifier"] == kid.identifier]
    assert mine["postcode"] == kid.postcode and mine["reason"]
    applied = [c["applied_at"] for c in body["children"]]
    assert applied == sorted(applied, reverse=True)

    filtered = client.get(
        "/v1/shields", params={"name": kid.family_name[:3].lower()}, headers=manager.headers
    ).json()
    assert kid.identifier in {c["identifier"] for c in filtered["children"]}
    assert all(
        c["family_name"].lower().startswith(kid.family_name[:3].lower())
        or c["given_names"].lower().startswith(kid.family_name[:3].lower())
        for c in filtered["children"]
    )
    wildcard = client.get("/v1/shields", params={"name": "%"}, headers=manager.headers).json()
    assert wildcard["children"] == []
    (read, *_) = audit_rows(population.engine, username=manager.username, event="shield_list_read")
    assert set(read.details["identifiers_shown"]) == ours

    elsewhere = make_caller(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    assert client.get("/v1/shields", headers=elsewhere.headers).json()["children"] == []
    for role in (Role.PRACTITIONER, Role.AUDITOR, Role.ADMIN):
        caller = make_caller(population, role)
        assert client.get("/v1/shields", headers=caller.headers).status_code == 403
    too_long = client.get("/v1/shields", params={"name": "x" * 101}, headers=manager.headers)
    assert too_long.status_code == 422


def test_the_results_and_the_record_tag_a_shielded_child_for_its_managers(
    population: Population, client: TestClient
) -> None:
    kid = next(k for k in population.kids if k.shielded and k.status == "active")
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    practitioner = make_caller(population, Role.PRACTITIONER)
    body = {
        "given_name": kid.given_names.split()[0],
        "family_name": kid.family_name,
        "date_of_birth": kid.date_of_birth.isoformat(),
    }
    for caller, withheld in ((manager, False), (practitioner, True)):
        results = client.post("/v1/search", json=body, headers=caller.headers).json()["results"]
        (found,) = [r for r in results if r["identifier"] == kid.identifier]
        assert (found["shielded"], found["location_withheld"]) == (True, withheld)
        record = client.get(f"/v1/children/{kid.identifier}", headers=caller.headers).json()
        assert (record["shielded"], record["location_withheld"]) == (True, withheld)
