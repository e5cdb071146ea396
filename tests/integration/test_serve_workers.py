"""`serve --with-indexer` on an empty index: four workers start while the indexer builds the
first index, and uvicorn kills none of them as hung (it once did, seen as "died" restarts)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import Engine

from contactpoint.es_client import make_client
from contactpoint.settings import Settings
from indexer.indices import alias_state, delete_indices
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
