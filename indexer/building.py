"""Document building in worker processes, so that it runs beside the PostgreSQL read.

On a 2-core machine the reading thread, the document building and Elasticsearch all want the
CPU; building in another process takes it out from under the GIL of the reading process.
Chunks are submitted a few at a time, never the whole table.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import orjson

from contactpoint.collector import collect_less_often
from indexer.actions import index_action
from mappings.document import IndexedChild

Built = tuple[list[dict[str, Any]], float]


def _build_chunk(records: list[IndexedChild], index: str) -> Built:
    """The index action of each record, its document serialised, and the seconds it took."""
    started = time.perf_counter()
    actions = [index_action(record, index=index) for record in records]
    for action in actions:
        # Serialised here, in the worker process: the bulk helper sends bytes as they are.
        action["_source"] = orjson.dumps(action["_source"])
    return actions, time.perf_counter() - started


def built_actions(
    records: Iterable[IndexedChild],
    *,
    index: str,
    workers: int,
    chunk_size: int,
    build_seconds: list[float],
) -> Iterator[dict[str, Any]]:
    """Index actions for the records, built by `workers` processes (in order).

    The building seconds of each chunk are appended to `build_seconds`.
    """
    context = multiprocessing.get_context("forkserver")
    source = iter(records)
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=collect_less_often
    )
    with pool:
        in_flight: deque[Future[Built]] = deque()
        while True:
            while len(in_flight) < workers * 2:
                chunk = list(itertools.islice(source, chunk_size))
                if not chunk:
                    break
                in_flight.append(pool.submit(_build_chunk, chunk, index))
            if not in_flight:
                return
            built, seconds = in_flight.popleft().result()
            build_seconds.append(seconds)
            yield from built
