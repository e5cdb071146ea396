"""An audit of its own for the tests that tamper with it: a fresh migrated schema per test.

The tampering done as the schema owner must not reach the suite's shared audit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, create_engine, make_url, pool, text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.audit import VerifyReport, trusted_keys, verify_audit
from db.audit.seal import encode_private_key
from db.migrate import upgrade


@dataclass(frozen=True)
class AuditStack:
    """A migrated schema of its own: the application's and the owner's engines on it."""

    app: Engine
    owner: Engine
    app_url: str
    key: Ed25519PrivateKey
    owner_url: str = ""

    def upgrade(self) -> None:
        """Migrate the schema on to the head (it was made at an earlier revision)."""
        upgrade(url=self.owner_url)

    def verify(self) -> VerifyReport:
        keys = trusted_keys(private_key=encode_private_key(self.key), public_keys=[])
        with Session(self.app) as session, session.begin():
            return verify_audit(session=session, keys=keys)

    def tamper(self, table: str, *statements: str) -> None:
        """Run `statements` as the schema owner with `table`'s triggers off, then on again.

        (The owner may disable its own triggers, not the foreign keys' system triggers: ALL
        needs a superuser.)
        """
        with self.owner.begin() as connection:
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            for statement in statements:
                connection.execute(text(statement))
            connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def _in_schema(url: str, schema: str) -> str:
    options = {"options": f"-csearch_path={schema}"}
    return make_url(url).update_query_dict(options).render_as_string(hide_password=False)


@contextmanager
def audit_stack(
    settings: Settings, prefix: str = "cp_test_seal", revision: str = "head"
) -> Iterator[AuditStack]:
    """A schema of its own migrated to `revision`, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    owner_url = settings.effective_migration_url()
    admin = create_engine(owner_url, poolclass=pool.NullPool)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    upgrade(url=_in_schema(owner_url, schema), revision=revision)
    app_url = _in_schema(settings.effective_database_url(), schema)
    app = create_engine(app_url, poolclass=pool.NullPool)
    owner = create_engine(_in_schema(owner_url, schema), poolclass=pool.NullPool)
    try:
        yield AuditStack(
            app=app,
            owner=owner,
            app_url=app_url,
            key=Ed25519PrivateKey.generate(),
            owner_url=_in_schema(owner_url, schema),
        )
    finally:
        app.dispose()
        owner.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
