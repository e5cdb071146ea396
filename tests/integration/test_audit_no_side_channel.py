"""The audit is never a side channel: every shielded child, through every audit reader.

A population with shielded children in several authorities and ordinary children of other
authorities moved beside them (same postcode, same family name), so that one search lists
children of two authorities, as in issue 11. Managers and practitioners of those authorities
search by postcode, address and name, view, break the glass and shield. Then each reader reads
the audit through the API, the page, the misuse report and the export, and no location of a
shielded child that the reader may not see appears in any answer, while a reader who may see it
does.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from contactpoint.cli_access import audit_app
from contactpoint.settings import Settings
from db.access import Role
from mappings.normalise import fold
from tests.integration.access_support import build_client, fast_settings
from tests.integration.search_support import (
    Caller,
    Kid,
    Population,
    build_population,
    make_caller,
    read_kids,
)

pytestmark = pytest.mark.integration

CHILDREN = 4_000
SEED = 23
HTML = {"Accept": "text/html,application/xhtml+xml"}
_ROW = re.compile(r'<tr class="govuk-table__row" id="event-(\d+)">(.*?)</tr>', re.S)


@pytest.fixture(scope="module")
def population(
    engine: Engine, elasticsearch_ready: None, settings: Settings, tmp_path_factory: Any
) -> Iterator[Population]:
    """A few thousand demo children in PostgreSQL and behind the alias."""
    yield from build_population(
        engine=engine,
        settings=settings,
        tmp_path_factory=tmp_path_factory,
        children=CHILDREN,
        seed=SEED,
    )


@dataclass
class Reader:
    """Someone who may read the audit, and the authorities whose shielded children they manage."""

    caller: Caller
    national: bool = False
    managed: frozenset[str] = frozenset()

    def may_see(self, kid: Kid) -> bool:
        return self.national or not kid.shielded or kid.authority in self.managed


@dataclass
class World:
    """The children, the people and the audit rows the walk made."""

    kids: dict[str, Kid]
    actors: list[Caller]
    readers: dict[str, Reader]
    practitioner: Caller
    targets: list[Kid]
    # Rows the walk expects to show a location to some readers: request id -> the child.
    located_requests: dict[str, Kid] = field(default_factory=dict)


def _locations(kid: Kid) -> set[str]:
    return {kid.postcode, *kid.address_lines}


def _pick_targets(population: Population) -> list[Kid]:
    """One findable shielded child in each of three authorities."""
    kids = population.unique(
        lambda k: (fold(k.given_names), fold(k.family_name), k.date_of_birth),
        where=lambda k: k.shielded and k.status == "active",
    )
    by_authority: dict[str, Kid] = {}
    for kid in kids:
        by_authority.setdefault(kid.authority, kid)
    assert len(by_authority) >= 3, "the demo data needs shielded children in 3 authorities"
    return [by_authority[code] for code in sorted(by_authority)[:3]]


def _neighbour(population: Population, target: Kid, authority: str, n: int) -> None:
    """Move an ordinary child of `authority` next door to `target`, with its family name."""
    ordinary = [
        kid
        for kid in population.kids
        if kid.authority == authority and not kid.shielded and kid.status == "active"
    ]
    kid = ordinary[n]
    population.execute(
        "UPDATE child SET family_name = :family, postcode = :postcode, town = :town,"
        " address_lines = CAST(:lines AS text[]) WHERE identifier = :identifier",
        family=target.family_name,
        postcode=target.postcode,
        town=target.town,
        lines=[f"{900 + n} Other Road"],
        identifier=kid.identifier,
    )


def _search(client: TestClient, caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/search", json={**body, "limit": 50}, headers=caller.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture(scope="module")
def app_client(population: Population) -> Iterator[TestClient]:
    _, client = build_client(fast_settings(population.settings))
    with client:
        yield client


@pytest.fixture(scope="module")
def world(population: Population, app_client: TestClient) -> World:
    """The walk's audit: searches, views, break-glass and shield changes by several people."""
    targets = _pick_targets(population)
    codes = [kid.authority for kid in targets]
    # Each target gets a neighbour from the next authority, so one search lists both.
    for index, target in enumerate(targets):
        _neighbour(population, target, codes[(index + 1) % len(codes)], index)
    population.sync()
    population.kids = read_kids(population.engine)
    managers = [make_caller(population, Role.LA_MANAGER, authorities=(code,)) for code in codes]
    practitioners = [
        make_caller(population, Role.PRACTITIONER, authorities=(code,)) for code in codes
    ]
    protector = make_caller(
        population, Role.PRACTITIONER, authorities=(codes[1],), child_protection=True
    )
    world = World(
        kids={kid.identifier: kid for kid in population.kids},
        actors=[*managers, *practitioners, protector],
        readers={
            "auditor": Reader(make_caller(population, Role.AUDITOR), national=True),
            **{
                f"manager-{code}": Reader(
                    make_caller(population, Role.LA_MANAGER, authorities=(code,)),
                    managed=frozenset({code}),
                )
                for code in codes
            },
        },
        practitioner=practitioners[0],
        targets=targets,
    )
    client = app_client
    for index, target in enumerate(targets):
        manager = managers[index]
        name_dob = {
            "given_name": target.given_names,
            "family_name": target.family_name,
            "date_of_birth": target.date_of_birth.isoformat(),
        }
        address = f"{target.address_lines[0]} {target.town}"
        # The target's manager finds it by location, beside the other authority's child.
        for body in (
            {"family_name": target.family_name, "postcode": target.postcode},
            {**name_dob, "address": address},
            {**name_dob, "postcode": target.postcode, "address": address},
        ):
            answer = _search(client, manager, body)
            shown = {result["identifier"] for result in answer["results"]}
            assert target.identifier in shown
            world.located_requests[answer["request_id"]] = target
        # The other authorities' people search by name and by the shared postcode.
        for other in (*managers, *practitioners, protector):
            if other is manager:
                continue
            _search(client, other, name_dob)
            _search(client, other, {"family_name": target.family_name, "postcode": target.postcode})
        # Views: the manager's (located), another manager's (withheld), and a break-glass.
        for viewer in (manager, managers[(index + 1) % len(managers)], practitioners[index]):
            viewed = client.get(f"/v1/children/{target.identifier}", headers=viewer.headers)
            assert viewed.status_code == 200, viewed.text
        glass = client.post(
            f"/v1/children/{target.identifier}/break-glass",
            json={"reason": f"Visit to {target.address_lines[0]}, {target.postcode}"},
            headers=protector.headers,
        )
        assert glass.status_code == 200, glass.text
        # Shield changes whose free-text reasons name the place.
        reason = {"reason": f"Moved from {target.address_lines[0]} {target.postcode}"}
        path = f"/v1/children/{target.identifier}/shield"
        removed = client.request("DELETE", path, json=reason, headers=manager.headers)
        assert removed.status_code == 200, removed.text
        applied = client.post(path, json=reason, headers=manager.headers)
        assert applied.status_code == 200, applied.text
    return world


def _hidden(world: World, reader: Reader) -> list[Kid]:
    """The shielded children of the population whose location `reader` may not see."""
    return [kid for kid in world.kids.values() if not reader.may_see(kid)]


def _concerned(event: dict[str, Any], world: World) -> set[str]:
    """The population's children an audit row (as the database holds it) names."""
    details = event.get("details") or {}
    named = {event.get("subject"), details.get("identifier"), *details.get("identifiers_shown", [])}
    return {identifier for identifier in named if identifier in world.kids}


def _assert_row_hides(text: str, hidden: list[Kid], *, where: str) -> None:
    for kid in hidden:
        for location in _locations(kid):
            assert location not in text, f"{where} shows {location!r} of {kid.identifier}"


def _full_rows(client: TestClient, world: World) -> dict[int, dict[str, Any]]:
    """Every row of the walk's actors, as the national auditor reads them."""
    auditor = world.readers["auditor"].caller
    rows: dict[int, dict[str, Any]] = {}
    for actor in world.actors:
        answer = client.get(
            "/v1/audit", params={"user": actor.username, "limit": 500}, headers=auditor.headers
        )
        assert answer.status_code == 200, answer.text
        rows.update({event["id"]: event for event in answer.json()["events"]})
    return rows


def test_no_audit_reader_sees_a_location_of_a_shielded_child_it_may_not_see(
    app_client: TestClient, world: World
) -> None:
    client = app_client
    full = _full_rows(client, world)
    for name, reader in world.readers.items():
        hidden = _hidden(world, reader)
        hidden_by_id = {kid.identifier: kid for kid in hidden}
        seen_rows = 0
        whole_page: list[str] = []
        whole_api: list[str] = []
        for actor in world.actors:
            params = {"user": actor.username, "limit": 500}
            api = client.get("/v1/audit", params=params, headers=reader.caller.headers)
            assert api.status_code == 200, api.text
            whole_api.append(api.text)
            for event in api.json()["events"]:
                seen_rows += 1
                concerned = _concerned(full[event["id"]], world) & set(hidden_by_id)
                text = json.dumps(event)
                _assert_row_hides(
                    text, [hidden_by_id[i] for i in concerned], where=f"{name} API row"
                )
                if concerned and event["redacted"]:
                    assert event["redaction_reason"].startswith("withheld: the row concerns")
            client.cookies.set("cp_session", reader.caller.headers["Authorization"][7:])
            page = client.get("/audit", params={"user": actor.username}, headers=HTML)
            client.cookies.clear()
            assert page.status_code == 200, page.text
            for row_id, cells in _ROW.findall(page.text):
                concerned = _concerned(full[int(row_id)], world) & set(hidden_by_id)
                text = html.unescape(cells)
                _assert_row_hides(
                    text, [hidden_by_id[i] for i in concerned], where=f"{name} page row"
                )
                located = [hidden_by_id[i] for i in concerned]
                if any(
                    place in json.dumps(full[int(row_id)])
                    for k in located
                    for place in _locations(k)
                ):
                    assert "withheld: the row concerns a shielded child" in text
                whole_page.append(text)
        assert seen_rows, f"{name} read no row of the walk"
        # Whatever the row: a place only hidden children live at never appears at all.
        seen = {
            place for kid in world.kids.values() if reader.may_see(kid) for place in _locations(kid)
        }
        secret = {place for kid in hidden for place in _locations(kid)} - seen
        for text in whole_api + whole_page:
            assert not [place for place in secret if place in text], name


def test_a_manager_sees_the_rows_that_mix_their_authoritys_child_with_a_hidden_one_redacted(
    app_client: TestClient, world: World
) -> None:
    # The finding of issue 11: the neighbour of the next authority makes the row visible.
    for index, target in enumerate(world.targets):
        codes = [kid.authority for kid in world.targets]
        neighbours = world.readers[f"manager-{codes[(index + 1) % len(codes)]}"]
        owner = world.readers[f"manager-{target.authority}"]
        requests = [rid for rid, kid in world.located_requests.items() if kid is target]
        for request_id in requests:
            theirs = app_client.get(
                "/v1/audit", params={"request_id": request_id}, headers=neighbours.caller.headers
            ).json()["events"]
            mine = app_client.get(
                "/v1/audit", params={"request_id": request_id}, headers=owner.caller.headers
            ).json()["events"]
            auditor = world.readers["auditor"].caller
            national = app_client.get(
                "/v1/audit", params={"request_id": request_id}, headers=auditor.headers
            ).json()["events"]
            # The owner and the auditor see the postcode or the address they searched by.
            for events in (mine, national):
                assert len(events) == 1 and not events[0]["redacted"]
                assert any(place in json.dumps(events) for place in _locations(target))
            for event in theirs:
                assert "criteria.postcode" in event["redacted"] or (
                    "criteria.address" in event["redacted"]
                )
                assert not any(place in json.dumps(event) for place in _locations(target))
        visible = [
            rid
            for rid in requests
            if app_client.get(
                "/v1/audit", params={"request_id": rid}, headers=neighbours.caller.headers
            ).json()["events"]
        ]
        # The first search lists the neighbour beside the target: the row of the finding.
        assert visible, "no search listed the neighbour beside the shielded child"


def test_the_misuse_report_names_no_location_and_is_refused_to_managers_and_practitioners(
    app_client: TestClient, world: World
) -> None:
    auditor = world.readers["auditor"].caller
    every = [place for kid in world.kids.values() if kid.shielded for place in _locations(kid)]
    report = app_client.get("/v1/audit/report", headers=auditor.headers)
    assert report.status_code == 200, report.text
    flagged = report.json()["sensitive_views"]
    assert {target.identifier for target in world.targets} <= {
        identifier for flag in flagged for identifier in flag["identifiers"]
    }
    app_client.cookies.set("cp_session", auditor.headers["Authorization"][7:])
    page = app_client.get("/audit/misuse", headers=HTML)
    app_client.cookies.clear()
    assert page.status_code == 200
    for text in (report.text, html.unescape(page.text)):
        assert not [place for place in every if place in text]
    refused = [world.practitioner, *(r.caller for r in world.readers.values() if not r.national)]
    for caller in refused:
        assert app_client.get("/v1/audit/report", headers=caller.headers).status_code == 403
    for path in ("/v1/audit", "/v1/audit/report"):
        assert app_client.get(path, headers=world.practitioner.headers).status_code == 403


def test_the_export_is_national_and_whole(world: World) -> None:
    today = datetime.now(UTC).date().isoformat()
    result = CliRunner().invoke(audit_app, ["export", "--from", today, "--to", today])
    assert result.exit_code == 0, result.output
    actors = {actor.username for actor in world.actors}
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    ours = [row for row in rows if row["username"] in actors]
    assert ours and not any(row["redacted"] for row in ours)
    for request_id, target in world.located_requests.items():
        (row,) = [row for row in ours if row["request_id"] == request_id]
        assert any(place in json.dumps(row) for place in _locations(target))


def test_a_manager_reads_only_their_authoritys_users_rows_and_rows_about_its_children(
    app_client: TestClient, world: World
) -> None:
    for name, reader in world.readers.items():
        if reader.national:
            continue
        for actor in world.actors:
            answer = app_client.get(
                "/v1/audit",
                params={"user": actor.username, "limit": 500},
                headers=reader.caller.headers,
            )
            for event in answer.json()["events"]:
                children = {world.kids[i].authority for i in _concerned(event, world)}
                assert set(event["authorities"]) & reader.managed, name
                assert (set(event["authorities"]) | children) & reader.managed, name
                if event["event"] in {"shield_applied", "shield_removed"}:
                    # A shield change names only the child's authority and the actor's.
                    assert world.kids[event["subject"]].authority in reader.managed, name
    app_client.cookies.set("cp_session", world.practitioner.headers["Authorization"][7:])
    refused = app_client.get("/audit", headers=HTML)
    app_client.cookies.clear()
    assert refused.status_code == 403
