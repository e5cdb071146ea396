"""The streaming standby (`services up --pg-standby`): with synchronous commit, every commit
that returned is on the standby, so the loss of the primary (SIGKILL, no shutdown) loses none;
the promoted standby takes writes, and the old primary refuses to start beside it.

A primary and a standby of the test's own (in the test stack's folder, which the service user
reaches, on free ports), so the other tests' server is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest

from contactpoint.services import _system as system
from contactpoint.services import postgres
from contactpoint.settings import Settings
from db.migrate import upgrade
from db.session import make_engine
from tests.integration.indexing_support import load_demo

pytestmark = pytest.mark.integration

WRITERS = 4
# Commits acknowledged before the primary is killed (the writers go on until it is).
ACKNOWLEDGED_BEFORE_KILL = 150
DEADLINE_S = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def pair(settings: Settings, postgres_ready: None) -> Iterator[Settings]:
    root = settings.var_dir.resolve() / f"standby-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True)
    primary = _free_port()
    standby = _free_port()
    while standby == primary:
        standby = _free_port()
    mine = settings.model_copy(
        update={"var_dir": root, "pg_port": primary, "pg_standby_port": standby}
    )
    try:
        postgres.up(mine)
        postgres.up_standby(mine)
        upgrade(url=mine.effective_migration_url())
        yield mine
    finally:
        try:
            postgres.down(mine)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _dsn(settings: Settings, *, port: int) -> str:
    url = settings.effective_database_url().replace("postgresql+psycopg2://", "postgresql://")
    return url.replace(f":{settings.pg_port}/", f":{port}/")


@dataclass
class Acknowledged:
    """identifier → the record version of its last commit that returned."""

    versions: dict[str, int] = field(default_factory=dict)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _write(
    dsn: str, identifiers: list[str], acknowledged: Acknowledged, stop: threading.Event
) -> None:
    """Change these children one commit at a time until the server is gone."""
    number = 0
    try:
        connection = psycopg2.connect(dsn, connect_timeout=3)
    except psycopg2.Error:
        return
    try:
        while not stop.is_set():
            identifier = identifiers[number % len(identifiers)]
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "UPDATE child SET family_name = %s WHERE identifier = %s "
                        "RETURNING record_version",
                        (f"Standby{number}", identifier),
                    )
                    row = cursor.fetchone()
                connection.commit()
            except psycopg2.Error:
                # Gone: a commit that did not return may or may not have happened.
                return
            assert row is not None
            with acknowledged.lock:
                acknowledged.versions[identifier] = int(row[0])
                acknowledged.count += 1
            number += 1
    finally:
        connection.close()


def test_no_acknowledged_commit_is_lost_with_the_primary_and_the_standby_takes_over(
    pair: Settings, tmp_path: Path
) -> None:
    engine = make_engine(pair.effective_database_url())
    try:
        load_demo(engine=engine, tmp_path=tmp_path, children=120, seed=8)
        with engine.connect() as connection:
            identifiers = list(
                connection.exec_driver_sql(
                    "SELECT identifier FROM child ORDER BY identifier"
                ).scalars()
            )
    finally:
        engine.dispose()
    # The standby starts and stops with the primary, and the primary's commits wait for it.
    postgres.down(pair)
    assert "standby" in postgres.up(pair)
    line, healthy = postgres.status(pair)
    assert healthy and "standby" in line, line
    admin = psycopg2.connect(
        host=pair.pg_host,
        port=pair.pg_port,
        dbname="postgres",
        user=postgres.ADMIN_ROLE,
        password=pair.local_secrets()["postgres"][postgres.ADMIN_ROLE],
    )
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT application_name, sync_state FROM pg_stat_replication")
            assert cursor.fetchall() == [(postgres.STANDBY_NAME, "sync")]
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("on",)
    finally:
        admin.close()

    acknowledged = Acknowledged()
    stop = threading.Event()
    dsn = _dsn(pair, port=pair.pg_port)
    share = len(identifiers) // WRITERS
    writers = [
        threading.Thread(
            target=_write,
            args=(dsn, identifiers[n * share : (n + 1) * share], acknowledged, stop),
        )
        for n in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + DEADLINE_S
    while acknowledged.count < ACKNOWLEDGED_BEFORE_KILL:
        assert time.monotonic() < deadline, f"only {acknowledged.count} commits returned"
        time.sleep(0.05)
    # The primary lost mid-burst: no shutdown, no last checkpoint.
    postmaster = system.read_pid(postgres.Paths.of(pair).data / "postmaster.pid")
    assert postmaster is not None
    os.kill(postmaster, signal.SIGKILL)
    for writer in writers:
        writer.join(timeout=DEADLINE_S)
    stop.set()
    assert not any(writer.is_alive() for writer in writers)
    with acknowledged.lock:
        expected = dict(acknowledged.versions)
    assert expected

    while system.pid_alive(postmaster):
        time.sleep(0.1)
    assert "promoted" in postgres.promote_standby(pair)

    standby = psycopg2.connect(_dsn(pair, port=postgres.standby_port(pair)), connect_timeout=5)
    try:
        with standby.cursor() as cursor:
            cursor.execute(
                "SELECT identifier, record_version FROM child WHERE identifier = ANY(%s)",
                (list(expected),),
            )
            found = dict(cursor.fetchall())
        # Every commit that returned is there (a later one that did not return may be too).
        lost = {i: v for i, v in expected.items() if found.get(i, -1) < v}
        assert not lost, f"{len(lost)} acknowledged commits missing on the standby: {lost}"
        # The promoted standby takes writes, without waiting for a standby of its own.
        with standby.cursor() as cursor:
            cursor.execute(
                "UPDATE child SET family_name = 'Promoted' WHERE identifier = %s",
                (identifiers[0],),
            )
        standby.commit()
    finally:
        standby.close()
    # The old primary never starts again beside it.
    with pytest.raises(postgres.ServiceError, match="promoted standby"):
        postgres.up(pair)

    # Back to the usual layout (docs/resilience.md): the promoted server in the primary's
    # folder, on the primary's port, with a new standby of its own.
    postgres.down(pair)
    root = Path(pair.var_dir)
    (root / "postgres").rename(root / "postgres.failed")
    (root / "postgres-standby").rename(root / "postgres")
    postgres.up(pair)
    assert "synchronous commit" in postgres.up_standby(pair)
    back = psycopg2.connect(dsn, connect_timeout=5)
    try:
        with back.cursor() as cursor:
            cursor.execute(
                "UPDATE child SET family_name = 'Back' WHERE identifier = %s "
                "RETURNING (SELECT family_name FROM child WHERE identifier = %s)",
                (identifiers[0], identifiers[0]),
            )
            assert cursor.fetchone() == ("Promoted",)
        back.commit()
    finally:
        back.close()
