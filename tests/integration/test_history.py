"""A child's history end to end: loaded, kept, indexed through the outbox, and searched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from contactpoint.es_client import make_client
from contactpoint.settings import Settings
from db.access import Role
from db.load import load_file
from indexer.reindex import ReindexOptions, reindex
from tests.integration.access_support import build_client, fast_settings
from tests.integration.indexing_support import reset_everything
from tests.integration.load_support import child_line, identifier, write_lines
from tests.integration.search_support import RETRY, WRITER, Caller, Population, make_caller

pytestmark = pytest.mark.integration

CHILDREN = 300
MOVED = 17  # the child who moved and changed name
OLD_POSTCODE = "NR4 7TJ"
FORMER = "Ashworth-Kaye"


def _lines() -> list[dict[str, Any]]:
    lines = [child_line(n, seed=5) for n in range(CHILDREN)]
    moved = lines[MOVED]
    moved["given_names"] = "Wilhelmina Rose"
    moved["family_name"] = "Featherstone"
    moved["address"]["postcode"] = "LS6 2AB"
    moved["other_names"] = [{"family_name": FORMER, "kind": "former"}]
    moved["previous_addresses"] = [
        {
            "postcode": OLD_POSTCODE.lower(),
            "town": "Norwich",
            "from": "2019-01-01",
            "to": "2023-06-30",
        },
        {"postcode": "BS1 4DJ"},
    ]
    for n in range(0, CHILDREN, 10):
        if n != MOVED:
            lines[n]["previous_addresses"] = [{"postcode": f"M{1 + n % 20} 1AA", "town": "Salford"}]
    return lines


@pytest.fixture(scope="module")
def population(
    engine: Engine, elasticsearch_ready: None, settings: Settings, tmp_path_factory: Any
) -> Iterator[Population]:
    """300 children, some with a history, loaded from a file and reindexed."""
    es = make_client(settings, purpose="indexer")
    reset_everything(settings=settings, client=es)
    path = write_lines(tmp_path_factory.mktemp("history") / "children.jsonl", _lines())
    result = load_file(engine=engine, path=path, batch_size=100)
    assert not result.rejected and result.inserted == CHILDREN
    reindex(
        engine=engine,
        client=es,
        alias=settings.index_alias,
        options=ReindexOptions(replicas=0, batch_size=100, threads=1, retry=RETRY),
        writer=WRITER,
    )
    es.indices.refresh(index=settings.index_alias)
    yield Population(engine=engine, settings=settings, es=es, kids=[])
    reset_everything(settings=settings, client=es)
    es.close()


@pytest.fixture(scope="module")
def app_client(population: Population) -> Iterator[TestClient]:
    _, client = build_client(fast_settings(population.settings))
    with client:
        yield client


@pytest.fixture(scope="module")
def practitioner(population: Population) -> Caller:
    return make_caller(population, Role.PRACTITIONER)


def _rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def _search(client: TestClient, caller: Caller, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/v1/search", json=body, headers=caller.headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _document(population: Population, n: int) -> dict[str, Any]:
    source: dict[str, Any] = population.es.get(
        index=population.settings.index_alias, id=identifier(n)
    )["_source"]
    return source


def test_the_history_is_stored_normalised_in_the_order_given(population: Population) -> None:
    child = "(SELECT id FROM child WHERE identifier = :i)"
    names = _rows(
        population.engine,
        f"SELECT position, family_name, given_names, kind FROM other_name WHERE child_id = {child}",
        i=identifier(MOVED),
    )
    assert names == [(0, FORMER, None, "former")]
    addresses = _rows(
        population.engine,
        "SELECT position, postcode, town, from_date::text, to_date::text FROM previous_address"
        f" WHERE child_id = {child} ORDER BY position",
        i=identifier(MOVED),
    )
    assert addresses == [
        (0, OLD_POSTCODE, "Norwich", "2019-01-01", "2023-06-30"),
        (1, "BS1 4DJ", None, None, None),
    ]


def test_the_index_document_holds_the_former_names_and_previous_postcodes(
    population: Population,
) -> None:
    document = _document(population, MOVED)
    assert document["other_family_names_folded"] == ["ashworth kaye"]
    assert "ashworthkaye" in document["other_family_name_tokens"]
    assert document["previous_postcodes"] == [OLD_POSTCODE, "BS1 4DJ"]
    assert document["previous_postcode_sectors"] == ["NR4 7", "BS1 4"]
    assert _document(population, 1)["previous_postcodes"] == []


def test_a_child_is_found_by_its_former_family_name(
    population: Population, app_client: TestClient, practitioner: Caller
) -> None:
    body = {"given_name": "Wilhelmina", "family_name": "Ashworth Kaye"}
    top = _search(app_client, practitioner, body)[0]
    assert top["identifier"] == identifier(MOVED)
    assert top["matched"]["family_name"] == "former"
    assert top["family_name"] == "Featherstone"  # shown as the child is now


def test_a_former_name_that_sounds_alike_finds_the_child_too(
    population: Population, app_client: TestClient, practitioner: Caller
) -> None:
    top = _search(
        app_client, practitioner, {"given_name": "Wilhelmina", "family_name": "Ashwurth-Kay"}
    )
    assert top[0]["identifier"] == identifier(MOVED)
    assert top[0]["matched"]["family_name"] == "former"


def test_a_child_who_moved_is_found_by_an_old_postcode(
    population: Population, app_client: TestClient, practitioner: Caller
) -> None:
    for postcode in (OLD_POSTCODE, "bs14dj"):
        body = {"given_name": "Wilhelmina", "family_name": "Featherstone", "postcode": postcode}
        top = _search(app_client, practitioner, body)[0]
        assert top["identifier"] == identifier(MOVED)
        assert top["matched"]["postcode"] == "previous"
        assert top["town"] == "Leeds"  # where the child lives now


def test_the_match_model_ranks_with_the_old_postcode_at_its_previous_level(
    population: Population, app_client: TestClient, practitioner: Caller
) -> None:
    now = {"given_name": "Wilhelmina", "family_name": "Featherstone", "postcode": "LS6 2AB"}
    current = _search(app_client, practitioner, now)[0]
    old = _search(app_client, practitioner, {**now, "postcode": OLD_POSTCODE})[0]
    assert current["identifier"] == old["identifier"] == identifier(MOVED)
    assert current["comparisons"]["postcode"]["level"] == "exact"
    assert old["comparisons"]["postcode"]["level"] == "previous"
    assert old["comparisons"]["postcode"]["weight"] > 0


def test_a_former_family_name_is_ranked_at_the_former_level(
    population: Population, app_client: TestClient, practitioner: Caller
) -> None:
    body = {"given_name": "Wilhelmina", "family_name": FORMER, "postcode": "LS6 2AB"}
    top = _search(app_client, practitioner, body)[0]
    assert top["identifier"] == identifier(MOVED)
    assert top["comparisons"]["family_name"]["level"] == "former"
    assert top["comparisons"]["family_name"]["weight"] > 0


def test_a_change_to_the_history_reaches_the_index_through_the_outbox(
    population: Population, app_client: TestClient, practitioner: Caller
) -> None:
    n = 3
    version = _document(population, n)["record_version"]
    population.execute(
        "INSERT INTO other_name (child_id, position, family_name)"
        " SELECT id, 0, 'Quennell-Birtwhistle' FROM child WHERE identifier = :i",
        i=identifier(n),
    )
    population.execute(
        "INSERT INTO previous_address (child_id, position, postcode)"
        " SELECT id, 0, 'YO1 7HH' FROM child WHERE identifier = :i",
        i=identifier(n),
    )
    population.sync()
    document = _document(population, n)
    assert document["record_version"] > version
    assert document["other_family_names_folded"] == ["quennell birtwhistle"]
    assert document["previous_postcodes"] == ["YO1 7HH"]
    given = child_line(n, seed=5)["given_names"]
    found = _search(
        app_client, practitioner, {"given_name": given, "family_name": "Quennell-Birtwhistle"}
    )
    assert found[0]["identifier"] == identifier(n)
    population.execute(
        "DELETE FROM previous_address"
        " WHERE child_id = (SELECT id FROM child WHERE identifier = :i)",
        i=identifier(n),
    )
    population.sync()
    assert _document(population, n)["previous_postcodes"] == []


def test_a_line_loaded_again_replaces_the_history_and_an_unchanged_one_writes_nothing(
    population: Population, tmp_path: Path
) -> None:
    lines = _lines()
    version = "SELECT record_version FROM child WHERE identifier = :i"
    before = _rows(population.engine, version, i=identifier(MOVED))
    again = load_file(
        engine=population.engine, path=write_lines(tmp_path / "a.jsonl", lines), batch_size=100
    )
    assert again.unchanged == CHILDREN and again.updated == 0
    assert _rows(population.engine, version, i=identifier(MOVED)) == before
    lines[MOVED]["previous_addresses"] = [{"postcode": "LS6 1AA"}]
    del lines[MOVED]["other_names"]
    changed = load_file(
        engine=population.engine, path=write_lines(tmp_path / "b.jsonl", lines), batch_size=100
    )
    assert changed.updated == 1
    child = "(SELECT id FROM child WHERE identifier = :i)"
    assert _rows(
        population.engine,
        f"SELECT postcode FROM previous_address WHERE child_id = {child}",
        i=identifier(MOVED),
    ) == [("LS6 1AA",)]
    assert _rows(
        population.engine,
        f"SELECT count(*) FROM other_name WHERE child_id = {child}",
        i=identifier(MOVED),
    ) == [(0,)]
    # Put back as the module's other tests expect it.
    load_file(
        engine=population.engine, path=write_lines(tmp_path / "c.jsonl", _lines()), batch_size=100
    )
    population.sync()


def test_a_bad_line_is_rejected_with_the_field_of_its_history(
    population: Population, tmp_path: Path
) -> None:
    line = child_line(CHILDREN + 1, seed=5)
    line["previous_addresses"] = [{"postcode": "LS6 1AA", "from": "2024-02-01", "to": "2023-01-01"}]
    result = load_file(
        engine=population.engine, path=write_lines(tmp_path / "bad.jsonl", [line]), batch_size=100
    )
    assert [(r.field, r.reason) for r in result.rejected] == [
        ("previous_addresses[0].to", "is before from")
    ]


def test_the_database_refuses_a_bad_previous_postcode_and_history_goes_with_its_child(
    population: Population,
) -> None:
    with pytest.raises(IntegrityError, match="ck_previous_address_postcode"):
        population.execute(
            "INSERT INTO previous_address (child_id, position, postcode)"
            " SELECT id, 5, 'XX1' FROM child WHERE identifier = :i",
            i=identifier(9),
        )
    child = _rows(population.engine, "SELECT id FROM child WHERE identifier = :i", i=identifier(20))
    population.execute("DELETE FROM child WHERE identifier = :i", i=identifier(20))
    left = _rows(
        population.engine,
        "SELECT count(*) FROM previous_address WHERE child_id = :id",
        id=child[0][0],
    )
    assert left == [(0,)]
    population.sync()
