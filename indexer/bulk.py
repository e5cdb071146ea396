"""Bulk writes to Elasticsearch, with every document's outcome accounted for.

Per-document results are kept apart from per-request failures: a document Elasticsearch rejects
(a 4xx such as a mapping error) is reported with its reason and never retried; a version conflict
means a newer version is already indexed; only transient failures are retried, per document, as
`indexer.retry` sets out.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch, helpers
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from indexer.retry import RETRYABLE_STATUSES, TRANSIENT_TRANSPORT_ERRORS, RetryPolicy

log = logging.getLogger(__name__)

DocKey = tuple[str, str]


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
        elif not isinstance(status, int) or status in RETRYABLE_STATUSES:
            # No status: nobody said what became of the document, so it is tried again.
            self.retryable[key] = _reason(result)
        else:
            self.rejected[key] = _reason(result)
        return key


class TransientBulkError(RuntimeError):
    """Some documents could not be written for reasons that may pass (overload, outage).

    `failures` names each document left and why; `outcome` is what the write did achieve.
    """

    def __init__(self, failures: Mapping[DocKey, str], outcome: BulkOutcome | None = None) -> None:
        self.failures = dict(failures)
        self.outcome = outcome if outcome is not None else BulkOutcome(retryable=self.failures)
        sample = "; ".join(f"{key[1]}: {reason}" for key, reason in list(self.failures.items())[:3])
        super().__init__(f"{len(self.failures)} documents not written ({sample})")


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

    A lost connection or a timeout part-way leaves the documents not yet answered as retryable.
    """
    outcome = BulkOutcome()
    answered: set[DocKey] = set()
    try:
        for ok, item in helpers.streaming_bulk(
            # The client retries no bulk request: write_with_retries retries per document.
            client.options(max_retries=0),
            actions,
            chunk_size=chunk_size,
            max_retries=0,
            raise_on_error=False,
            raise_on_exception=False,
            yield_ok=True,
        ):
            answered.add(outcome.add(ok, item))
    except TRANSIENT_TRANSPORT_ERRORS as exc:
        for action in actions:
            key = action_key(action)
            if key not in answered:
                outcome.retryable[key] = f"{type(exc).__name__}: {exc}"[:1000]
    return outcome


def write_with_retries(
    client: Elasticsearch,
    actions: list[dict[str, Any]],
    *,
    policy: RetryPolicy,
    chunk_size: int = 500,
) -> BulkOutcome:
    """Write `actions`, retrying only the documents that failed for transient reasons.

    Raises TransientBulkError, naming the documents left, when some still fail after
    `policy.attempts` tries.
    """
    total = BulkOutcome()
    pending = list(actions)

    def attempt() -> None:
        nonlocal pending
        outcome = write_once(client, pending, chunk_size=chunk_size)
        total.written |= outcome.written
        total.superseded |= outcome.superseded
        total.rejected.update(outcome.rejected)
        total.retryable = outcome.retryable
        if outcome.retryable:
            pending = [a for a in pending if action_key(a) in outcome.retryable]
            log.warning("bulk: %d documents to retry", len(pending))
            raise TransientBulkError(outcome.retryable, total)
        pending = []

    for try_ in Retrying(
        retry=retry_if_exception_type(TransientBulkError),
        stop=stop_after_attempt(policy.attempts),
        wait=policy.wait(),
        reraise=True,
    ):
        with try_:
            attempt()
    return total


def _write_chunk(
    client: Elasticsearch, chunk: list[dict[str, Any]], policy: RetryPolicy
) -> BulkOutcome:
    try:
        return write_with_retries(client, chunk, policy=policy, chunk_size=len(chunk))
    except TransientBulkError as exc:
        return exc.outcome


def write_chunks_with_retries(
    client: Elasticsearch,
    actions: Iterable[dict[str, Any]],
    *,
    policy: RetryPolicy,
    chunk_size: int,
    threads: int,
) -> Iterator[BulkOutcome]:
    """Write `actions` in chunks, `threads` requests at a time, each chunk retried as
    write_with_retries does; yields each chunk's outcome, in order.

    A chunk whose transient failures outlast the retries is yielded with them left in
    `retryable`, not raised: the caller decides what becomes of them.
    """
    source = iter(actions)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bulk") as pool:
        in_flight: deque[Future[BulkOutcome]] = deque()
        while True:
            # A few chunks ahead of the writers, never the whole stream in memory.
            while len(in_flight) < threads * 2:
                chunk = list(itertools.islice(source, chunk_size))
                if not chunk:
                    break
                in_flight.append(pool.submit(_write_chunk, client, chunk, policy))
            if not in_flight:
                return
            yield in_flight.popleft().result()
