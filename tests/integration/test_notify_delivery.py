"""The deliverer on real servers: e-mail to a real SMTP server, signed webhooks to a real
receiver, retries through an outage, dead letters and their retry."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.audit import AuditContext
from db.subscriptions import set_webhook
from notify import deliver_due, queue_status, retry_dead
from tests.integration.access_support import build_client, fast_settings
from tests.integration.delivery_support import SmtpServer, WebhookReceiver
from tests.integration.notify_support import Writer, working_practitioner
from tests.integration.search_support import Kid, Population, build_population

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def population(
    engine: Engine, elasticsearch_ready: None, settings: Settings, tmp_path_factory: Any
) -> Iterator[Population]:
    yield from build_population(
        engine=engine, settings=settings, tmp_path_factory=tmp_path_factory, children=300, seed=18
    )


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def notify_settings(population: Population, smtp: SmtpServer) -> Settings:
    return fast_settings(
        population.settings,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_timeout_s=2.0,
        public_url="https://contactpoint.example.gov.uk",
        notify_backoff_base_s=0.1,
        notify_backoff_cap_s=0.4,
        notify_max_attempts=4,
        webhook_timeout_s=2.0,
    )


@pytest.fixture(scope="module")
def client(notify_settings: Settings) -> Iterator[TestClient]:
    _, test_client = build_client(notify_settings)
    with test_client:
        yield test_client


@pytest.fixture
def deliver(population: Population, notify_settings: Settings) -> Iterator[Callable[[], Any]]:
    with httpx.Client(timeout=notify_settings.webhook_timeout_s) as http:
        yield lambda: deliver_due(settings=notify_settings, engine=population.engine, http=http)


def _deliveries(engine: Engine, *, target: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT id, state, attempts, last_error FROM notification_delivery"
                    " WHERE target = :target ORDER BY id"
                ),
                {"target": target},
            )
        )


def _until(deliver: Callable[[], Any], done: Callable[[], bool], *, within_s: float = 15) -> None:
    deadline = time.monotonic() + within_s
    while not done():
        assert time.monotonic() < deadline, "not delivered in time"
        deliver()
        time.sleep(0.05)


def _kid(population: Population, identifier: str) -> Kid:
    return next(kid for kid in population.kids if kid.identifier == identifier)


def test_the_email_says_only_that_there_is_news_and_where_to_sign_in(
    population: Population, client: TestClient, smtp: SmtpServer, deliver: Callable[[], Any]
) -> None:
    working = working_practitioner(population.engine, offset=0)
    writer = Writer(population.engine, population.settings, authority=working.authority)
    assert writer.start(client, working.identifier).status_code == 201
    _until(deliver, lambda: bool(smtp.to(working.email)))
    [mail] = smtp.to(working.email)
    body = mail.message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "news about a child you work with" in body
    assert "https://contactpoint.example.gov.uk/inbox" in body
    kid = _kid(population, working.identifier)
    whole = mail.message.as_string()
    for secret in (kid.identifier, kid.family_name, kid.given_names, kid.date_of_birth.isoformat()):
        assert secret not in whole
    assert [row.state for row in _deliveries(population.engine, target=working.email)] == [
        "delivered"
    ]


def test_an_smtp_outage_delays_the_email_and_loses_nothing(
    population: Population, client: TestClient, smtp: SmtpServer, deliver: Callable[[], Any]
) -> None:
    working = working_practitioner(population.engine, offset=1)
    writer = Writer(population.engine, population.settings, authority=working.authority)
    smtp.stop()
    try:
        assert writer.start(client, working.identifier).status_code == 201
        deadline = time.monotonic() + 10
        while not (rows := _deliveries(population.engine, target=working.email)) or (
            rows[0].attempts < 2
        ):
            assert time.monotonic() < deadline
            deliver()
            time.sleep(0.1)
        assert rows[0].state == "pending" and "SMTP" in rows[0].last_error
    finally:
        smtp.start()
    _until(deliver, lambda: bool(smtp.to(working.email)))
    assert len(smtp.to(working.email)) == 1
    [row] = _deliveries(population.engine, target=working.email)
    assert row.state == "delivered" and row.attempts >= 3


def _subscribed_receiver(
    population: Population, client: TestClient, writer: Writer, identifier: str
) -> WebhookReceiver:
    receiver = WebhookReceiver()
    with Session(population.engine) as session, session.begin():
        receiver.secret = str(
            set_webhook(
                session=session,
                context=AuditContext.operator(),
                client_name=writer.name,
                url=receiver.url,
            )
        )
    answer = client.post(f"/v1/children/{identifier}/subscription", headers=writer.headers())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"identifier": identifier, "subscribed": True, "changed": True}
    return receiver


def test_a_subscriber_gets_a_signed_webhook_with_the_event_and_the_identifier_only(
    population: Population, client: TestClient, deliver: Callable[[], Any]
) -> None:
    working = working_practitioner(population.engine, offset=2)
    subscriber = Writer(population.engine, population.settings, authority=working.authority)
    receiver = _subscribed_receiver(population, client, subscriber, working.identifier)
    receiver.start()
    try:
        other = Writer(population.engine, population.settings, authority=working.authority)
        assert other.start(client, working.identifier).status_code == 201
        _until(deliver, lambda: bool(receiver.hooks))
    finally:
        receiver.stop()
    [hook] = receiver.hooks
    assert hook.signed and set(hook.body) == {"type", "id", "time", "child"}
    assert hook.body["type"] == "involvement_started" and hook.event_id == hook.body["id"]
    assert hook.body["child"] == {"identifier": working.identifier}
    again = client.post(
        f"/v1/children/{working.identifier}/subscription", headers=subscriber.headers()
    )
    assert again.json()["changed"] is False
    gone = client.delete(
        f"/v1/children/{working.identifier}/subscription", headers=subscriber.headers()
    )
    assert gone.status_code == 200 and gone.json()["subscribed"] is False


def test_a_failing_receiver_is_retried_then_dead_then_retried_by_the_operator(
    population: Population, client: TestClient, deliver: Callable[[], Any]
) -> None:
    working = working_practitioner(population.engine, offset=3)
    subscriber = Writer(population.engine, population.settings, authority=working.authority)
    receiver = _subscribed_receiver(population, client, subscriber, working.identifier)
    receiver.status = 503
    receiver.start()
    try:
        assert subscriber.start(client, working.identifier).status_code == 201
        _until(
            deliver,
            lambda: (
                [row.state for row in _deliveries(population.engine, target=receiver.url)]
                == ["dead"]
            ),
        )
        [row] = _deliveries(population.engine, target=receiver.url)
        assert row.attempts == 4 and "503" in row.last_error
        with population.engine.connect() as connection:
            status = queue_status(connection=connection)
        assert status.counts["webhook"]["dead"] >= 1
        assert any(letter["target"] == receiver.url for letter in status.dead)
        with population.engine.begin() as connection:
            assert retry_dead(connection=connection, channel="webhook") >= 1
        receiver.status = 204
        _until(deliver, lambda: bool(receiver.hooks))
    finally:
        receiver.stop()
    assert [row.state for row in _deliveries(population.engine, target=receiver.url)] == [
        "delivered"
    ]


def test_a_receiver_that_refuses_the_request_is_dead_at_once(
    population: Population, client: TestClient, deliver: Callable[[], Any]
) -> None:
    working = working_practitioner(population.engine, offset=4)
    subscriber = Writer(population.engine, population.settings, authority=working.authority)
    receiver = _subscribed_receiver(population, client, subscriber, working.identifier)
    receiver.secret = "not the secret it signs with"  # every signature is then refused: 401
    receiver.start()
    try:
        assert subscriber.start(client, working.identifier).status_code == 201
        _until(
            deliver,
            lambda: (
                [row.state for row in _deliveries(population.engine, target=receiver.url)]
                == ["dead"]
            ),
        )
    finally:
        receiver.stop()
    [row] = _deliveries(population.engine, target=receiver.url)
    assert row.attempts == 1 and "401" in row.last_error


def test_subscribing_without_a_webhook_is_a_409_and_an_unknown_child_a_404(
    population: Population, client: TestClient
) -> None:
    working = working_practitioner(population.engine, offset=5)
    writer = Writer(population.engine, population.settings, authority=working.authority)
    answer = client.post(
        f"/v1/children/{working.identifier}/subscription", headers=writer.headers()
    )
    assert answer.status_code == 409 and "webhook" in answer.json()["message"]
    _subscribed_receiver(population, client, writer, working.identifier)
    missing = client.post("/v1/children/9999999999/subscription", headers=writer.headers())
    assert missing.status_code in (404, 422)
