"""write_with_retries on the real server, under a client that refuses some writes on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from contactpoint.es_client import make_client
from contactpoint.settings import Settings
from indexer.actions import index_action
from indexer.bulk import TransientBulkError, write_with_retries
from indexer.indices import delete_indices
from indexer.retry import RetryPolicy
from mappings import IndexedChild, index_mappings, index_settings
from tests.integration.overloaded_client import OverloadedClient

pytestmark = pytest.mark.integration

POLICY = RetryPolicy(attempts=3, first_wait_s=0.01, max_wait_s=0.05)
CHILD = IndexedChild(
    identifier="9434765900",
    given_names="Ada",
    family_name="Okafor",
    gender="female",
    date_of_birth=date(2019, 3, 4),
    address_lines=("12 Mill Ln",),
    town="Leeds",
    postcode="LS6 2AB",
    status="active",
    record_version=1,
    shielded=False,
)
IDS = [f"94347659{n:02d}" for n in range(10)]


@pytest.fixture()
def client(elasticsearch_ready: None, settings: Settings) -> Iterator[Elasticsearch]:
    es = make_client(settings, purpose="indexer")
    yield es
    es.close()


@pytest.fixture()
def index(client: Elasticsearch, settings: Settings) -> Iterator[str]:
    """A fresh index of the real definition (strict mapping), outside the alias's family."""
    name = f"{settings.index_alias}-bulk-retries"
    delete_indices(client, [name])
    client.indices.create(
        index=name, settings=index_settings(replicas=0), mappings=index_mappings()
    )
    yield name
    delete_indices(client, [name])


def _actions(index: str) -> list[dict[str, Any]]:
    return [index_action(replace(CHILD, identifier=doc_id), index=index) for doc_id in IDS]


def _indexed(client: Elasticsearch, index: str) -> int:
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


def test_only_the_documents_refused_for_overload_are_sent_again(
    client: Elasticsearch, index: str
) -> None:
    overloaded = OverloadedClient(
        client, refuse_document=lambda doc_id, sends: doc_id in {IDS[2], IDS[5]} and sends == 1
    )

    outcome = write_with_retries(overloaded, _actions(index), policy=POLICY)  # type: ignore[arg-type]

    assert overloaded.requests == [IDS, [IDS[2], IDS[5]]]
    assert outcome.written == {(index, doc_id) for doc_id in IDS}
    assert not outcome.retryable and not outcome.rejected
    assert _indexed(client, index) == 10


def test_a_document_elasticsearch_rejects_is_recorded_and_never_sent_again(
    client: Elasticsearch, index: str
) -> None:
    actions = _actions(index)
    # A field the strict mapping refuses: a real 400 from the real server.
    actions[7]["_source"] = {**actions[7]["_source"], "case_notes": "never indexed"}
    overloaded = OverloadedClient(
        client, refuse_document=lambda doc_id, sends: doc_id == IDS[3] and sends == 1
    )

    outcome = write_with_retries(overloaded, actions, policy=POLICY)  # type: ignore[arg-type]

    assert overloaded.requests == [IDS, [IDS[3]]]
    assert overloaded.sends(IDS[7]) == 1
    assert set(outcome.rejected) == {(index, IDS[7])}
    assert "strict_dynamic_mapping_exception" in outcome.rejected[(index, IDS[7])]
    assert outcome.written == {(index, doc_id) for doc_id in IDS if doc_id != IDS[7]}
    assert _indexed(client, index) == 9


def test_retries_are_bounded_and_the_final_error_names_the_documents_left(
    client: Elasticsearch, index: str
) -> None:
    overloaded = OverloadedClient(client, refuse_document=lambda doc_id, _sends: doc_id == IDS[4])

    with pytest.raises(TransientBulkError) as raised:
        write_with_retries(overloaded, _actions(index), policy=POLICY)  # type: ignore[arg-type]

    assert len(overloaded.requests) == POLICY.attempts
    assert overloaded.requests[1:] == [[IDS[4]]] * (POLICY.attempts - 1)
    assert set(raised.value.failures) == {(index, IDS[4])}
    assert IDS[4] in str(raised.value)
    assert "es_rejected_execution_exception" in str(raised.value)
    assert raised.value.outcome.written == {(index, doc_id) for doc_id in IDS if doc_id != IDS[4]}
    assert _indexed(client, index) == 9


def test_a_bulk_request_refused_whole_is_sent_again(client: Elasticsearch, index: str) -> None:
    overloaded = OverloadedClient(client, refuse_request=lambda n: n == 1)

    outcome = write_with_retries(overloaded, _actions(index), policy=POLICY)  # type: ignore[arg-type]

    assert overloaded.requests == [IDS, IDS]
    assert outcome.written == {(index, doc_id) for doc_id in IDS}
    assert _indexed(client, index) == 10


def test_a_lost_connection_sends_again_only_the_documents_not_yet_answered(
    client: Elasticsearch, index: str
) -> None:
    overloaded = OverloadedClient(client, drop_request=lambda n: n == 2)

    outcome = write_with_retries(
        overloaded,  # type: ignore[arg-type]
        _actions(index),
        policy=POLICY,
        chunk_size=5,
    )

    assert overloaded.requests == [IDS[:5], IDS[5:], IDS[5:]]
    assert outcome.written == {(index, doc_id) for doc_id in IDS}
    assert _indexed(client, index) == 10
