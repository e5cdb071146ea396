"""The deliverer: claim due deliveries, send each by its channel, record what happened.

`deliver_due` is one pass (the tests and the benchmark drive it); `run_deliverer` repeats it
until SIGTERM, sleeping only when nothing was due. A lost PostgreSQL pauses the work.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import FrameType

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from contactpoint.settings import Settings
from db.models import ApiClient
from notify.channels import DeliveryError, WebhookTarget, post_webhook, send_email
from notify.queue import Claimed, backoff_s, claim, delivered, failed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PassResult:
    """What one pass did."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def attempted(self) -> int:
        """Deliveries tried in the pass."""
        return self.delivered + self.retried + self.dead


def _targets(engine: Engine, claimed: list[Claimed]) -> dict[int, WebhookTarget | None]:
    ids = {item.client_id for item in claimed if item.client_id is not None}
    if not ids:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(ApiClient.id, ApiClient.webhook_url, ApiClient.webhook_secret).where(
                ApiClient.id.in_(ids), ApiClient.revoked_at.is_(None)
            )
        )
        found = {
            row.id: WebhookTarget(url=row.webhook_url, secret=row.webhook_secret)
            for row in rows
            if row.webhook_url and row.webhook_secret
        }
    return {client_id: found.get(client_id) for client_id in ids}


def _attempt(
    settings: Settings,
    http: httpx.Client,
    targets: dict[int, WebhookTarget | None],
    item: Claimed,
) -> DeliveryError | None:
    try:
        if item.channel == "email":
            send_email(settings, item)
        else:
            target = targets.get(item.client_id or -1)
            if target is None:
                raise DeliveryError("the client is revoked or has no webhook", permanent=True)
            post_webhook(http, target, item)
    except DeliveryError as exc:
        return exc
    return None


def deliver_due(*, settings: Settings, engine: Engine, http: httpx.Client) -> PassResult:
    """Claim what is due (one batch), send it in parallel, record each outcome."""
    with engine.begin() as connection:
        claimed = claim(
            connection=connection, limit=settings.notify_batch_size, lease_s=settings.notify_lease_s
        )
    if not claimed:
        return PassResult()
    targets = _targets(engine, claimed)
    with ThreadPoolExecutor(max_workers=min(settings.notify_workers, len(claimed))) as pool:
        outcomes = list(pool.map(lambda item: _attempt(settings, http, targets, item), claimed))
    done = retried = dead = 0
    with engine.begin() as connection:
        for item, error in zip(claimed, outcomes, strict=True):
            if error is None:
                delivered(connection=connection, delivery_id=item.id)
                done += 1
                continue
            last = error.permanent or item.attempts >= settings.notify_max_attempts
            wait = (
                None
                if last
                else backoff_s(
                    item.attempts,
                    base_s=settings.notify_backoff_base_s,
                    cap_s=settings.notify_backoff_cap_s,
                )
            )
            failed(connection=connection, delivery_id=item.id, error=str(error), retry_in_s=wait)
            # The delivery's id and channel only: the target may be a person's address.
            log.warning(
                "delivery %s (%s) attempt %s failed%s: %s",
                item.id,
                item.channel,
                item.attempts,
                " (dead)" if last else "",
                type(error).__name__,
            )
            dead += last
            retried += not last
    return PassResult(delivered=done, retried=retried, dead=dead)


def run_deliverer(
    *, settings: Settings, engine: Engine, stopping: threading.Event | None = None
) -> None:
    """Deliver until SIGTERM/SIGINT (or `stopping`), sleeping when nothing was due."""
    stop = stopping or threading.Event()
    if stopping is None:

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stopping after the current batch", signum)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    with httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False) as http:
        while not stop.is_set():
            try:
                result = deliver_due(settings=settings, engine=engine, http=http)
            except OperationalError:
                log.warning("PostgreSQL unavailable: waiting")
                stop.wait(max(settings.notify_poll_s, 2.0))
                continue
            if result.attempted < settings.notify_batch_size:
                stop.wait(settings.notify_poll_s)


def deliverer_thread(*, settings: Settings, engine: Engine) -> Callable[[], None]:
    """Start a deliverer in a thread (tests, benchmarks); the function returned stops it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_deliverer,
        kwargs={"settings": settings, "engine": engine, "stopping": stop},
        daemon=True,
    )
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)

    return halt
