"""National feeds imported end to end on the real servers: linked by identifiers and by the match
engine, children created, twins kept apart, shielded children's duplicates held, re-imports
idempotent, provenance and survivorship recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from contactpoint.cli import app
from db.access import Role
from feeds import Source
from feeds.importer import ImportResult
from feeds.linking import Outcome, blocking_body, retrieval_body
from feeds.records import FeedAddress, FeedRecord
from mappings.normalise import family_name_keys
from tests.integration.feeds_support import (
    CENSUS_HEADER,
    census_row,
    import_file,
    rows,
    shielded_kid,
)
from tests.integration.search_support import Population, build_population

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "feeds" / "samples"


@pytest.fixture(scope="module")
def population(
    engine: Any, elasticsearch_ready: None, settings: Any, tmp_path_factory: Any
) -> Iterator[Population]:
    yield from build_population(
        engine=engine,
        settings=settings,
        tmp_path_factory=tmp_path_factory,
        children=2_000,
        seed=31,
    )


def _child(population: Population, identifier: str) -> Any:
    (row,) = rows(
        population,
        "SELECT identifier, given_names, family_name, postcode, status, gender,"
        " (SELECT code FROM organisation o WHERE o.id = c.gp_practice_id) AS gp,"
        " (SELECT code FROM organisation o WHERE o.id = c.education_setting_id) AS school"
        " FROM child c WHERE identifier = :identifier",
        identifier=identifier,
    )
    return row


def _outcomes(result: ImportResult) -> list[tuple[str, Outcome]]:
    return [(record_id, outcome) for _, record_id, outcome, _ in result.decisions]


@pytest.fixture(scope="module")
def samples(population: Population) -> dict[Source, ImportResult]:
    """The four sample feeds, in the order a new child meets them."""
    order = [
        (Source.BIRTHS, "births.csv"),
        (Source.SCHOOL_CENSUS, "school-census.csv"),
        (Source.HEALTH, "health.jsonl"),
        (Source.CHILD_BENEFIT, "child-benefit.csv"),
    ]
    return {source: import_file(population, source, SAMPLES / name) for source, name in order}


def test_births_create_one_child_per_entry_and_twins_stay_two(
    samples: dict[Source, ImportResult], population: Population
) -> None:
    births = samples[Source.BIRTHS]
    assert not births.rejected
    # Amelia's re-registration (version 2) is the same entry: the same child, renamed.
    assert _outcomes(births) == [
        ("E08000035/2019/1042", Outcome.CREATED),
        ("E08000035/2026/0311", Outcome.CREATED),
        ("E08000035/2026/0312", Outcome.CREATED),
        ("E08000035/2019/1042", Outcome.LINKED),
    ]
    amelia, oscar, ruby, again = (identifier for *_, identifier in births.decisions)
    assert amelia == again and len({amelia, oscar, ruby}) == 3
    assert _child(population, amelia).family_name == "Hart-Mensah"


def test_later_feeds_link_to_the_children_the_births_made(
    samples: dict[Source, ImportResult], population: Population
) -> None:
    births = {rid: ident for _, rid, _, ident in samples[Source.BIRTHS].decisions}
    amelia, oscar = births["E08000035/2019/1042"], births["E08000035/2026/0311"]
    census = {rid: (o, i) for _, rid, o, i in samples[Source.SCHOOL_CENSUS].decisions}
    assert census["107992/P800012326001"] == (Outcome.LINKED, amelia)
    # Daniel was never registered here: a new child.
    assert census["108011/F201012326001"][0] is Outcome.CREATED
    health = {rid: (o, i) for _, rid, o, i in samples[Source.HEALTH].decisions}
    assert health["9434765013"] == (Outcome.LINKED, amelia)
    assert health["9434765021"] == (Outcome.LINKED, oscar)
    daniel = census["108011/F201012326001"][1]
    assert health["9434765048"] == (Outcome.LINKED, daniel)
    benefit = {rid: (o, i) for _, rid, o, i in samples[Source.CHILD_BENEFIT].decisions}
    assert benefit["CHB12345678AB/1"] == (Outcome.LINKED, amelia)
    assert benefit["CHB87654321CD/1"] == (Outcome.LINKED, oscar)
    ruby = births["E08000035/2026/0312"]
    assert benefit["CHB87654321CD/2"] == (Outcome.LINKED, ruby)


def test_each_field_comes_from_the_source_trusted_for_it(
    samples: dict[Source, ImportResult], population: Population
) -> None:
    amelia = {rid: ident for _, rid, _, ident in samples[Source.BIRTHS].decisions}[
        "E08000035/2019/1042"
    ]
    child = _child(population, amelia)
    # The school from the census, the GP practice from health, the newest address (benefit's,
    # since November) over the October census's and health's (since 2019).
    assert (child.school, child.gp, child.postcode) == ("107992", "B86016", "LS16 5JX")
    sources = dict(
        rows(
            population,
            "SELECT s.field, s.source FROM child_field_source s JOIN child c ON c.id = s.child_id"
            " WHERE c.identifier = :identifier",
            identifier=amelia,
        )
    )
    assert sources == {
        "name": "births",
        "gender": "births",
        "address": "child-benefit",
        "education_setting": "school-census",
        "gp_practice": "health",
    }
    identifiers = dict(
        rows(
            population,
            "SELECT s.kind, s.value FROM child_source_identifier s JOIN child c"
            " ON c.id = s.child_id WHERE c.identifier = :identifier",
            identifier=amelia,
        )
    )
    assert identifiers == {
        "birth_entry": "E08000035/2019/1042",
        "upn": "P800012326001",
        "nhs_number": "9434765013",
        "benefit_child": "CHB12345678AB/1",
    }


def test_a_death_archives_the_child_and_it_leaves_search(
    samples: dict[Source, ImportResult], population: Population
) -> None:
    health = {rid: ident for _, rid, _, ident in samples[Source.HEALTH].decisions}
    daniel = health["9434765048"]
    assert daniel is not None and _child(population, daniel).status == "archived"
    document = population.es.get(index=population.settings.index_alias, id=daniel)
    assert document["_source"]["status"] == "archived"


def test_importing_a_feed_again_changes_nothing(
    samples: dict[Source, ImportResult], population: Population
) -> None:
    before = rows(population, "SELECT identifier, record_version FROM child ORDER BY 1")
    for source, name in ((Source.BIRTHS, "births.csv"), (Source.HEALTH, "health.jsonl")):
        again = import_file(population, source, SAMPLES / name)
        assert again.counts[Outcome.UNCHANGED] == len(again.decisions) > 0
    assert rows(population, "SELECT identifier, record_version FROM child ORDER BY 1") == before


def test_a_newer_version_of_a_linked_record_updates_the_same_child(
    samples: dict[Source, ImportResult], population: Population, tmp_path: Path
) -> None:
    line = json.loads((SAMPLES / "health.jsonl").read_text().splitlines()[1])
    line["meta"] = {"versionId": "2", "lastUpdated": "2026-11-30T10:00:00+00:00"}
    line["address"] = [
        {
            "use": "home",
            "line": ["9 Ash Grove"],
            "city": "Leeds",
            "postalCode": "LS6 1BX",
            "period": {"start": "2026-11-29"},
        }
    ]
    path = tmp_path / "health.jsonl"
    path.write_text(json.dumps(line) + "\n")
    result = import_file(population, Source.HEALTH, path)
    oscar = {rid: ident for _, rid, _, ident in samples[Source.HEALTH].decisions}["9434765021"]
    assert _outcomes(result) == [("9434765021", Outcome.LINKED)]
    assert result.decisions[0][3] == oscar
    assert _child(population, oscar).postcode == "LS6 1BX"


def test_a_record_that_may_be_a_shielded_child_is_held_for_its_authority_never_created(
    population: Population, tmp_path: Path
) -> None:
    kid = shielded_kid(population)
    children = rows(population, "SELECT count(*) FROM child")[0][0]
    # Its name and date of birth, at another address: a likely duplicate of the shielded child.
    path = tmp_path / "census.csv"
    path.write_text(CENSUS_HEADER + census_row(kid, "T213012326001", postcode="ZE1 0AA"))
    result = import_file(population, Source.SCHOOL_CENSUS, path)
    assert not result.rejected, result.rejected
    assert _outcomes(result) == [("100001/T213012326001", Outcome.HELD)]
    assert rows(population, "SELECT count(*) FROM child")[0][0] == children
    ((kind, authority, candidates),) = rows(
        population,
        "SELECT r.kind, r.local_authority_code, r.candidates FROM feed_review r"
        " JOIN feed_record f ON f.id = r.feed_record_id WHERE f.record_id = :rid",
        rid="100001/T213012326001",
    )
    assert (kind, authority) == ("shield_hold", kid.authority)
    assert candidates[0]["identifier"] == kid.identifier and candidates[0]["shielded"]
    # Not linked either: the shielded child's record is as it was.
    assert not rows(
        population,
        "SELECT 1 FROM child_source_identifier WHERE value = 'T213012326001'",
    )


def test_the_import_command_prints_its_counts_and_exits_1_on_a_rejected_line(
    population: Population, tmp_path: Path
) -> None:
    path = tmp_path / "births.csv"
    path.write_text(
        (SAMPLES / "births.csv").read_text()
        + "E08000035/2026/0999,1,2026-11-20,Zo3,Nowak,F,2026-11-09,,,,\n"
    )
    result = CliRunner().invoke(
        app, ["feed", "import", "--source", "births", "--no-progress", str(path)]
    )
    assert result.exit_code == 1, result.output
    assert "line 6: forenames:" in result.output
    assert "5 lines: 0 linked, 0 created, 0 sent to review, 0 held for a shield, 4 unchanged" in (
        result.output
    )
    unknown = CliRunner().invoke(app, ["feed", "import", "--source", "gro", str(path)])
    assert unknown.exit_code == 1 and "choose one of births" in unknown.output


def test_the_managers_of_its_authority_see_which_feed_set_a_field_and_nobody_else_does(
    population: Population, tmp_path: Path
) -> None:
    from tests.integration.access_support import build_client, fast_settings, new_authority
    from tests.integration.pages_support import HTML, new_username, sign_in
    from tests.integration.search_support import make_caller

    kid = next(
        k
        for k in population.unique(
            lambda k: (k.given_names, k.family_name, k.date_of_birth),
            where=lambda k: not k.shielded and k.status == "active" and k.authority,
        )
    )
    # The authority's record has no GP practice: health fills it.
    population.execute(
        "UPDATE child SET gp_practice_id = NULL WHERE identifier = :i", i=kid.identifier
    )
    resource = {
        "resourceType": "Patient",
        "meta": {"versionId": "1", "lastUpdated": "2026-11-20T08:00:00+00:00"},
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765056"}],
        "name": [{"use": "usual", "family": kid.family_name, "given": kid.given_names.split()}],
        "gender": kid.gender,
        "birthDate": kid.date_of_birth.isoformat(),
        "address": [
            {
                "use": "home",
                "line": list(kid.address_lines),
                "city": kid.town,
                "postalCode": kid.postcode,
            }
        ],
        "generalPractitioner": [
            {
                "identifier": {
                    "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                    "value": "B86099",
                },
                "display": "Ash Grove Surgery",
            }
        ],
    }
    path = tmp_path / "health.jsonl"
    path.write_text(json.dumps(resource) + "\n")
    result = import_file(population, Source.HEALTH, path)
    assert _outcomes(result) == [("9434765056", Outcome.LINKED)]
    assert result.decisions[0][3] == kid.identifier
    assert _child(population, kid.identifier).gp == "B86099"

    _, client = build_client(fast_settings(population.settings))
    with client:
        record = f"/v1/children/{kid.identifier}"
        manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
        sources = client.get(record, headers=manager.headers).json()["field_sources"]
        assert sources == [
            {
                "field": "gp_practice",
                "source": "health",
                "record_id": "9434765056",
                "as_of": "2026-11-20",
            }
        ]
        others = [
            make_caller(population, Role.PRACTITIONER),
            make_caller(
                population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
            ),
        ]
        for caller in others:
            answer = client.get(record, headers=caller.headers)
            assert answer.status_code == 200 and answer.json()["field_sources"] is None
        sign_in(
            client,
            population,
            new_username(population, Role.LA_MANAGER, authorities=(kid.authority,)),
        )
        page = client.get(f"/children/{kid.identifier}", headers=HTML)
        assert page.status_code == 200
        assert "Where these details came from" in page.text and "9434765056" in page.text
        sign_in(client, population, new_username(population, Role.PRACTITIONER))
        page = client.get(f"/children/{kid.identifier}", headers=HTML)
        assert page.status_code == 200 and "Where these details came from" not in page.text


def _found(population: Population, body: dict[str, Any] | None) -> set[str]:
    assert body is not None
    body = {**body, "_source": body["source"]}
    del body["source"]
    answer = population.es.search(index=population.settings.index_alias, **body)
    return {hit["_source"]["identifier"] for hit in answer["hits"]["hits"]}


def test_the_blocking_pass_finds_a_child_by_the_keys_of_two_fields_and_the_broad_one_by_less(
    population: Population,
) -> None:
    def misspelt(name: str) -> str:
        return "Zw" + name[2:]

    def sounds(name: str) -> set[str]:
        return set(family_name_keys(name).phonetic)

    kid = next(
        k
        for k in population.kids
        if k.status == "active"
        and 3 <= k.date_of_birth.day <= 9
        and len(k.family_name) >= 6
        and not k.other_family_names
        and not sounds(k.family_name) & sounds(misspelt(k.family_name))
    )
    other = FeedAddress(lines=("1 Elsewhere Road",), town="Elsewhere", postcode="ZE2 9XX")
    record = FeedRecord(
        source=Source.SCHOOL_CENSUS,
        record_id="blocking/1",
        version=1,
        as_of=date(2026, 10, 1),
        given_names=kid.given_names,
        family_name=kid.family_name,
        # Day and month exchanged, and living elsewhere now: names and date of birth agree.
        date_of_birth=date(kid.date_of_birth.year, kid.date_of_birth.day, kid.date_of_birth.month),
        address=other,
    )
    assert kid.identifier in _found(population, blocking_body(record))
    # A family name misspelt past its phonetic key, and a digit of the date of birth wrong:
    # only the given name's keys agree, so the blocking pass leaves the child to the broad one.
    typed = replace(
        record,
        family_name=misspelt(kid.family_name),
        date_of_birth=kid.date_of_birth + timedelta(days=10),
        address=FeedAddress(lines=kid.address_lines, town=kid.town, postcode="ZE2 9XX"),
    )
    assert kid.identifier not in _found(population, blocking_body(typed))
    assert kid.identifier in _found(population, retrieval_body(replace(typed, address=None)))
    # One field alone is not enough for a blocking query.
    assert blocking_body(replace(record, given_names="", family_name="", address=None)) is None
