"""Bulk writes to Elasticsearch, with every document's outcome accounted for.

Per-document results are kept apart from per-request failures: a document Elasticsearch rejects
(a 4xx such as a mapping error) is reported with its reason and never retried; a version conflict
means a newer version is already indexed; only 429s, 5xx and connection failures are retried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch, helpers
from elasticsearch import exceptions as es_exceptions
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
DocKey = tuple[str, str]


class TransientBulkError(RuntimeError):
    """Some documents could not be written for reasons that may pass (overload, outage)."""

    def __init__(self, failures: Mapping[DocKey, str]) -> None:
        self.failures = dict(failures)
        sample = "; ".join(f"{key[1]}: {reason}" for key, reason in list(self.failures.items())[:3])
        super().__init__(f"{len(self.failures)} documents not written ({sample})")


@dataclass
class BulkOutcome:
    """What happened to each document of a bulk write, keyed by (index, document id)."""

    written: set[DocKey] = field(default_factory=set)
    # A newer version was already there: the index is at least as fresh as this write.
    superseded: set[DocKey] = field(default_factory=set)
    rejected: dict[DocKey, str] = field(default_factory=dict)
    retryable: dict[DocKey, str] = field(default_factory=dict)

    def add(self, ok: bool, item: Mapping[str, Any]) -> DocKey:
        """Account for one (ok, item) pair of `helpers.streaming_bulk`."""
        ((op_type, result),) = item.items()
        key = (str(result.get("_index")), str(result.get("_id")))
        status = result.get("status")
        if ok or (status == 404 and op_type == "delete"):
            self.written.add(key)
        elif status == 409:
            self.superseded.add(key)
        elif not isinstance(status, int) or status in RETRYABLE_STATUSES or status >= 500:
            self.retryable[key] = _reason(result)
        else:
            self.rejected[key] = _reason(result)
        return key


def _reason(result: Mapping[str, Any]) -> str:
    error = result.get("error")
    if isinstance(error, Mapping):
        return f"{error.get('type', 'error')}: {error.get('reason', '')}"[:1000]
    return str(error or f"status {result.get('status')}")[:1000]


def action_key(action: Mapping[str, Any]) -> DocKey:
    return (str(action["_index"]), str(action["_id"]))


def write_once(
    client: Elasticsearch, actions: list[dict[str, Any]], *, chunk_size: int = 500
) -> BulkOutcome:
    """One pass of `actions` through the bulk API, without retries.

    A connection failure part-way leaves the documents not yet answered as retryable.
    """
    outcome = BulkOutcome()
    answered: set[DocKey] = set()
    try:
        for ok, item in helpers.streaming_bulk(
            client,
            actions,
            chunk_size=chunk_size,
            max_retries=0,
            raise_on_error=False,
            raise_on_exception=False,
            yield_ok=True,
        ):
            answered.add(outcome.add(ok, item))
    except es_exceptions.TransportError as exc:
        for action in actions:
            key = action_key(action)
            if key not in answered:
                outcome.retryable[key] = f"{type(exc).__name__}: {exc}"[:1000]
    return outcome


def write_with_retries(
    client: Elasticsearch,
    actions: list[dict[str, Any]],
    *,
    attempts: int,
    max_wait_s: float,
    chunk_size: int = 500,
) -> BulkOutcome:
    """Write `actions`, retrying only the documents that failed for transient reasons.

    Raises TransientBulkError when some still fail after `attempts` tries.
    """
    total = BulkOutcome()
    pending = list(actions)

    def attempt() -> None:
        nonlocal pending
        outcome = write_once(client, pending, chunk_size=chunk_size)
        total.written |= outcome.written
        total.superseded |= outcome.superseded
        total.rejected.update(outcome.rejected)
        if outcome.retryable:
            pending = [a for a in pending if action_key(a) in outcome.retryable]
            log.warning("bulk: %d documents to retry", len(pending))
            raise TransientBulkError(outcome.retryable)
        pending = []

    try:
        for try_ in Retrying(
            retry=retry_if_exception_type(TransientBulkError),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(multiplier=0.2, max=max_wait_s),
            reraise=False,
        ):
            with try_:
                attempt()
    except RetryError as exc:
        last = exc.last_attempt.exception()
        if isinstance(last, TransientBulkError):
            raise last from None
        raise
    return total
