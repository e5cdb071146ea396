"""Shared fixtures: the suite starts the real servers itself (never skipped when missing).

The tests run on a stack of their own (var/test, other ports), so they never touch the data of
`make run`; servers that the suite started are stopped when it ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

# Before any settings are read: the test stack's place and ports, unless the caller chose others.
for _key, _value in {
    "VAR_DIR": "var/test",
    "PG_PORT": "55433",
    "ES_PORT": "59201",
    "ES_TRANSPORT_PORT": "59301",
}.items():
    os.environ.setdefault(_key, _value)

from contactpoint.settings import Settings, get_settings  # noqa: E402


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


def _run_service(settings: Settings, name: str) -> Iterator[None]:
    from contactpoint.services import down, status, up

    was_running = all(ok for _, ok in status(settings, which=(name,)))
    for _ in up(settings, which=(name,)):
        pass
    yield
    if not was_running:
        for _ in down(settings, which=(name,)):
            pass


@pytest.fixture(scope="session")
def postgres_ready(settings: Settings) -> Iterator[None]:
    """PostgreSQL is up: the project-local cluster is started unless DATABASE_URL is set."""
    yield from _run_service(settings, "postgres")


@pytest.fixture(scope="session")
def elasticsearch_ready(settings: Settings) -> Iterator[None]:
    """Elasticsearch is up: the local node is started unless ELASTICSEARCH_URL is set."""
    yield from _run_service(settings, "elasticsearch")


@pytest.fixture(scope="session")
def migrated_database(postgres_ready: None, settings: Settings) -> str:
    """The schema is at head; returns the application role's URL."""
    from db.migrate import upgrade

    upgrade(url=settings.effective_migration_url(), revision="head")
    return settings.effective_database_url()


@pytest.fixture(scope="session")
def engine(migrated_database: str) -> Iterator[Engine]:
    """An engine of the application's role on the migrated database."""
    from db.session import make_engine

    eng = make_engine(migrated_database)
    yield eng
    eng.dispose()
