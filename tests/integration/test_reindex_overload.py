"""A reindex on the real servers while Elasticsearch answers some bulk writes 429 (overload)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import Engine, text

from contactpoint.es_client import make_client
from contactpoint.settings import Settings
from indexer.indices import alias_state
from indexer.reindex import ReindexError, ReindexOptions, reindex
from indexer.retry import RetryPolicy
from tests.integration.indexing_support import (
    database_versions,
    indexed_versions,
    load_demo,
    outbox_depth,
    reset_everything,
)
from tests.integration.overloaded_client import OverloadedClient

pytestmark = pytest.mark.integration

CHILDREN = 300
RETRY = RetryPolicy(attempts=4, first_wait_s=0.01, max_wait_s=0.05)


@pytest.fixture()
def client(elasticsearch_ready: None, settings: Settings) -> Iterator[Elasticsearch]:
    es = make_client(settings, purpose="indexer")
    yield es
    es.close()


@pytest.fixture()
def population(engine: Engine, client: Elasticsearch, settings: Settings, tmp_path: Path) -> Engine:
    """300 demo children in PostgreSQL, an empty outbox and no index."""
    reset_everything(settings=settings, client=client)
    load_demo(engine=engine, tmp_path=tmp_path, children=CHILDREN, seed=23)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM index_outbox"))
    return engine


def _assert_index_matches_database(engine: Engine, client: Elasticsearch, alias: str) -> None:
    indexed = indexed_versions(client, alias=alias)
    assert len(indexed) == CHILDREN
    assert indexed == database_versions(engine)


def test_a_reindex_completes_while_elasticsearch_refuses_some_bulk_requests_and_documents(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    overloaded = OverloadedClient(
        client,
        # Two requests refused whole, and about half the documents refused the first time they
        # are sent: the kind of 429s a bulk thread pool's full queue gives.
        refuse_request=lambda n: n in {1, 3},
        refuse_document=lambda doc_id, sends: sends == 1 and zlib.crc32(doc_id.encode()) % 2 == 0,
    )

    report = reindex(
        engine=population,
        client=overloaded,  # type: ignore[arg-type]
        alias=settings.index_alias,
        options=ReindexOptions(batch_size=50, threads=2, build_workers=1, retry=RETRY),
    )

    assert len(overloaded.requests) > CHILDREN // 50
    assert report.documents == CHILDREN
    assert report.requeued == 0
    assert alias_state(client, alias=settings.index_alias).live == report.index
    _assert_index_matches_database(population, client, settings.index_alias)


def test_documents_still_refused_after_the_retries_are_written_by_the_catch_up(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    # One thread: the first chunk's two tries are the first two requests, both refused.
    overloaded = OverloadedClient(client, refuse_request=lambda n: n <= 2)

    report = reindex(
        engine=population,
        client=overloaded,  # type: ignore[arg-type]
        alias=settings.index_alias,
        options=ReindexOptions(
            batch_size=100, threads=1, retry=RetryPolicy(attempts=2, first_wait_s=0.01)
        ),
    )

    assert report.requeued == 100
    assert report.documents == CHILDREN - 100
    assert report.caught_up == 100
    assert outbox_depth(population) == 0
    assert alias_state(client, alias=settings.index_alias).live == report.index
    _assert_index_matches_database(population, client, settings.index_alias)


def test_a_reindex_under_overload_that_never_passes_fails_and_leaves_the_alias(
    population: Engine, client: Elasticsearch, settings: Settings
) -> None:
    first = reindex(
        engine=population,
        client=client,
        alias=settings.index_alias,
        options=ReindexOptions(batch_size=100, retry=RETRY),
    )
    overloaded = OverloadedClient(client, refuse_request=lambda _n: True)

    with pytest.raises(ReindexError, match="es_rejected_execution_exception"):
        reindex(
            engine=population,
            client=overloaded,  # type: ignore[arg-type]
            alias=settings.index_alias,
            options=ReindexOptions(batch_size=100, retry=RETRY),
        )

    # Bounded: each of the build's three chunks was tried RETRY.attempts times, then the
    # catch-up's first batch (the children left, for the live and the new index), and no more.
    assert len(overloaded.requests) == RETRY.attempts * (CHILDREN // 100 + 1)
    state = alias_state(client, alias=settings.index_alias)
    assert state.live == first.index
    assert state.others == ()
