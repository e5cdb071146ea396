"""Erasing destroyed children from Elasticsearch: every index of the alias's family.

The outbox deletes a child's document from the live index and any index being built; a
destroyed child must also leave the indices kept for rollback, which nothing else writes to.
So the lifecycle job deletes by id across `<alias>-v*`, and forces the segments holding the
deleted documents to be merged away.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions

from indexer.bulk import TransientBulkError, write_with_retries
from indexer.retry import RetryPolicy

log = logging.getLogger(__name__)


class ErasureFailed(RuntimeError):
    """Elasticsearch refused to delete some documents: the destruction must not go on."""


def family_indices(client: Elasticsearch, *, alias: str) -> list[str]:
    """Every index of the alias's family, open or closed, live, building or kept for rollback."""
    try:
        found = client.indices.get(index=f"{alias}-v*", expand_wildcards="all")
    except es_exceptions.NotFoundError:
        return []
    return sorted(found)


def erase_documents(
    client: Elasticsearch,
    *,
    indices: Sequence[str],
    identifiers: Sequence[str],
    policy: RetryPolicy,
) -> int:
    """Delete the documents of `identifiers` from each of `indices` (absent ones count as
    deleted); returns the deletes acknowledged. Raises ErasureFailed if any is refused."""
    actions: list[dict[str, Any]] = [
        {"_op_type": "delete", "_index": index, "_id": identifier}
        for index in indices
        for identifier in identifiers
    ]
    if not actions:
        return 0
    try:
        outcome = write_with_retries(client, actions, policy=policy, chunk_size=5000)
    except TransientBulkError as exc:
        raise ErasureFailed(str(exc)) from exc
    if outcome.rejected:
        sample = "; ".join(
            f"{key[0]}: {reason}" for key, reason in list(outcome.rejected.items())[:3]
        )
        raise ErasureFailed(f"{len(outcome.rejected)} deletes refused ({sample})")
    return len(outcome.written) + len(outcome.superseded)


def expunge_deleted(client: Elasticsearch, *, indices: Sequence[str]) -> None:
    """Merge away the segments' deleted documents, so their bytes leave the disk sooner."""
    for index in indices:
        try:
            client.options(request_timeout=600).indices.forcemerge(
                index=index, only_expunge_deletes=True, wait_for_completion=True
            )
        except (es_exceptions.ApiError, es_exceptions.TransportError) as exc:
            # The documents are deleted already (unsearchable, unretrievable); the merge is
            # tidying, and the next run asks again.
            log.warning("forcemerge of %s did not finish: %s", index, exc)
