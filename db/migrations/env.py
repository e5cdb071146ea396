"""Alembic environment: runs the hand-written revisions on the connection `db.migrate` passes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the caller's connection (db.migrate.upgrade), else the configured or settings URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from contactpoint.settings import get_settings

        url = get_settings().effective_migration_url()
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as owned:
            _run(owned)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: the DDL is hand-written")
run_migrations_online()
