"""Backups that restore: the whole database with `pg_dump` (custom format, one consistent
snapshot), a manifest beside it, and `pg_restore` into an empty database.

For an installation of ContactPoint's size on one server, a logical dump is the simple
backup: `pg_dump` reads one REPEATABLE READ snapshot, so every table is as of one moment (the
outbox and the audit with the rows they describe). The manifest holds the file's SHA-256, the
schema's migration revision and each table's row count at that snapshot: a restore refuses a
file that does not match it, and checks every table's count after. The index is not backed up:
it is rebuilt from the restored database (`contactpoint restore` reindexes).

The dump holds every child: it is written readable by its owner alone (0600), and each backup
and restore is an audit row.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, make_url, pool, text

MANIFEST_VERSION: Final = 1
_CHUNK: Final = 1 << 20


class BackupError(RuntimeError):
    """The backup or restore could not be made, or does not match its manifest."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, written beside it as `<file>.json`."""

    version: int
    file: str
    sha256: str
    bytes: int
    made_at: str
    database: str
    revision: str
    pg_dump: str
    tables: dict[str, int]

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"the manifest {path} cannot be read: {exc}") from exc

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        path.chmod(0o600)


def manifest_path(dump: Path) -> Path:
    """The manifest beside a dump."""
    return dump.with_name(dump.name + ".json")


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and the environment that carries it (a
    password on a command line is visible to every user of the machine)."""
    parsed = make_url(url)
    password = parsed.password
    plain = parsed.set(drivername="postgresql", password=None, query={})
    env = {**os.environ}
    if password is not None:
        env["PGPASSWORD"] = str(password)
    return plain.render_as_string(hide_password=False), env


def _tables(connection: Connection) -> list[str]:
    return list(
        connection.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
                "AND NOT c.relispartition ORDER BY c.relname"
            )
        ).scalars()
    )


def table_counts(connection: Connection) -> dict[str, int]:
    """Every table's exact row count (a partitioned table's over its partitions)."""
    quote = connection.dialect.identifier_preparer.quote
    return {
        name: int(connection.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar_one())
        for name in _tables(connection)
    }


def _revision(connection: Connection) -> str:
    return str(connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _run(argv: list[str], env: Mapping[str, str]) -> str:
    try:
        done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackupError(f"{argv[0]} could not be run: {exc}") from exc
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def make_backup(*, url: str, bin_dir: Path, out: Path) -> Manifest:
    """Dump the database at `url` (the schema owner's) into `out` with its manifest.

    The counts are taken in a snapshot exported to `pg_dump`, so they describe exactly the
    rows it wrote.
    """
    if out.exists():
        raise BackupError(f"{out} exists already: a backup never overwrites one")
    out.parent.mkdir(parents=True, exist_ok=True)
    target, env = _libpq(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                counts = table_counts(connection)
                revision = _revision(connection)
                database = str(connection.execute(text("SELECT current_database()")).scalar())
                # Created empty and private before pg_dump writes into it.
                out.touch(mode=0o600)
                _run(
                    [
                        str(bin_dir / "pg_dump"),
                        "--format=custom",
                        f"--snapshot={snapshot}",
                        f"--file={out}",
                        f"--dbname={target}",
                    ],
                    env,
                )
    except BackupError:
        out.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    version = _run([str(bin_dir / "pg_dump"), "--version"], env).strip()
    manifest = Manifest(
        version=MANIFEST_VERSION,
        file=out.name,
        sha256=_sha256(out),
        bytes=out.stat().st_size,
        made_at=datetime.now(UTC).isoformat(),
        database=database,
        revision=revision,
        pg_dump=version,
        tables=counts,
    )
    manifest.write(manifest_path(out))
    return manifest


@dataclass(frozen=True)
class Restored:
    """A restore: the manifest it matched, and each table's count after it."""

    manifest: Manifest
    tables: dict[str, int]


def _is_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return not _tables(connection)


def restore_backup(*, url: str, bin_dir: Path, dump: Path) -> Restored:
    """Restore `dump` into the empty database at `url` (the schema owner's), in one transaction,
    and check it against the manifest: the file's hash before, every table's count after."""
    manifest = Manifest.read(manifest_path(dump))
    if manifest.version != MANIFEST_VERSION:
        raise BackupError(f"the manifest is of version {manifest.version}, not {MANIFEST_VERSION}")
    if not dump.is_file() or _sha256(dump) != manifest.sha256:
        raise BackupError(f"{dump} does not match its manifest (its SHA-256 differs)")
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        if not _is_empty(engine):
            raise BackupError(
                "the database is not empty: restore into a new one (PG_DATABASE), never over "
                "a database in use"
            )
        target, env = _libpq(url)
        _run(
            [
                str(bin_dir / "pg_restore"),
                "--single-transaction",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                f"--dbname={target}",
                str(dump),
            ],
            env,
        )
        with engine.connect() as connection:
            counts = table_counts(connection)
    finally:
        engine.dispose()
    differ = {
        name: (manifest.tables.get(name), counts.get(name))
        for name in sorted(set(manifest.tables) | set(counts))
        if manifest.tables.get(name) != counts.get(name)
    }
    if differ:
        raise BackupError(f"the restored tables differ from the backup's counts: {differ}")
    return Restored(manifest=manifest, tables=counts)


def summary(manifest: Manifest) -> dict[str, Any]:
    """What an audit row says of a backup (never its contents)."""
    return {
        "file": manifest.file,
        "sha256": manifest.sha256,
        "bytes": manifest.bytes,
        "revision": manifest.revision,
        "children": manifest.tables.get("child", 0),
        "audit_rows": manifest.tables.get("audit_event", 0),
    }
