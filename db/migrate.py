"""Apply the Alembic migrations programmatically, then grant the application role its rights."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, create_engine, pool, text

logger = logging.getLogger(__name__)

# The role the application connects as: it reads and writes rows but owns nothing.
APP_ROLE: Final = "contactpoint_app"
MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number: serialises concurrent upgrades of one database.
_MIGRATION_LOCK_KEY: Final = 0x43504D4947524154
_NEVER_GRANTED: Final = ("alembic_version",)
# Shields and break-glass reviews are history: the application records removals and
# outcomes, it never deletes one.
_NO_DELETE: Final = ("shield", "break_glass_review", "audit_redaction")
# Functions the application calls: SECURITY DEFINER ones do what its rights alone may not.
_EXECUTE: Final = ("cp_audit_forget(text[])",)
# The audit and its seals are append-only: the application may read and add rows, never change
# or remove one.
_APPEND_ONLY: Final = ("audit_event", "audit_seal", "audit_seal_entry")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration found from the package path, so it works from any cwd."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def grant_app_role(*, connection: Connection, role: str = APP_ROLE) -> bool:
    """Give `role` row access to the current schema's tables; False when the role is absent."""
    exists = connection.execute(
        text("SELECT rolname <> current_user FROM pg_roles WHERE rolname = :role"),
        {"role": role},
    ).scalar()
    if not exists:
        return False
    quote = connection.dialect.identifier_preparer.quote
    schema = quote(str(connection.execute(text("SELECT current_schema()")).scalar_one()))
    grantee = quote(role)
    connection.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {grantee}"))
    connection.execute(
        text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {grantee}")
    )
    connection.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}"))
    for table in _NEVER_GRANTED:
        connection.execute(text(f"REVOKE ALL ON {schema}.{quote(table)} FROM {grantee}"))
    for table in _NO_DELETE:
        connection.execute(text(f"REVOKE DELETE ON {schema}.{quote(table)} FROM {grantee}"))
    for table in _APPEND_ONLY:
        connection.execute(text(f"REVOKE UPDATE, DELETE ON {schema}.{quote(table)} FROM {grantee}"))
    for function in _EXECUTE:
        connection.execute(text(f"GRANT EXECUTE ON FUNCTION {schema}.{function} TO {grantee}"))
    # The audit's monthly partitions are reached through audit_event alone: no right on one
    # (maintenance creates later ones without any).
    partitions = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass('audit_event')"
        )
    ).scalars()
    for partition in partitions:
        connection.execute(text(f"REVOKE ALL ON {schema}.{quote(partition)} FROM {grantee}"))
    return True


def upgrade(*, url: str, revision: str = "head", app_role: str | None = APP_ROLE) -> None:
    """Migrate the database at `url` (the schema owner's) to `revision` and grant `app_role`."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        # One transaction: the lock, the DDL and the grants commit together (PostgreSQL DDL
        # is transactional), and a concurrent upgrade waits here, then finds nothing to do.
        with engine.begin() as connection:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
            command.upgrade(alembic_config(connection), revision)
            if app_role is not None and grant_app_role(connection=connection, role=app_role):
                logger.info("granted row access to role %s", app_role)
    finally:
        engine.dispose()


def downgrade(*, url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision` ("base" drops everything)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()
