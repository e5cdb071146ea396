"""The one retry policy for Elasticsearch: which layer retries what, and why.

Only what can succeed on retry is retried: a 429 (overload), a 502, 503 or 504 (a node or proxy
briefly unavailable), a timeout or a lost connection. A 400 or a mapping error is the
document's own fault and fails again on every try; a 500 is an error inside Elasticsearch that
a retry rarely cures, and retrying it would wedge the outbox behind one document. Those are
recorded with the document id (a dead letter, or the reindex's error) and never retried; a
409 means a newer version is already indexed.

1. Bulk writes retry per document, here and nowhere else: `bulk.write_with_retries` re-sends
   only the documents that failed transiently, with tenacity's capped exponential backoff and
   jitter, `RetryPolicy.attempts` tries waiting at most `max_wait_s` (settings
   `INDEXER_RETRY_ATTEMPTS`, `INDEXER_RETRY_FIRST_WAIT_S`, `INDEXER_MAX_BACKOFF_S`). The
   outbox consumer's batches and the reindex's chunks both go through it; what is still left
   after the last try stays queued in the outbox (a reindex queues it there for its catch-up).
2. The client does not retry bulk requests underneath (`max_retries=0` on the bulk path):
   its retries would re-send every document of a request at once, without backoff, and
   multiply the tries of (1). For other requests (alias lookups, index creation, refresh,
   count, searches) the client retries a timeout or a lost connection on another node, up
   to `ES_MAX_RETRIES` times, and never a status (`contactpoint/es_client.py`).
3. The long-running loops (`sync.run_forever`, `worker.run_worker`) retry no write: when a
   round fails for a reason that may pass (a batch left queued by (1), no live index yet, a
   lost server), they pause before the next round with `pausing`, the same capped
   exponential backoff with jitter, and start again from the outbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from elasticsearch import exceptions as es_exceptions
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    wait_exponential_jitter,
)

if TYPE_CHECKING:
    from contactpoint.settings import Settings

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Raised by the transport when no answer came: the request may be sent again.
TRANSIENT_TRANSPORT_ERRORS = (es_exceptions.ConnectionError, es_exceptions.ConnectionTimeout)
# The first pause of a long-running loop; it doubles with each failed round in a row.
_FIRST_PAUSE_S = 0.5


def is_transient(exc: BaseException) -> bool:
    """An Elasticsearch failure that may pass: no answer, or a retryable status."""
    if isinstance(exc, TRANSIENT_TRANSPORT_ERRORS):
        return True
    return isinstance(exc, es_exceptions.ApiError) and exc.status_code in RETRYABLE_STATUSES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a bulk write retries its transient failures."""

    attempts: int = 5
    first_wait_s: float = 0.2
    max_wait_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy configured for this deployment."""
        return cls(
            attempts=settings.indexer_retry_attempts,
            first_wait_s=settings.indexer_retry_first_wait_s,
            max_wait_s=settings.indexer_max_backoff_s,
        )

    def wait(self) -> wait_exponential_jitter:
        """Capped exponential backoff with jitter between tries."""
        return wait_exponential_jitter(multiplier=self.first_wait_s, max=self.max_wait_s)


def pausing(
    *,
    what: str,
    pause_on: Callable[[BaseException], bool],
    max_pause_s: float,
    should_stop: Callable[[], bool],
    sleep: Callable[[float], None] = time.sleep,
) -> Retrying:
    """Run a long-running loop's round until it succeeds, pausing after each failure that
    `pause_on` accepts (capped exponential backoff with jitter); None once `should_stop()`.

    Every call starts again from the first pause: a success resets the backoff.
    """

    def log_pause(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        pause = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s paused for %.1f s: %s", what, pause, failure)

    return Retrying(
        retry=retry_if_exception(pause_on),
        stop=lambda _state: should_stop(),
        wait=wait_exponential_jitter(multiplier=_FIRST_PAUSE_S, max=max_pause_s),
        sleep=sleep,
        before_sleep=log_pause,
        retry_error_callback=lambda _state: None,
    )
