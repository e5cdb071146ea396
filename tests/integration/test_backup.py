"""Backups that restore: `contactpoint backup` of a populated database, `contactpoint restore`
into an empty one (a database of its own on the test server, an alias of its own), then every
table's count, a sample of records and the rebuilt index compared with the original; a
restore over a database in use, and a file that does not match its manifest, are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import Engine, create_engine, pool, text

from contactpoint.es_client import make_client
from contactpoint.services import postgres
from contactpoint.settings import Settings
from db.backup import manifest_path
from db.migrate import upgrade
from db.session import make_engine
from indexer.indices import alias_state, delete_indices
from tests.integration.indexing_support import MATCH_STATISTICS, load_demo

pytestmark = pytest.mark.integration

CHILDREN = 300
_CLI = str(Path(sys.executable).with_name("contactpoint"))


@dataclass(frozen=True)
class Place:
    """A database and an alias of the test's own."""

    settings: Settings
    env: dict[str, str]

    def owner(self) -> Engine:
        return create_engine(self.settings.effective_migration_url(), poolclass=pool.NullPool)

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_CLI, *argv], env=self.env, capture_output=True, text=True, timeout=600, check=False
        )


def _place(settings: Settings, name: str) -> Place:
    made = settings.model_copy(
        update={"pg_database": f"contactpoint_{name}", "index_alias": f"children-{name}"}
    )
    postgres.up(made)
    env = {
        **os.environ,
        "PG_DATABASE": made.pg_database,
        "INDEX_ALIAS": made.index_alias,
        "LOG_FORMAT": "text",
    }
    return Place(settings=made, env=env)


def _drop(place: Place, es: Elasticsearch) -> None:
    state = alias_state(es, alias=place.settings.index_alias)
    delete_indices(es, [name for name in [state.live, *state.others] if name])
    admin = create_engine(
        place.settings.model_copy(update={"pg_database": "postgres"}).effective_migration_url(),
        poolclass=pool.NullPool,
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{place.settings.pg_database}"'))
    admin.dispose()


@pytest.fixture
def places(
    settings: Settings, postgres_ready: None, elasticsearch_ready: None, tmp_path: Path
) -> Iterator[tuple[Place, Place]]:
    """A populated source and an empty target."""
    tag = uuid.uuid4().hex[:8]
    source, target = _place(settings, f"bsrc{tag}"), _place(settings, f"bdst{tag}")
    upgrade(url=source.settings.effective_migration_url())
    engine = make_engine(source.settings.effective_database_url())
    try:
        load_demo(engine=engine, tmp_path=tmp_path, children=CHILDREN, seed=11)
    finally:
        engine.dispose()
    es = make_client(settings, purpose="indexer")
    try:
        yield source, target
    finally:
        for place in (source, target):
            _drop(place, es)
        es.close()


def _counts(place: Place) -> dict[str, int]:
    engine = place.owner()
    try:
        with engine.connect() as connection:
            names = connection.execute(
                text(
                    "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = relnamespace "
                    "WHERE nspname = 'public' AND relkind IN ('r', 'p') AND NOT relispartition"
                )
            ).scalars()
            return {
                name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
                for name in names
            }
    finally:
        engine.dispose()


def _rows(place: Place, sql: str) -> list[str]:
    engine = place.owner()
    try:
        with engine.connect() as connection:
            return [
                json.dumps(row, sort_keys=True) for row in connection.execute(text(sql)).scalars()
            ]
    finally:
        engine.dispose()


_SAMPLE = (
    "SELECT row_to_json(c) FROM child c WHERE id % 17 = 3 ORDER BY id",
    "SELECT row_to_json(i) FROM involvement i WHERE id % 13 = 1 ORDER BY id",
    "SELECT row_to_json(r) FROM carer r WHERE id % 11 = 2 ORDER BY id",
)


def test_a_backup_restores_into_an_empty_database_and_the_index_is_rebuilt(
    places: tuple[Place, Place], tmp_path: Path
) -> None:
    source, target = places
    dump = tmp_path / "backups" / "contactpoint.dump"
    made = source.run("backup", "--out", str(dump))
    assert made.returncode == 0, made.stderr
    manifest = json.loads(manifest_path(dump).read_text())
    assert manifest["tables"]["child"] == CHILDREN
    assert (dump.stat().st_mode & 0o777, manifest_path(dump).stat().st_mode & 0o777) == (
        0o600,
        0o600,
    )
    assert source.run("backup", "--out", str(dump)).returncode == 1  # never overwritten

    restored = target.run("restore", str(dump))
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert f"{CHILDREN:,} children" in restored.stdout

    before, after = _counts(source), _counts(target)
    # The source wrote its backup's audit row after the dump, the target the restore's; the
    # reindex registered its build, emptied the outbox and counted the match statistics.
    derived = {"audit_event", "index_build", "index_outbox", *MATCH_STATISTICS}
    assert {name: n for name, n in after.items() if name not in derived} == {
        name: n for name, n in before.items() if name not in derived
    }
    assert set(after) == set(before)
    for sql in _SAMPLE:
        assert _rows(target, sql) == _rows(source, sql) != []
    # Every audit row of the backup is there, unchanged; then the restore's own.
    audit = "SELECT row_to_json(a) FROM audit_event a WHERE event <> 'backup_made' ORDER BY id"
    assert _rows(target, audit)[: len(_rows(source, audit))] == _rows(source, audit)
    events = _rows(target, "SELECT event FROM audit_event ORDER BY id")
    assert json.loads(events[-1]) in ("backup_restored", "reindex")
    assert '"backup_restored"' in events and '"backup_made"' in _rows(
        source, "SELECT event FROM audit_event"
    )
    # The application's role may use the restored database; the index holds every child.
    engine = make_engine(target.settings.effective_database_url())
    try:
        with engine.connect() as connection:
            active = connection.execute(
                text("SELECT count(*) FROM child WHERE status <> 'merged'")
            ).scalar_one()
            sample = connection.execute(
                text("SELECT identifier, family_name FROM child ORDER BY id LIMIT 1")
            ).one()
    finally:
        engine.dispose()
    es = make_client(target.settings, purpose="indexer")
    try:
        es.indices.refresh(index=target.settings.index_alias)
        assert es.count(index=target.settings.index_alias)["count"] == active
        document = es.get(index=target.settings.index_alias, id=sample.identifier)["_source"]
    finally:
        es.close()
    assert sample.family_name in json.dumps(document)


def test_a_restore_over_a_database_in_use_or_of_a_changed_file_is_refused(
    places: tuple[Place, Place], tmp_path: Path
) -> None:
    source, target = places
    dump = tmp_path / "contactpoint.dump"
    assert source.run("backup", "--out", str(dump)).returncode == 0

    over = source.run("restore", str(dump), "--no-reindex")
    assert over.returncode == 1 and "not empty" in over.stderr

    with dump.open("r+b") as handle:
        handle.seek(dump.stat().st_size // 2)
        handle.write(b"\x00tampered\x00")
    changed = target.run("restore", str(dump), "--no-reindex")
    assert changed.returncode == 1 and "does not match its manifest" in changed.stderr
    assert "child" not in _counts(target)
