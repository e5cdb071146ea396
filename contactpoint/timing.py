"""Where a request's time goes: seconds spent in PostgreSQL and in Elasticsearch, summed by
the database's and the search client's hooks into the request's own `RequestTiming`.

The API's middleware starts one per request (`searchapi.metrics`); code outside a request (the
indexer, the jobs) has none, and the hooks then do nothing. A route run in the thread pool
sees the same object: the pool runs it in a copy of the request's context.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from elastic_transport import Urllib3HttpNode


@dataclass(slots=True)
class RequestTiming:
    """Seconds a request has spent waiting on each server so far."""

    postgres_s: float = 0.0
    elasticsearch_s: float = 0.0


timing_var: ContextVar[RequestTiming | None] = ContextVar("request_timing", default=None)


def add_postgres(seconds: float) -> None:
    """Count `seconds` of PostgreSQL time to the request being served, if any."""
    timing = timing_var.get()
    if timing is not None:
        timing.postgres_s += seconds


class TimedUrllib3HttpNode(Urllib3HttpNode):
    """The client's default node, counting each request's round trip to the request served."""

    def perform_request(self, *args: Any, **kwargs: Any) -> Any:
        timing = timing_var.get()
        if timing is None:
            return super().perform_request(*args, **kwargs)
        started = time.perf_counter()
        try:
            return super().perform_request(*args, **kwargs)
        finally:
            timing.elasticsearch_s += time.perf_counter() - started
