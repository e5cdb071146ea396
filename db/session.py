"""Engines and sessions of the application's (least-privilege) database role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.settings import get_settings


def make_engine(url: str) -> Engine:
    """An engine on `url` with the pool sizes of the settings; dead connections are replaced."""
    settings = get_settings()
    return create_engine(
        url,
        pool_size=settings.pg_pool_size,
        max_overflow=settings.pg_max_overflow,
        pool_pre_ping=True,
        # An error's message never carries the statement's values (names, dates of birth) into
        # a log or a traceback.
        hide_parameters=True,
    )


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine of the application's role."""
    return make_engine(get_settings().effective_database_url())


@lru_cache(maxsize=1)
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with _session_factory().begin() as session:
        yield session
