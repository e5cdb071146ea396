"""Bulk actions: one builder, whether a document is built in this process or in a worker."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import orjson

from indexer.actions import delete_action, index_action
from indexer.building import built_actions
from mappings import IndexedChild, build_child_document

CHILD = IndexedChild(
    identifier="9434765919",
    given_names="Zoë Mae",
    family_name="O'Brien-Smith",
    gender="female",
    date_of_birth=date(2019, 3, 4),
    address_lines=("12 Mill Ln",),
    town="Leeds",
    postcode="ls62ab",
    status="active",
    record_version=3,
    shielded=False,
)


def test_an_index_action_writes_the_document_with_the_record_version_as_external_version() -> None:
    action = index_action(CHILD, index="children-v1-x")

    assert action == {
        "_op_type": "index",
        "_index": "children-v1-x",
        "_id": "9434765919",
        "version": 3,
        "version_type": "external",
        "_source": build_child_document(CHILD),
    }


def test_a_delete_action_deletes_as_of_the_version_of_the_deletion() -> None:
    action = delete_action(identifier="9434765919", record_version=4, index="children-v1-x")

    assert action == {
        "_op_type": "delete",
        "_index": "children-v1-x",
        "_id": "9434765919",
        "version": 4,
        "version_type": "external",
    }


def test_actions_built_in_worker_processes_are_the_index_actions_with_serialised_documents() -> (
    None
):
    records = [replace(CHILD, identifier=f"94347659{n:02d}", record_version=n) for n in range(5)]
    seconds: list[float] = []

    built = list(
        built_actions(
            records, index="children-v1-x", workers=1, chunk_size=2, build_seconds=seconds
        )
    )

    expected = [
        {**index_action(record, index="children-v1-x"), "_source": None} for record in records
    ]
    assert [{**action, "_source": None} for action in built] == expected
    assert [orjson.loads(action["_source"]) for action in built] == [
        orjson.loads(orjson.dumps(build_child_document(record))) for record in records
    ]
    assert len(seconds) == 3
