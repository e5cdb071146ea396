"""Bulk actions from child records: external versioning from the record version."""

from __future__ import annotations

from typing import Any

from mappings.document import IndexedChild, build_child_document


def index_action(record: IndexedChild, *, index: str) -> dict[str, Any]:
    """Index a child's document unless the index already holds a newer version of it."""
    return {
        "_op_type": "index",
        "_index": index,
        "_id": record.identifier,
        "version": record.record_version,
        "version_type": "external",
        "_source": build_child_document(record),
    }


def delete_action(*, identifier: str, record_version: int, index: str) -> dict[str, Any]:
    """Delete a child's document, as of the version at which it was deleted."""
    return {
        "_op_type": "delete",
        "_index": index,
        "_id": identifier,
        "version": record_version,
        "version_type": "external",
    }
