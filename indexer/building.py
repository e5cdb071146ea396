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

from mappings.document import IndexedChild, build_child_document

Built = tuple[list[tuple[str, int, bytes]], float]


def _build_chunk(records: list[IndexedChild]) -> Built:
    """(identifier, version, serialised document) of each record, and the seconds it took."""
    started = time.perf_counter()
    built = [
        (record.identifier, record.record_version, orjson.dumps(build_child_document(record)))
        for record in records
    ]
    return built, time.perf_counter() - started


def _actions(built: list[tuple[str, int, bytes]], index: str) -> Iterator[dict[str, Any]]:
    for identifier, version, source in built:
        yield {
            "_op_type": "index",
            "_index": index,
            "_id": identifier,
            "version": version,
            "version_type": "external",
            # Already serialised: the bulk helper sends bytes as they are.
            "_source": source,
        }


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
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        in_flight: deque[Future[Built]] = deque()
        while True:
            while len(in_flight) < workers * 2:
                chunk = list(itertools.islice(source, chunk_size))
                if not chunk:
                    break
                in_flight.append(pool.submit(_build_chunk, chunk))
            if not in_flight:
                return
            built, seconds = in_flight.popleft().result()
            build_seconds.append(seconds)
            yield from _actions(built, index)
