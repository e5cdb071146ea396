"""`contactpoint backup` and `contactpoint restore`: the whole database as a pg_dump file with
its manifest, and restored into an empty database, checked and reindexed (db/backup.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from contactpoint.settings import Settings, get_settings


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _bin_dir(settings: Settings) -> Path:
    from contactpoint.services.postgres import find_bin_dir

    found = find_bin_dir(settings)
    if found is None:
        _fail("pg_dump and pg_restore not found: install PostgreSQL 15's client or set PG_BIN_DIR")
        raise AssertionError  # unreachable: _fail exits
    return found


def _audit(event: str, details: dict[str, object]) -> None:
    from db.audit import AuditContext, AuditEventType, record_audit
    from db.session import session_scope

    with session_scope() as session:
        record_audit(
            session=session,
            context=AuditContext.operator(),
            event=AuditEventType(event),
            details=details,
        )


def backup(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="The file to write (default: VAR_DIR/backups/<database>-<time>.dump)"
        ),
    ] = None,
) -> None:
    """Back up the whole database (one consistent snapshot) with a manifest beside it."""
    from db.backup import BackupError, make_backup, manifest_path, summary

    settings = get_settings()
    if out is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = settings.var_dir.resolve() / "backups" / f"{settings.pg_database}-{stamp}.dump"
    try:
        manifest = make_backup(
            url=settings.effective_migration_url(), bin_dir=_bin_dir(settings), out=out
        )
    except BackupError as exc:
        _fail(str(exc))
        raise
    _audit("backup_made", summary(manifest))
    typer.echo(
        f"backup: {out} ({manifest.bytes:,} bytes, sha256 {manifest.sha256}), "
        f"{manifest.tables.get('child', 0):,} children, revision {manifest.revision}"
    )
    typer.echo(f"manifest: {manifest_path(out)}")


def restore(
    dump: Annotated[Path, typer.Argument(help="A file `contactpoint backup` wrote")],
    reindex_after: Annotated[
        bool,
        typer.Option("--reindex/--no-reindex", help="Rebuild the index from what was restored"),
    ] = True,
) -> None:
    """Restore a backup into the configured (empty) database, check every table's count against
    the manifest, migrate it to this version and rebuild the index from it."""
    from contactpoint.es_client import make_client
    from db.backup import BackupError, restore_backup, summary
    from db.migrate import upgrade
    from db.session import get_engine, session_scope
    from indexer.frequencies import rebuild_match_frequencies
    from indexer.reindex import ReindexError, ReindexOptions, reindex

    settings = get_settings()
    try:
        restored = restore_backup(
            url=settings.effective_migration_url(), bin_dir=_bin_dir(settings), dump=dump
        )
    except BackupError as exc:
        _fail(str(exc))
        raise
    # The application role's rights (the dump carries none), and any newer migrations.
    upgrade(url=settings.effective_migration_url())
    _audit("backup_restored", summary(restored.manifest))
    typer.echo(
        f"restored: {dump}, {len(restored.tables)} tables as the manifest counts them, "
        f"{restored.tables.get('child', 0):,} children (made {restored.manifest.made_at})"
    )
    if not reindex_after:
        typer.echo("the index was not rebuilt: run `contactpoint reindex` before serving")
        return
    client = make_client(settings, purpose="indexer")
    try:
        report = reindex(
            engine=get_engine(),
            client=client,
            alias=settings.index_alias,
            options=ReindexOptions.from_settings(settings),
        )
    except ReindexError as exc:
        _fail(f"{exc}; run `contactpoint reindex` before serving")
        raise
    finally:
        client.close()
    with session_scope() as session:
        rebuild_match_frequencies(session=session)
    typer.echo(f"reindexed: {report.documents:,} documents into {report.index}")
