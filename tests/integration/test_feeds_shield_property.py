"""Shields no duplicate can escape: random sequences of feed records, many of them imperfect
copies of shielded children, imported on the real servers; after every step no shielded child's
location is findable by a practitioner without the right, and no child created from a feed is a
shielded child's unshielded duplicate."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from db.access import Role
from feeds import Source
from feeds.demo import nhs_number
from feeds.sources import CSV_ROWS
from tests.integration.access_support import build_client, new_authority
from tests.integration.conftest import fast_settings
from tests.integration.feeds_support import TODAY, import_file
from tests.integration.search_support import Caller, Kid, Population, build_population, make_caller

pytestmark = pytest.mark.integration

POSTCODES = ("LS6 2AB", "M1 1AE", "B28 6JU", "ZE1 0AA", "EX4 4QJ")


@pytest.fixture(scope="module")
def population(
    engine: Any, elasticsearch_ready: None, settings: Any, tmp_path_factory: Any
) -> Iterator[Population]:
    yield from build_population(
        engine=engine,
        settings=settings,
        tmp_path_factory=tmp_path_factory,
        children=1_500,
        seed=41,
    )


@pytest.fixture(scope="module")
def client(population: Population) -> Iterator[TestClient]:
    _, app_client = build_client(fast_settings(population.settings))
    with app_client:
        yield app_client


@pytest.fixture(scope="module")
def practitioner(population: Population) -> Caller:
    return make_caller(population, Role.PRACTITIONER)


@pytest.fixture(scope="module")
def shielded(population: Population) -> list[Kid]:
    kids = [kid for kid in population.kids if kid.shielded and kid.status == "active"]
    assert len(kids) >= 3, "the demo population should hold shielded children"
    return kids[:6]


def _typo(name: str, position: int) -> str:
    position = 1 + position % max(len(name) - 2, 1)
    return name[:position] + ("x" if name[position] != "x" else "y") + name[position + 1 :]


# One record: which shielded child it copies, from which source, and what it changes.
STEP = st.tuples(
    st.integers(0, 5),
    st.sampled_from([Source.SCHOOL_CENSUS, Source.CHILD_BENEFIT, Source.HEALTH, Source.BIRTHS]),
    # At most two differences: a record that differs in more (a new surname, a new address and
    # another date) is no longer recognisably the child, for the engine or for a person.
    st.sets(st.sampled_from(["typo", "moved", "day", "nickname", "surname"]), max_size=2),
    st.integers(0, 10_000),
)


def _values(kid: Kid, changes: set[str], salt: int) -> dict[str, Any]:
    given = kid.given_names.split()[0]
    family = kid.family_name
    born = kid.date_of_birth
    postcode = kid.postcode
    if "typo" in changes and len(family) > 3:
        family = _typo(family, salt)
    if "surname" in changes:
        family = "Kowalczyk"
    if "nickname" in changes:
        given = given[:3] if len(given) > 4 else given
    if "day" in changes:
        born = born + timedelta(days=1 + salt % 3)
    if "moved" in changes:
        postcode = POSTCODES[salt % len(POSTCODES)]
    return {"given": given, "family": family, "born": born, "postcode": postcode}


def _csv(source: Source, row: dict[str, str]) -> str:
    columns = CSV_ROWS[source].columns
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerow({column: row.get(column, "") for column in columns})
    return buffer.getvalue()


def _feed(source: Source, kid: Kid, values: dict[str, Any], salt: int) -> str:
    born, sex = values["born"].isoformat(), kid.gender[0].upper()
    common = {"address_line_1": kid.address_lines[0], "town": kid.town}
    if source is Source.BIRTHS:
        row = {
            "entry": f"E08000035/{values['born'].year}/{90000 + salt}",
            "version": "1",
            "registered_on": min(values["born"] + timedelta(days=20), TODAY).isoformat(),
            "forenames": values["given"],
            "surname": values["family"],
            "sex": sex,
            "date_of_birth": born,
            "postcode": values["postcode"],
            **common,
        }
        return _csv(source, row)
    if source is Source.SCHOOL_CENSUS:
        row = {
            "upn": "T213012326001",
            "school_urn": f"{100000 + salt % 900000}",
            "census_date": "2026-10-01",
            "legal_surname": values["family"],
            "forename": values["given"],
            "gender": sex,
            "date_of_birth": born,
            "postcode": values["postcode"],
            "school_name": "A School",
            **common,
        }
        return _csv(source, row)
    if source is Source.CHILD_BENEFIT:
        row = {
            "claim_reference": f"CHB{salt:08d}ZZ",
            "child_number": "1",
            "version": "1",
            "updated_on": "2026-11-01",
            "child_forenames": values["given"],
            "child_surname": values["family"],
            "child_sex": sex,
            "child_date_of_birth": born,
            "postcode": values["postcode"],
            **common,
        }
        return _csv(source, row)
    number = nhs_number(f"{kid.identifier}-{salt}")
    resource = {
        "resourceType": "Patient",
        "meta": {"versionId": "1", "lastUpdated": "2026-11-20T08:00:00+00:00"},
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": number}],
        "name": [{"use": "usual", "family": values["family"], "given": [values["given"]]}],
        "gender": kid.gender,
        "birthDate": born,
        "address": [
            {
                "use": "home",
                "line": list(kid.address_lines),
                "city": kid.town,
                "postalCode": values["postcode"],
            }
        ],
    }
    return json.dumps(resource) + "\n"


def _findable_by_location(
    client: TestClient, caller: Caller, kid: Kid, postcodes: set[str]
) -> bool:
    for postcode in postcodes:
        for body in (
            {"family_name": kid.family_name, "postcode": postcode},
            {
                "given_name": kid.given_names.split()[0],
                "family_name": kid.family_name,
                "date_of_birth": kid.date_of_birth.isoformat(),
                "postcode": postcode,
            },
            {
                "given_name": kid.given_names.split()[0],
                "date_of_birth": kid.date_of_birth.isoformat(),
                "postcode": postcode,
            },
        ):
            response = client.post("/v1/search", json=body, headers=caller.headers)
            assert response.status_code == 200, response.text
            found = {r["identifier"] for r in response.json()["results"]}
            if kid.identifier in found:
                return True
    return False


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(STEP, min_size=1, max_size=3))
def test_no_feed_sequence_lets_a_shielded_childs_location_out(
    population: Population,
    client: TestClient,
    practitioner: Caller,
    shielded: list[Kid],
    tmp_path_factory: Any,
    steps: list[tuple[int, Source, set[str], int]],
) -> None:
    folder: Path = tmp_path_factory.mktemp("feeds")
    for number, (which, source, changes, salt) in enumerate(steps):
        kid = shielded[which % len(shielded)]
        values = _values(kid, changes, salt)
        path = folder / f"{number}-{source.value}"
        path.write_text(_feed(source, kid, values, salt))
        result = import_file(population, source, path, batch_size=200)
        assert not result.rejected, result.rejected
        # Its own postcodes and any a feed gave it: none finds it for a practitioner.
        with population.engine.connect() as connection:
            now = connection.execute(
                text("SELECT postcode FROM child WHERE identifier = :i"), {"i": kid.identifier}
            ).scalar_one()
            made = connection.execute(
                text(
                    "SELECT c.identifier, c.family_name, c.date_of_birth FROM child c"
                    " JOIN feed_record f ON f.child_id = c.id WHERE f.outcome = 'created'"
                    " AND NOT EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id"
                    " AND s.removed_at IS NULL)"
                )
            ).all()
        assert not _findable_by_location(
            client, practitioner, kid, {kid.postcode, now, values["postcode"]}
        ), (steps, number)
        # Every record here copies a shielded child: none may have made a child of its own.
        assert made == [], (steps, number, made)


@pytest.fixture(scope="module")
def plain(population: Population) -> list[Kid]:
    kids = [
        kid
        for kid in population.kids
        if not kid.shielded and kid.status == "active" and kid.authority
    ]
    return kids[:8]


@pytest.fixture(scope="module")
def data_team(population: Population) -> Caller:
    # A manager of every authority: may merge any two children, and decide any item.
    authorities = tuple(sorted({kid.authority for kid in population.kids if kid.authority}))
    return make_caller(population, Role.LA_MANAGER, authorities=authorities)


@pytest.fixture(scope="module")
def outsider(population: Population) -> Caller:
    # A manager, but of an authority none of these children belongs to.
    return make_caller(population, Role.LA_MANAGER, authorities=(new_authority(population.engine),))


# A step: a feed record copying a shielded child, a merge of a shielded and an unshielded child
# (either way round), an unmerge of an earlier merge, or a held record made a new child.
ACTION = st.one_of(
    st.tuples(st.just("feed"), STEP),
    st.tuples(st.just("merge"), st.tuples(st.integers(0, 5), st.integers(0, 7), st.booleans())),
    st.tuples(st.just("unmerge"), st.integers(0, 10)),
    st.tuples(st.just("new_child"), st.integers(0, 10)),
)


def _shielded_now(population: Population) -> list[tuple[str, str, str, Any, set[str]]]:
    """Every shielded child in force, its name, date of birth and the postcodes that are its
    location: its own, and those of the children merged into it."""
    with population.engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT c.identifier, c.family_name, split_part(c.given_names, ' ', 1),"
                " c.date_of_birth, c.postcode,"
                " ARRAY(SELECT m.postcode FROM child m WHERE m.merged_into_id = c.id)"
                " FROM child c WHERE c.status = 'active' AND EXISTS (SELECT 1 FROM shield s"
                " WHERE s.child_id = c.id AND s.removed_at IS NULL)"
            )
        ).all()
    return [(i, f, g, born, {postcode, *others}) for i, f, g, born, postcode, others in found]


def _apply(
    population: Population,
    client: TestClient,
    data_team: Caller,
    shielded: list[Kid],
    plain: list[Kid],
    folder: Path,
    number: int,
    action: tuple[str, Any],
) -> None:
    kind, value = action
    if kind == "feed":
        which, source, changes, salt = value
        kid = shielded[which % len(shielded)]
        path = folder / f"{number}-{source.value}"
        path.write_text(_feed(source, kid, _values(kid, changes, salt), salt))
        result = import_file(population, source, path, batch_size=200)
        assert not result.rejected, result.rejected
    elif kind == "merge":
        which, other, shielded_survives = value
        pair = (shielded[which % len(shielded)], plain[other % len(plain)])
        survivor, merged = pair if shielded_survives else pair[::-1]
        response = client.post(
            f"/v1/children/{survivor.identifier}/merge",
            json={"merged": merged.identifier, "reason": "Property test: found to be one"},
            headers=data_team.headers,
        )
        # 409 when either is merged into another already.
        assert response.status_code in (200, 409), response.text
    else:
        table = (
            "child_merge WHERE unmerged_at IS NULL"
            if kind == "unmerge"
            else ("feed_review WHERE decided_at IS NULL AND kind = 'shield_hold'")
        )
        with population.engine.connect() as connection:
            ids = connection.execute(text(f"SELECT id FROM {table} ORDER BY id")).scalars().all()
        if not ids:
            return
        chosen = ids[value % len(ids)]
        if kind == "unmerge":
            response = client.post(
                f"/v1/merges/{chosen}/unmerge",
                json={"reason": "Property test: two children after all"},
                headers=data_team.headers,
            )
        else:
            response = client.post(
                f"/v1/feed-reviews/{chosen}/decision",
                json={"decision": "new_child"},
                headers=data_team.headers,
            )
        # 422: a held record without an address cannot be a child of its own.
        assert response.status_code in (200, 422), response.text
    population.sync()


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(ACTION, min_size=1, max_size=4))
def test_no_sequence_of_feeds_merges_unmerges_and_decisions_lets_a_location_out(
    population: Population,
    client: TestClient,
    practitioner: Caller,
    outsider: Caller,
    data_team: Caller,
    shielded: list[Kid],
    plain: list[Kid],
    tmp_path_factory: Any,
    actions: list[tuple[str, Any]],
) -> None:
    folder: Path = tmp_path_factory.mktemp("sequence")
    for number, action in enumerate(actions):
        _apply(population, client, data_team, shielded, plain, folder, number, action)
        for identifier, family, first, born, postcodes in _shielded_now(population):
            for caller in (practitioner, outsider):
                for postcode in postcodes:
                    for body in (
                        {"family_name": family, "postcode": postcode},
                        {
                            "given_name": first,
                            "date_of_birth": born.isoformat(),
                            "postcode": postcode,
                        },
                    ):
                        response = client.post("/v1/search", json=body, headers=caller.headers)
                        assert response.status_code == 200, response.text
                        found = {r["identifier"] for r in response.json()["results"]}
                        assert identifier not in found, (actions, number, identifier, body)
                record = client.get(f"/v1/children/{identifier}", headers=caller.headers)
                assert record.status_code == 200, record.text
                assert record.json()["address"] is None, (actions, number, identifier)
                assert not any(postcode in record.text for postcode in postcodes)
        # Every merged-away identifier answers with its survivor, never with its own record.
        with population.engine.connect() as connection:
            merged = (
                connection.execute(text("SELECT identifier FROM child WHERE status = 'merged'"))
                .scalars()
                .all()
            )
        for identifier in merged:
            moved = client.get(
                f"/v1/children/{identifier}",
                headers=practitioner.headers,
                follow_redirects=False,
            )
            assert moved.status_code == 301, (actions, number, identifier)
            assert "address" not in moved.json()
