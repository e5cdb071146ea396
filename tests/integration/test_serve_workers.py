"""`serve --with-indexer` on an empty index: four workers start while the indexer builds the
first index, and uvicorn kills none of them as hung (it once did, seen as "died" restarts).
Then, on the running service: /metrics adds up every worker's requests by route template, and
no log line of any process names the child searched for and viewed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import Engine, text

from contactpoint.es_client import make_client
from contactpoint.settings import Settings
from db.access import Role
from indexer.indices import alias_state, delete_indices
from tests.integration.access_support import new_account, session_token
from tests.integration.indexing_support import load_demo, reset_everything

pytestmark = pytest.mark.integration

CHILDREN = 3000
WORKERS = 4
# A bound on the wait, not a timing under test: start-up normally takes a few seconds.
DEADLINE_S = 150


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _healthz_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # 503 "degraded" is an answer: a worker is serving
    except OSError:
        return False


def _indexed(es: Elasticsearch, alias: str) -> int:
    if alias_state(es, alias=alias).live is None:
        return 0
    return int(es.count(index=alias)["count"])


@pytest.fixture
def indexer_es(settings: Settings, elasticsearch_ready: None) -> Iterator[Elasticsearch]:
    es = make_client(settings, purpose="indexer")
    yield es
    es.close()


@pytest.fixture
def empty_alias(indexer_es: Elasticsearch) -> Iterator[str]:
    """An alias of the indexer's family that has no index yet; its indices are deleted after."""
    alias = f"children-workers-{uuid.uuid4().hex[:8]}"
    yield alias
    state = alias_state(indexer_es, alias=alias)
    delete_indices(indexer_es, [name for name in [state.live, *state.others] if name])


def test_serve_starts_four_workers_while_the_first_index_is_built_and_none_dies(
    engine: Engine,
    settings: Settings,
    indexer_es: Elasticsearch,
    empty_alias: str,
    tmp_path: Path,
) -> None:
    reset_everything(settings=settings, client=indexer_es)
    load_demo(engine=engine, tmp_path=tmp_path, children=CHILDREN, seed=3)
    port = _free_port()
    env = {
        **os.environ,
        "INDEX_ALIAS": empty_alias,
        "API_WORKERS": str(WORKERS),
        "API_PORT": str(port),
    }
    log_path = tmp_path / "serve.log"
    command = [str(Path(sys.executable).with_name("contactpoint")), "serve", "--with-indexer"]
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + DEADLINE_S
        answered = indexed = False
        while time.monotonic() < deadline and server.poll() is None:
            answered = answered or _healthz_answers(port)
            indexed = _indexed(indexer_es, empty_alias) == CHILDREN
            if answered and indexed:
                break
            time.sleep(0.5)
        output = log_path.read_text(errors="replace")
        assert answered and indexed, output[-3000:]
        # Every worker has reported; uvicorn's supervisor has pinged them all since.
        while output.count("Application startup complete") < WORKERS:
            assert time.monotonic() < deadline and server.poll() is None, output[-3000:]
            time.sleep(0.5)
            output = log_path.read_text(errors="replace")
        time.sleep(2)
        child = _search_view_and_scrape(engine, settings, port)
        output = log_path.read_text(errors="replace")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert not [line for line in output.splitlines() if "died" in line], output[-3000:]
    assert output.count("Started server process") == WORKERS, output[-3000:]

    # No log line of the service, its workers or the jobs beside it names the child.
    for value in child:
        assert value.lower() not in output.lower(), f"{value!r} is in the log"
    lines = [line for line in output.splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    access = [r for r in records if r["logger"] == "searchapi.access"]
    assert {r["route"] for r in access} >= {"/v1/search", "/v1/children/{identifier}", "/search"}
    assert all(r["request_id"] for r in access)


def _request(port: int, path: str, *, token: str | None, body: object = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def _search_view_and_scrape(engine: Engine, settings: Settings, port: int) -> list[str]:
    """View a child's record, send a bad search naming it (through the API, and the page's form
    without signing in), and read /metrics; returns the child's name, date of birth and
    postcode."""
    with engine.connect() as connection:
        kid = connection.execute(
            text(
                "SELECT identifier, given_names, family_name, date_of_birth, postcode "
                "FROM child WHERE status = 'active' AND length(family_name) > 5 "
                "ORDER BY id LIMIT 1"
            )
        ).one()
    account = new_account(engine, settings, roles=[Role.PRACTITIONER])
    token = session_token(engine, account.username)
    given = kid.given_names.split()[0]
    born = kid.date_of_birth.isoformat()
    criteria = {"given_name": given, "family_name": kid.family_name, "date_of_birth": born}
    # The API's read-only search user may not read this test's own alias: searches are the
    # bad ones (refused before Elasticsearch), the view is PostgreSQL's.
    assert _request(port, f"/v1/children/{kid.identifier}", token=token) == 200
    bad = {**criteria, "date_of_birth": f"{born} {kid.postcode}"}
    assert _request(port, "/v1/search", token=token, body=bad) == 422
    query = urllib.parse.urlencode({"family_name": kid.family_name, "postcode": kid.postcode})
    assert _request(port, f"/search?{query}", token=None) in (200, 303, 401)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        scraped = answer.read().decode()
    viewed = (
        'contactpoint_request_seconds_count{method="GET",route="/v1/children/{identifier}",'
        'status="200"} 1.0'
    )
    assert viewed in scraped, scraped[:3000]
    assert 'contactpoint_request_seconds_count{method="POST",route="/v1/search",status="422"}' in (
        scraped
    )
    assert "contactpoint_index_outbox_depth" in scraped and kid.identifier not in scraped
    return [kid.family_name, given, born, kid.postcode, kid.postcode.replace(" ", "")]
