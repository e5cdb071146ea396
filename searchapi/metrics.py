"""Metrics in Prometheus' text format (prometheus-client), and the access line of each request.

Per request, by route template (never the path: it can name a child), method and status:
the seconds taken, and the seconds of it spent in PostgreSQL and in Elasticsearch
(`contactpoint.timing`). With several uvicorn workers each writes its samples to
PROMETHEUS_MULTIPROC_DIR (`serve` sets it) and a scrape adds them up. What the database
knows is read at each scrape: the outbox's depth and the indexer's lag, dead letters, the
notifications' deliveries by channel and state, and the feeds' records by source and
outcome, so the figures hold across restarts and for the jobs beside the API too.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contactpoint.timing import RequestTiming, add_postgres, timing_var

log = logging.getLogger("searchapi.access")

# Latency buckets for an API that aims at well under a second (seconds).
_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_UNMATCHED: Final = "unmatched"
REQUEST_SECONDS: Final = Histogram(
    "contactpoint_request_seconds",
    "Seconds to answer a request, by route template, method and status.",
    ("route", "method", "status"),
    buckets=_BUCKETS,
)
POSTGRES_SECONDS: Final = Histogram(
    "contactpoint_request_postgres_seconds",
    "Seconds of a request spent waiting on PostgreSQL, by route template.",
    ("route",),
    buckets=_BUCKETS,
)
ELASTICSEARCH_SECONDS: Final = Histogram(
    "contactpoint_request_elasticsearch_seconds",
    "Seconds of a request spent waiting on Elasticsearch, by route template.",
    ("route",),
    buckets=_BUCKETS,
)
# A scrape's database queries may not hold it up for long.
_SCRAPE_TIMEOUT: Final = "2s"


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED


class MetricsMiddleware:
    """Times each HTTP request and its servers' share, and writes its access line (method,
    route template, status, seconds, request id; never the path or query)."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timing = RequestTiming()
        token = timing_var.set(timing)
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            timing_var.reset(token)
            seconds = time.perf_counter() - started
            route, method = _route_of(scope), str(scope.get("method", ""))
            REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)
            POSTGRES_SECONDS.labels(route).observe(timing.postgres_s)
            ELASTICSEARCH_SECONDS.labels(route).observe(timing.elasticsearch_s)
            if self.access_log:
                log.info(
                    "request",
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "seconds": round(seconds, 4),
                        "postgres_seconds": round(timing.postgres_s, 4),
                        "elasticsearch_seconds": round(timing.elasticsearch_s, 4),
                    },
                )


def time_postgres(engine: Engine) -> None:
    """Count each statement's round trip on `engine` to the request being served."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, *_: Any) -> None:
        conn.info.setdefault("cp_started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, *_: Any) -> None:
        started = conn.info.get("cp_started")
        if started:
            add_postgres(time.perf_counter() - started.pop())


class DatabaseCollector(Collector):
    """What PostgreSQL knows, read at each scrape (one short transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "contactpoint_scrape_database_up", "Whether the scrape could read PostgreSQL."
        )
        try:
            families = self._read()
        except SQLAlchemyError:
            log.warning("the metrics scrape could not read PostgreSQL", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> list[GaugeMetricFamily]:
        with self.engine.begin() as connection:
            connection.execute(text(f"SET LOCAL statement_timeout = '{_SCRAPE_TIMEOUT}'"))
            depth, lag, dead = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM index_outbox), "
                    "COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - "
                    "(SELECT min(enqueued_at) FROM index_outbox)), 0), "
                    "(SELECT count(*) FROM index_dead_letter)"
                )
            ).one()
            deliveries = connection.execute(
                text(
                    "SELECT channel, state, count(*) FROM notification_delivery "
                    "GROUP BY channel, state ORDER BY channel, state"
                )
            ).all()
            records = connection.execute(
                text(
                    "SELECT source, outcome, count(*) FROM feed_record "
                    "GROUP BY source, outcome ORDER BY source, outcome"
                )
            ).all()
            open_reviews = connection.execute(
                text("SELECT count(*) FROM feed_review WHERE decided_at IS NULL")
            ).scalar_one()
        outbox = GaugeMetricFamily(
            "contactpoint_index_outbox_depth", "Committed changes not yet in the index."
        )
        outbox.add_metric([], int(depth))
        lag_family = GaugeMetricFamily(
            "contactpoint_index_lag_seconds", "Age of the oldest change not yet in the index."
        )
        lag_family.add_metric([], float(lag))
        dead_family = GaugeMetricFamily(
            "contactpoint_index_dead_letters", "Changes the indexer set aside after retries."
        )
        dead_family.add_metric([], int(dead))
        delivered = GaugeMetricFamily(
            "contactpoint_notification_deliveries",
            "Notification deliveries by channel and state (pending, delivered, dead).",
            labels=("channel", "state"),
        )
        for channel, state, count in deliveries:
            delivered.add_metric([channel, state], int(count))
        fed = GaugeMetricFamily(
            "contactpoint_feed_records",
            "Records of the national feeds by source and outcome (linked, created, review, held).",
            labels=("source", "outcome"),
        )
        for source, outcome, count in records:
            fed.add_metric([source, outcome], int(count))
        reviews = GaugeMetricFamily(
            "contactpoint_feed_reviews_open", "Feed records waiting for a person's decision."
        )
        reviews.add_metric([], int(open_reviews))
        return [outbox, lag_family, dead_family, delivered, fed, reviews]


def exposition(engine: Engine) -> tuple[bytes, str]:
    """The scrape's body and content type: the request metrics of every worker, and the
    database's figures."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for metric in (REQUEST_SECONDS, POSTGRES_SECONDS, ELASTICSEARCH_SECONDS):
            registry.register(metric)
    registry.register(DatabaseCollector(engine))
    return generate_latest(registry), CONTENT_TYPE_LATEST
