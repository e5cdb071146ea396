"""The long-running indexer process: the outbox consumer with signal handling and restarts."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from elasticsearch import Elasticsearch
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from contactpoint.settings import Settings
from indexer.indices import alias_state
from indexer.reindex import ReindexError, ReindexOptions, reindex
from indexer.retry import is_transient, pausing
from indexer.sync import retrying_writer, run_forever

log = logging.getLogger(__name__)


def run_worker(*, settings: Settings, engine: Engine, client: Elasticsearch) -> None:
    """Run until SIGINT/SIGTERM; a lost server pauses the work, it never ends it."""
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    options = ReindexOptions.from_settings(settings)
    writer = retrying_writer(options.retry)

    def serve_outbox() -> None:
        if stopping.is_set():
            return
        if alias_state(client, alias=settings.index_alias).live is None:
            log.info("no live index yet: building the first one")
            reindex(
                engine=engine,
                client=client,
                alias=settings.index_alias,
                options=options,
                writer=writer,
            )
        run_forever(
            engine=engine,
            client=client,
            alias=settings.index_alias,
            limit=settings.indexer_batch_size,
            writer=writer,
            poll_interval_s=settings.indexer_poll_interval_s,
            max_backoff_s=settings.indexer_max_backoff_s,
            should_stop=stopping.is_set,
        )

    def pause(seconds: float) -> None:
        # Interrupted at once by SIGTERM/SIGINT: a paused indexer stops without delay.
        stopping.wait(seconds)

    # The listening connection is the driver's own (`run_forever`): when PostgreSQL is gone,
    # connecting it or polling it raises the driver's errors, not SQLAlchemy's.
    driver = engine.dialect.loaded_dbapi
    server_gone = (OperationalError, ReindexError, driver.OperationalError, driver.InterfaceError)
    pausing(
        what="indexer",
        pause_on=lambda exc: isinstance(exc, server_gone) or is_transient(exc),
        max_pause_s=settings.indexer_max_backoff_s,
        should_stop=stopping.is_set,
        sleep=pause,
    )(serve_outbox)
    log.info("indexer stopped")
