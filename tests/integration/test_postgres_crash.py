"""PostgreSQL killed (SIGKILL, no shutdown) while changes are being committed and the indexer
is following them: once it is started again, the indexer (which pauses, never exits) catches
up, and every change whose commit was acknowledged is in the index, at its last version; the
notifier, the audit sealer and the lifecycle schedule beside it live through it too.

The crash is of a cluster of the test's own (its own data folder and port, the test stack's
Elasticsearch with an alias of its own), so the other tests' server is never touched.
"""

from __future__ import annotations

import os
import re
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

from contactpoint.demo_data import write_demo_file
from contactpoint.es_client import make_client
from contactpoint.services import _system as system
from contactpoint.services import postgres
from contactpoint.settings import Settings
from db.migrate import upgrade
from db.session import make_engine
from indexer.indices import alias_state, delete_indices
from mappings import fields as f
from tests.integration.indexing_support import database_versions, indexed_versions, load_demo

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


LOAD_CHILDREN = 30_000
# The kill comes once this many children are committed (the load writes 1,000 a transaction).
KILL_AFTER = 4_000


def _load(crash: Crash, path: Path) -> subprocess.CompletedProcess[str]:
    command = str(Path(sys.executable).with_name("contactpoint"))
    return subprocess.run(
        [command, "load", "--no-progress", "--batch-size", "1000", str(path)],
        env=crash.env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )


def _counts(output: str) -> tuple[int, int, int]:
    """(inserted, updated, unchanged) from the load's last line."""
    found = re.search(r"(\d+) inserted, (\d+) updated, (\d+) unchanged", output)
    assert found, output
    inserted, updated, unchanged = (int(group) for group in found.groups())
    return inserted, updated, unchanged


def test_a_load_cut_by_a_killed_postgres_reruns_to_the_same_result_and_the_index_follows(
    crash: Crash, tmp_path: Path
) -> None:
    path = tmp_path / "children.jsonl"
    write_demo_file(path=path, children=LOAD_CHILDREN, seed=9)
    command = str(Path(sys.executable).with_name("contactpoint"))
    log = (tmp_path / "indexer.log").open("wb")
    # The indexer builds the first (empty) index, then follows the load through the outbox.
    indexer = subprocess.Popen(
        [command, "indexer", "run"], env=crash.env, stdout=log, stderr=subprocess.STDOUT
    )
    engine = make_engine(crash.settings.effective_database_url())
    es = make_client(crash.settings, purpose="indexer")
    try:
        load = subprocess.Popen(
            [command, "load", "--no-progress", "--batch-size", "1000", str(path)],
            env=crash.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + DEADLINE_S
        committed = 0
        while committed < KILL_AFTER:
            if load.poll() is not None:
                raise AssertionError(f"the load ended before the kill: {load.communicate()}")
            assert time.monotonic() < deadline
            try:
                with psycopg2.connect(crash.dsn(), connect_timeout=3) as probe:
                    with probe.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM child")
                        row = cursor.fetchone()
                        committed = int(row[0]) if row else 0
            except psycopg2.Error:
                committed = 0
            time.sleep(0.05)
        os.kill(crash.postmaster(), signal.SIGKILL)
        out, err = load.communicate(timeout=DEADLINE_S)
        # A clear error, never a stack trace, that says what to do.
        assert load.returncode == 1, out + err
        assert "Traceback" not in err and "run the same command again" in err, err
        time.sleep(2)
        crash.start()

        rerun = _load(crash, path)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        inserted, updated, unchanged = _counts(rerun.stdout)
        # What was committed before the kill is found as it is; the rest is loaded.
        assert unchanged >= KILL_AFTER and inserted > 0 and updated == 0
        assert inserted + unchanged == LOAD_CHILDREN
        # The same result as one whole load: a third run finds every child as the file says.
        again = _load(crash, path)
        assert again.returncode == 0
        assert _counts(again.stdout) == (0, 0, LOAD_CHILDREN)

        # Every child, at its last version, reaches the index once the indexer catches up.
        expected = database_versions(engine)
        assert len(expected) == LOAD_CHILDREN
        alias = crash.settings.index_alias
        while True:
            try:
                indexed = indexed_versions(es, alias=alias)
            except Exception:  # noqa: BLE001 (no index yet while the indexer builds it)
                indexed = {}
            if indexed == expected:
                break
            assert time.monotonic() < deadline + DEADLINE_S, (
                f"{len(expected.items() - indexed.items())} children not indexed as they are"
            )
            assert indexer.poll() is None
            time.sleep(1)
    finally:
        es.close()
        engine.dispose()
        indexer.send_signal(signal.SIGTERM)
        try:
            indexer.wait(timeout=60)
        except subprocess.TimeoutExpired:
            indexer.kill()
        log.close()
