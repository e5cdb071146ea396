"""PostgreSQL killed (SIGKILL, no shutdown) while changes are being committed and the indexer
is following them: once it is started again, the indexer (which pauses, never exits) catches
up, and every change whose commit was acknowledged is in the index, at its last version; the
notifier, the audit sealer and the lifecycle schedule beside it live through it too.

The crash is of a cluster of the test's own (its own data folder and port, the test stack's
Elasticsearch with an alias of its own), so the other tests' server is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
from elasticsearch import Elasticsearch

from contactpoint.es_client import make_client
from contactpoint.services import _system as system
from contactpoint.services import postgres
from contactpoint.settings import Settings
from db.migrate import upgrade
from db.session import make_engine
from indexer.indices import alias_state, delete_indices
from mappings import fields as f
from tests.integration.indexing_support import load_demo

pytestmark = pytest.mark.integration

CHILDREN = 200
CHANGES = 240
# Bounds on the waits, not timings under test.
DEADLINE_S = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Crash:
    settings: Settings
    env: dict[str, str]

    def dsn(self) -> str:
        url = self.settings.effective_database_url()
        return url.replace("postgresql+psycopg2://", "postgresql://")

    def postmaster(self) -> int:
        pid = system.read_pid(postgres.Paths.of(self.settings).data / "postmaster.pid")
        assert pid is not None
        return pid

    def start(self) -> None:
        # Backends of a killed postmaster may hold its shared memory for a moment.
        deadline = time.monotonic() + 60
        while True:
            try:
                postgres.up(self.settings)
                return
            except postgres.ServiceError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


@pytest.fixture
def crash(settings: Settings, postgres_ready: None, elasticsearch_ready: None) -> Iterator[Crash]:
    """A cluster of its own in the test stack's folder (the service user reaches it), with
    the stack's secrets (Elasticsearch's users), on a free port, migrated."""
    root = settings.var_dir.resolve() / f"crash-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True)
    shutil.copy(settings.secrets_file, root / "secrets.json")
    mine = settings.model_copy(
        update={
            "var_dir": root,
            "pg_port": _free_port(),
            "index_alias": f"children-crash-{root.name[6:]}",
        }
    )
    env = {
        **os.environ,
        "VAR_DIR": str(root),
        "PG_PORT": str(mine.pg_port),
        "INDEX_ALIAS": mine.index_alias,
        "INDEXER_MAX_BACKOFF_S": "2",
        "LOG_FORMAT": "text",
    }
    made = Crash(settings=mine, env=env)
    made.start()
    es = make_client(mine, purpose="indexer")
    try:
        upgrade(url=mine.effective_migration_url())
        yield made
    finally:
        state = alias_state(es, alias=mine.index_alias)
        delete_indices(es, [name for name in [state.live, *state.others] if name])
        es.close()
        try:
            postgres.down(mine)
        finally:
            shutil.rmtree(root, ignore_errors=True)


@dataclass
class Committed:
    """identifier → the last record version whose commit was acknowledged."""

    versions: dict[str, int] = field(default_factory=dict)
    failed_commits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _commit_changes(crash: Crash, identifiers: list[str], committed: Committed) -> None:
    """Change the children one after another, each in its own transaction, reconnecting when
    the server is gone; only a commit that returned counts as committed."""
    connection = None
    done = 0
    deadline = time.monotonic() + DEADLINE_S
    while done < CHANGES and time.monotonic() < deadline:
        try:
            if connection is None:
                connection = psycopg2.connect(crash.dsn(), connect_timeout=3)
            identifier = identifiers[done % len(identifiers)]
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE child SET family_name = %s WHERE identifier = %s "
                    "RETURNING record_version",
                    (f"Crash{done}", identifier),
                )
                (version,) = cursor.fetchone()
            connection.commit()
        except psycopg2.Error:
            # Gone mid-change (a commit not acknowledged may or may not have happened).
            with committed.lock:
                committed.failed_commits += 1
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.2)
            continue
        with committed.lock:
            committed.versions[identifier] = int(version)
        done += 1
        time.sleep(0.01)
    if connection is not None:
        connection.close()


def _indexed(es: Elasticsearch, alias: str, identifiers: list[str]) -> dict[str, int]:
    es.indices.refresh(index=alias)
    docs = es.mget(index=alias, ids=identifiers, source=[f.RECORD_VERSION])["docs"]
    return {doc["_id"]: int(doc["_source"][f.RECORD_VERSION]) for doc in docs if doc.get("found")}


def test_a_killed_postgres_loses_no_acknowledged_change(crash: Crash, tmp_path: Path) -> None:
    engine = make_engine(crash.settings.effective_database_url())
    try:
        load_demo(engine=engine, tmp_path=tmp_path, children=CHILDREN, seed=5)
        with engine.connect() as connection:
            identifiers = list(
                connection.exec_driver_sql(
                    "SELECT identifier FROM child WHERE status = 'active' ORDER BY id LIMIT 60"
                ).scalars()
            )
    finally:
        engine.dispose()
    log = (tmp_path / "indexer.log").open("wb")
    command = str(Path(sys.executable).with_name("contactpoint"))
    indexer = subprocess.Popen(
        [command, "indexer", "run"], env=crash.env, stdout=log, stderr=subprocess.STDOUT
    )
    # The other processes that run beside the API live through it too.
    beside = [
        subprocess.Popen([command, *argv], env=crash.env, stdout=log, stderr=subprocess.STDOUT)
        for argv in (("notify", "run"), ("audit", "seal"), ("lifecycle", "schedule"))
    ]
    es = make_client(crash.settings, purpose="indexer")
    alias = crash.settings.index_alias
    try:
        deadline = time.monotonic() + DEADLINE_S
        while alias_state(es, alias=alias).live is None or len(
            _indexed(es, alias, identifiers)
        ) < len(identifiers):
            assert time.monotonic() < deadline and indexer.poll() is None
            time.sleep(0.5)

        committed = Committed()
        writer = threading.Thread(target=_commit_changes, args=(crash, identifiers, committed))
        writer.start()
        while len(committed.versions) < 20:
            assert writer.is_alive()
            time.sleep(0.05)
        os.kill(crash.postmaster(), signal.SIGKILL)
        time.sleep(2)
        crash.start()
        writer.join(timeout=DEADLINE_S)
        assert not writer.is_alive()
        assert committed.failed_commits > 0, "the kill came after the changes"

        # Every acknowledged change reaches the index, at its last version.
        while True:
            indexed = _indexed(es, alias, list(committed.versions))
            behind = {
                identifier: (version, indexed.get(identifier))
                for identifier, version in committed.versions.items()
                if indexed.get(identifier, 0) < version
            }
            if not behind:
                break
            assert time.monotonic() < deadline + DEADLINE_S, behind
            time.sleep(0.5)
        # Each paused while the server was gone; none exited.
        assert [process.poll() for process in (indexer, *beside)] == [None] * 4
    finally:
        es.close()
        for process in (indexer, *beside):
            process.send_signal(signal.SIGTERM)
        for process in (indexer, *beside):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
    output = (tmp_path / "indexer.log").read_text(errors="replace")
    assert "indexed" in output
