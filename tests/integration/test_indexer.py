"""The indexer on the real servers: reindex, outbox sync, failures, concurrency."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import Engine, text

from contactpoint.es_client import make_client
from contactpoint.services import down, up
from contactpoint.settings import Settings
from indexer.bulk import BulkOutcome, write_once
from indexer.indices import alias_state
from indexer.outbox import queue_status, requeue_dead_letters
from indexer.reindex import ReindexError, ReindexOptions, reindex, rollback
from indexer.retry import RetryPolicy
from indexer.sync import Writer, drain, process_batch, retrying_writer, run_forever
from tests.integration.indexing_support import (
    database_versions,
    indexed_versions,
    load_demo,
    outbox_depth,
    reset_everything,
)

pytestmark = pytest.mark.integration

RETRY = RetryPolicy(attempts=3, max_wait_s=0.5)
WRITER = retrying_writer(RETRY)


@pytest.fixture()
def client(elasticsearch_ready: None, settings: Settings) -> Iterator[Elasticsearch]:
    es = make_client(settings, purpose="indexer")
    yield es
    es.close()


@pytest.fixture()
def population(engine: Engine, client: Elasticsearch, settings: Settings, tmp_path: Path) -> Engine:
    """300 demo children in PostgreSQL, an empty outbox and no index."""
    reset_everything(settings=settings, client=client)
    load_demo(engine=engine, tmp_path=tmp_path, children=300, seed=11)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM index_outbox"))
        assert connection.execute(text("SELECT count(*) FROM child")).scalar_one() == 300
    return engine


def _reindex(engine: Engine, client: Elasticsearch, settings: Settings) -> Any:
    return reindex(
        engine=engine,
        client=client,
        alias=settings.index_alias,
        options=ReindexOptions(replicas=0, batch_size=100, threads=2, build_workers=1, retry=RETRY),
        writer=WRITER,
    )


def _drain(
    engine: Engine, client: Elasticsearch, settings: Settings, writer: Writer = WRITER
) -> int:
    return drain(engine=engine, client=client, alias=settings.index_alias, limit=50, writer=writer)


def _assert_index_matches_database(engine: Engine, client: Elasticsearch, alias: str) -> None:
    indexed = indexed_versions(client, alias=alias)
    expected = database_versions(engine)
    assert indexed.keys() == expected.keys()
    stale = {
        key: (indexed[key], expected[key]) for key in expected if indexed[key] != expected[key]
    }
    assert not stale, list(stale.items())[:5]


def test_reindex_builds_a_verified_index_and_swaps_the_alias(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    report = _reindex(population, client, settings)

    assert report.documents == 300
    assert report.previous is None
    assert alias_state(client, alias=settings.index_alias).live == report.index
    _assert_index_matches_database(population, client, settings.index_alias)
    index_settings = client.indices.get_settings(index=report.index)[report.index]["settings"]
    assert index_settings["index"]["refresh_interval"] == "1s"


def test_reindex_keeps_one_previous_index_for_rollback_and_deletes_older_ones(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    clock = iter(["20260101t000000", "20260101t000001", "20260101t000002"])
    from datetime import UTC, datetime

    def now() -> datetime:
        return datetime.strptime(next(clock), "%Y%m%dt%H%M%S").replace(tzinfo=UTC)

    names = [
        reindex(
            engine=population,
            client=client,
            alias=settings.index_alias,
            options=ReindexOptions(replicas=0, batch_size=100, threads=1, retry=RETRY),
            writer=WRITER,
            now=now,
        ).index
        for _ in range(3)
    ]
    state = alias_state(client, alias=settings.index_alias)
    assert state.live == names[2]
    assert state.others == (names[1],)

    old, new = rollback(engine=population, client=client, alias=settings.index_alias)
    assert (old, new) == (names[2], names[1])
    assert alias_state(client, alias=settings.index_alias).live == names[1]
    _drain(population, client, settings)
    _assert_index_matches_database(population, client, settings.index_alias)


def test_a_committed_change_reaches_the_index_through_the_outbox(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    _reindex(population, client, settings)
    with population.begin() as connection:
        identifier = connection.execute(
            text(
                "UPDATE child SET family_name = 'Featherstonehaugh' "
                "WHERE id = (SELECT min(id) FROM child) RETURNING identifier"
            )
        ).scalar_one()
        # Bulk SQL by any program is captured too.
        connection.execute(text("UPDATE child SET town = upper(town) WHERE id % 10 = 0"))

    assert outbox_depth(population) > 0
    _drain(population, client, settings)

    assert outbox_depth(population) == 0
    client.indices.refresh(index=settings.index_alias)
    doc = client.get(index=settings.index_alias, id=identifier)
    assert doc["_source"]["family_name_folded"] == "featherstonehaugh"
    _assert_index_matches_database(population, client, settings.index_alias)


def test_changes_to_carers_shields_and_deletions_are_indexed(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    _reindex(population, client, settings)
    with population.begin() as connection:
        first, second = connection.execute(
            text("SELECT id, identifier FROM child ORDER BY id LIMIT 2")
        ).all()
        connection.execute(
            text(
                "INSERT INTO shield (child_id, applied_by, reason) "
                "SELECT :id, 'la.manager', 'risk of harm' WHERE NOT EXISTS "
                "(SELECT 1 FROM shield WHERE child_id = :id AND removed_at IS NULL)"
            ),
            {"id": first.id},
        )
        connection.execute(text("DELETE FROM child WHERE id = :id"), {"id": second.id})
    _drain(population, client, settings)

    client.indices.refresh(index=settings.index_alias)
    assert client.get(index=settings.index_alias, id=first.identifier)["_source"]["shielded"]
    assert not client.exists(index=settings.index_alias, id=second.identifier)
    _assert_index_matches_database(population, client, settings.index_alias)


def test_a_rejected_document_goes_to_dead_letters_and_the_rest_of_its_batch_is_indexed(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    _reindex(population, client, settings)
    with population.begin() as connection:
        victims = (
            connection.execute(
                text(
                    "UPDATE child SET given_names = given_names || ' Jo' "
                    "WHERE id IN (SELECT id FROM child ORDER BY id LIMIT 5) RETURNING identifier"
                )
            )
            .scalars()
            .all()
        )
    poisoned = victims[2]

    def poisoning_writer(es: Elasticsearch, actions: list[dict[str, Any]]) -> BulkOutcome:
        # The real client and server; one document carries a field the strict mapping refuses.
        for action in actions:
            if action["_id"] == poisoned and "_source" in action:
                action["_source"] = {**action["_source"], "case_notes": "never indexed"}
        return write_once(es, actions)

    result = process_batch(
        engine=population,
        client=client,
        alias=settings.index_alias,
        limit=50,
        writer=poisoning_writer,
    )

    assert result.dead_lettered == 1
    assert outbox_depth(population) == 0
    with population.connect() as connection:
        status = queue_status(connection=connection)
        reason = connection.execute(text("SELECT reason FROM index_dead_letter")).scalar_one()
    assert status.dead_letters == 1
    assert "strict_dynamic_mapping_exception" in reason
    client.indices.refresh(index=settings.index_alias)
    for identifier in victims:
        doc = client.get(index=settings.index_alias, id=identifier)["_source"]
        assert doc["given_names_folded"].endswith(" jo") == (identifier != poisoned)

    with population.begin() as connection:
        assert requeue_dead_letters(connection=connection) == 1
    _drain(population, client, settings)
    _assert_index_matches_database(population, client, settings.index_alias)


def _run_indexer_in_thread(
    engine: Engine, settings: Settings, stop: threading.Event
) -> threading.Thread:
    def target() -> None:
        es = make_client(settings, purpose="indexer")
        try:
            while not stop.is_set():
                try:
                    run_forever(
                        engine=engine,
                        client=es,
                        alias=settings.index_alias,
                        limit=50,
                        writer=WRITER,
                        poll_interval_s=0.2,
                        max_backoff_s=1.0,
                        should_stop=stop.is_set,
                    )
                except Exception:  # a lost server pauses this indexer only
                    logging.getLogger(__name__).exception("test indexer paused")
                    time.sleep(0.5)
        finally:
            es.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _wait_for_empty_outbox(engine: Engine, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while outbox_depth(engine) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert outbox_depth(engine) == 0


def test_changes_made_while_elasticsearch_is_stopped_are_indexed_after_it_returns(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    _reindex(population, client, settings)
    stop = threading.Event()
    indexer = _run_indexer_in_thread(population, settings, stop)
    try:
        with population.begin() as connection:
            connection.execute(
                text("UPDATE child SET given_names = given_names || ' A' WHERE id % 3 = 0")
            )
        time.sleep(1.0)
        list(down(settings, which=("elasticsearch",)))
        with population.begin() as connection:
            connection.execute(
                text("UPDATE child SET family_name = family_name || 'x' WHERE id % 2 = 0")
            )
            connection.execute(text("DELETE FROM child WHERE id % 17 = 0"))
        assert outbox_depth(population) > 0
        list(up(settings, which=("elasticsearch",)))
        _wait_for_empty_outbox(population)
    finally:
        stop.set()
        indexer.join(timeout=30)
        list(up(settings, which=("elasticsearch",)))
    _assert_index_matches_database(population, client, settings.index_alias)


def test_concurrent_writers_and_two_indexers_end_at_the_newest_version(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    _reindex(population, client, settings)
    with population.connect() as connection:
        ids = connection.execute(text("SELECT id FROM child ORDER BY id LIMIT 3")).scalars().all()

    def write(seed: int) -> None:
        rng = random.Random(seed)
        for n in range(40):
            with population.begin() as connection:
                connection.execute(
                    text("UPDATE child SET family_name = :name WHERE id = :id"),
                    {"name": f"Writer{seed}Step{n}", "id": rng.choice(ids)},
                )

    stop = threading.Event()
    indexers = [_run_indexer_in_thread(population, settings, stop) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(seed,)) for seed in (1, 2)]
    try:
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        _wait_for_empty_outbox(population)
    finally:
        stop.set()
        for thread in indexers:
            thread.join(timeout=30)
    _assert_index_matches_database(population, client, settings.index_alias)


def test_reindex_while_changes_are_written_loses_nothing_and_searches_never_fail(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    _reindex(population, client, settings)
    stop = threading.Event()
    failures: list[str] = []
    searches = 0

    def write() -> None:
        rng = random.Random(5)
        n = 0
        while not stop.is_set():
            n += 1
            with population.begin() as connection:
                connection.execute(
                    text(
                        "UPDATE child SET family_name = :name "
                        "WHERE id = (SELECT id FROM child ORDER BY id OFFSET :k LIMIT 1)"
                    ),
                    {"name": f"Changed{n}", "k": rng.randrange(250)},
                )
            time.sleep(0.01)

    def search() -> None:
        nonlocal searches
        reader = make_client(settings, purpose="api")
        try:
            while not stop.is_set():
                try:
                    hits = reader.search(
                        index=settings.index_alias, query={"match_all": {}}, size=1
                    )["hits"]["total"]["value"]
                    if hits == 0:
                        failures.append("empty result")
                    searches += 1
                except Exception as exc:  # noqa: BLE001 - any failure is what we count
                    failures.append(repr(exc))
        finally:
            reader.close()

    indexer = _run_indexer_in_thread(population, settings, stop)
    threads = [threading.Thread(target=write), threading.Thread(target=search)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        report = _reindex(population, client, settings)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    _wait_for_empty_outbox(population)
    indexer.join(timeout=30)

    assert alias_state(client, alias=settings.index_alias).live == report.index
    assert searches > 0
    assert failures == []
    _assert_index_matches_database(population, client, settings.index_alias)


def test_a_failed_reindex_leaves_the_live_alias_untouched(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    first = _reindex(population, client, settings)

    def refusing_writer(es: Elasticsearch, actions: list[dict[str, Any]]) -> BulkOutcome:
        raise RuntimeError("simulated failure during catch-up")

    with population.begin() as connection:
        connection.execute(text("UPDATE child SET town = town || 'x' WHERE id % 5 = 0"))
    with pytest.raises(ReindexError, match="simulated failure"):
        reindex(
            engine=population,
            client=client,
            alias=settings.index_alias,
            options=ReindexOptions(replicas=0, batch_size=100, threads=1, retry=RETRY),
            writer=refusing_writer,
        )
    state = alias_state(client, alias=settings.index_alias)
    assert state.live == first.index
    assert state.others == ()
