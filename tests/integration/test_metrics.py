"""/metrics on the real application: who may scrape it, and what it holds (route templates,
never a path that names a child; the database's figures read at the scrape)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from contactpoint.settings import Settings
from db.access import Role
from searchapi.routes.operations import METRICS_REFUSAL
from tests.integration.access_support import bearer, build_client, new_account, session_token

TOKEN = "a-long-random-scrape-token-for-the-test"


def _client(fast: Settings, address: str) -> Iterator[TestClient]:
    settings = fast.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    _, client = build_client(settings, address=address)
    with client:
        yield client


@pytest.fixture
def outside(engine: Engine, fast: Settings) -> Iterator[TestClient]:
    """A caller from an address outside METRICS_NETWORKS (the loopback by default)."""
    yield from _client(fast, "203.0.113.9")


@pytest.fixture
def loopback(engine: Engine, fast: Settings) -> Iterator[TestClient]:
    yield from _client(fast, "127.0.0.1")


def test_a_scraper_outside_the_networks_needs_the_token(outside: TestClient) -> None:
    refused = outside.get("/metrics")
    wrong = outside.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    empty = outside.get("/metrics", headers={"Authorization": "Bearer "})
    allowed = outside.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    for answer in (refused, wrong, empty):
        assert answer.status_code == 403
        assert answer.json()["message"] == METRICS_REFUSAL and answer.json()["request_id"]
        assert "contactpoint_" not in answer.text
    assert allowed.status_code == 200
    assert allowed.headers["content-type"].startswith("text/plain")


def test_requests_are_counted_by_route_template_never_by_path(
    loopback: TestClient, engine: Engine, fast: Settings
) -> None:
    account = new_account(engine, fast, roles=[Role.PRACTITIONER])
    headers = bearer(session_token(engine, account.username))
    unknown = "9434765919"
    assert loopback.get(f"/v1/children/{unknown}", headers=headers).status_code == 404
    assert loopback.get("/no/such/page/9434765919").status_code == 404

    scraped = loopback.get("/metrics")

    assert scraped.status_code == 200
    text = scraped.text
    assert (
        'contactpoint_request_seconds_count{method="GET",route="/v1/children/{identifier}",'
        'status="404"}'
    ) in text
    assert 'route="unmatched"' in text
    assert unknown not in text
    for family in (
        "contactpoint_request_postgres_seconds_bucket",
        "contactpoint_request_elasticsearch_seconds_bucket",
        "contactpoint_index_outbox_depth",
        "contactpoint_index_lag_seconds",
        "contactpoint_index_dead_letters",
        "contactpoint_feed_reviews_open",
        "contactpoint_scrape_database_up 1.0",
    ):
        assert family in text, family
