"""Shielding inside the query: a shielded child is found only through what the caller may see."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from db.access import Role
from mappings.normalise import fold
from tests.integration.access_support import new_authority
from tests.integration.search_support import Caller, Kid, Population, make_caller

pytestmark = pytest.mark.integration


def _shielded(population: Population) -> Kid:
    kids = population.unique(
        lambda k: (fold(k.given_names), fold(k.family_name), k.date_of_birth),
        where=lambda k: k.shielded and k.status == "active",
    )
    assert kids
    return kids[0]


def _names_dob(kid: Kid) -> dict[str, Any]:
    return {
        "given_name": kid.given_names,
        "family_name": kid.family_name,
        "date_of_birth": kid.date_of_birth.isoformat(),
    }


def _search(client: TestClient, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/search", json=body, headers=caller.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    answer.pop("request_id")
    return answer


def _location_probes(kid: Kid) -> list[dict[str, Any]]:
    exact = _names_dob(kid)
    born = exact["date_of_birth"]
    return [
        {**exact, "postcode": kid.postcode},
        {**exact, "postcode": kid.postcode.split()[0]},
        {**exact, "address": f"{kid.address_lines[0]} {kid.town}"},
        {"family_name": kid.family_name, "postcode": kid.postcode},
        {**exact, "postcode": "ZZ99 9ZZ"},
        # Without a family name, at its postcode: with its given name, or another one.
        {"given_name": kid.given_names, "date_of_birth": born, "postcode": kid.postcode},
        {"given_name": "Zebedee", "date_of_birth": born, "postcode": kid.postcode},
    ]


def test_a_location_search_never_returns_a_shielded_child_to_a_caller_without_rights(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded(population)
    caller = make_caller(population, Role.PRACTITIONER)
    for body in _location_probes(kid):
        answer = _search(app_client, caller, body)
        assert kid.identifier not in {r["identifier"] for r in answer["results"]}, body


def test_a_name_and_birth_date_search_finds_a_shielded_child_without_its_location(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded(population)
    caller = make_caller(population, Role.PRACTITIONER)
    top = _search(app_client, caller, _names_dob(kid))["results"][0]
    assert top["identifier"] == kid.identifier
    assert top["town"] is None and top["postcode_outward"] is None and top["location_withheld"]


def test_the_manager_of_its_authority_finds_it_by_postcode_and_sees_its_town(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded(population)
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    top = _search(app_client, manager, {**_names_dob(kid), "postcode": kid.postcode})["results"][0]
    assert top["identifier"] == kid.identifier and top["town"] == kid.town
    assert top["postcode_outward"] == kid.postcode.split()[0]


def test_a_practitioner_named_by_the_manager_finds_it_by_postcode(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded(population)
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    named = make_caller(population, Role.PRACTITIONER)
    body = {**_names_dob(kid), "postcode": kid.postcode}
    assert kid.identifier not in {
        r["identifier"] for r in _search(app_client, named, body)["results"]
    }
    grant = {"username": named.username, "reason": "Allocated social worker"}
    path = f"/v1/children/{kid.identifier}/shield/access"
    assert app_client.post(path, json=grant, headers=manager.headers).status_code == 200
    top = _search(app_client, named, body)["results"][0]
    assert top["identifier"] == kid.identifier and top["town"] == kid.town
    revoke = app_client.request("DELETE", path, json=grant, headers=manager.headers)
    assert revoke.status_code == 200
    assert kid.identifier not in {
        r["identifier"] for r in _search(app_client, named, body)["results"]
    }


def test_results_and_too_many_matches_do_not_depend_on_a_shielded_childs_location(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded(population)
    # A neighbour: a visible child in another outward code, whose postcode the shielded child
    # is moved to, so that a search by that postcode would find it if location leaked.
    neighbour = next(
        k
        for k in population.kids
        if not k.shielded and k.postcode.split()[0] != kid.postcode.split()[0]
    )
    caller = make_caller(population, Role.PRACTITIONER)
    probes = [
        _names_dob(kid),
        {"family_name": kid.family_name, "birth_year": kid.date_of_birth.year, "limit": 1},
        {"family_name": kid.family_name, "postcode": neighbour.postcode},
        {"family_name": neighbour.family_name, "postcode": neighbour.postcode},
        {"family_name": kid.family_name, "postcode": kid.postcode.split()[0]},
    ]
    before = [_search(app_client, caller, body) for body in probes]
    population.execute(
        "UPDATE child SET postcode = :postcode, town = :town, address_lines = :lines"
        " WHERE identifier = :identifier",
        postcode=neighbour.postcode,
        town=neighbour.town,
        lines=list(neighbour.address_lines),
        identifier=kid.identifier,
    )
    try:
        population.sync()
        after = [_search(app_client, caller, body) for body in probes]
    finally:
        population.execute(
            "UPDATE child SET postcode = :postcode, town = :town, address_lines = :lines"
            " WHERE identifier = :identifier",
            postcode=kid.postcode,
            town=kid.town,
            lines=list(kid.address_lines),
            identifier=kid.identifier,
        )
        population.sync()
    assert after == before


def _shielded_and_moved(population: Population) -> Kid:
    kids = population.unique(
        lambda k: (fold(k.given_names), fold(k.family_name), k.date_of_birth),
        where=lambda k: k.shielded and k.status == "active" and bool(k.previous_postcodes),
    )
    assert kids, "the demo data has shielded children who moved"
    return kids[0]


def test_a_shielded_child_is_never_found_by_an_old_postcode_without_the_right(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded_and_moved(population)
    old = kid.previous_postcodes[0]
    caller = make_caller(population, Role.PRACTITIONER)
    probes = [
        {**_names_dob(kid), "postcode": old},
        {"family_name": kid.family_name, "postcode": old},
        {"given_name": kid.given_names, "family_name": kid.family_name, "postcode": old},
        # The old postcode's sector (another unit in it), which the previous-sector clause finds.
        {**_names_dob(kid), "postcode": f"{old[:-2]}ZZ"},
    ]
    for body in probes:
        answer = _search(app_client, caller, body)
        assert kid.identifier not in {r["identifier"] for r in answer["results"]}, body
    # Found without the location, by what is not location.
    top = _search(app_client, caller, _names_dob(kid))["results"][0]
    assert top["identifier"] == kid.identifier and top["location_withheld"]


def test_the_manager_of_its_authority_finds_a_shielded_child_by_its_old_postcode(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded_and_moved(population)
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    body = {**_names_dob(kid), "postcode": kid.previous_postcodes[0]}
    top = _search(app_client, manager, body)["results"][0]
    assert top["identifier"] == kid.identifier
    assert top["matched"]["postcode"] == "previous"


def test_a_shield_applied_through_the_api_reaches_the_index_and_hides_the_child(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = population.unique(
        lambda k: (fold(k.given_names), fold(k.family_name), k.date_of_birth),
        where=lambda k: not k.shielded and k.status == "active",
    )[7]
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    other = new_authority(population.engine)
    outsider = make_caller(population, Role.LA_MANAGER, authorities=(other,))
    caller = make_caller(population, Role.PRACTITIONER)
    body = {**_names_dob(kid), "postcode": kid.postcode}
    path = f"/v1/children/{kid.identifier}/shield"
    reason = {"reason": "Risk of harm from a relative"}
    assert app_client.post(path, json=reason, headers=outsider.headers).status_code == 403
    assert app_client.post(path, json=reason, headers=manager.headers).status_code == 200
    assert app_client.post(path, json=reason, headers=manager.headers).status_code == 409
    population.sync()
    assert kid.identifier not in {
        r["identifier"] for r in _search(app_client, caller, body)["results"]
    }
    removed = app_client.request(
        "DELETE", path, json={"reason": "Risk has passed"}, headers=manager.headers
    )
    assert removed.status_code == 200
    population.sync()
    assert _search(app_client, caller, body)["results"][0]["identifier"] == kid.identifier


def test_a_search_answers_503_with_retry_after_when_elasticsearch_is_unreachable(
    population: Population,
    app_client: TestClient,
) -> None:
    from elasticsearch import Elasticsearch

    kid = _shielded(population)
    caller = make_caller(population, Role.PRACTITIONER)
    app = app_client.app
    live = app.state.es  # type: ignore[attr-defined]
    # Nothing listens on port 9 of the loopback: every request fails to connect.
    app.state.es = Elasticsearch("http://127.0.0.1:9", max_retries=0)  # type: ignore[attr-defined]
    try:
        response = app_client.post("/v1/search", json=_names_dob(kid), headers=caller.headers)
    finally:
        app.state.es.close()  # type: ignore[attr-defined]
        app.state.es = live  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.json()
    assert body["message"].startswith("Search is unavailable")
    assert body["request_id"]
