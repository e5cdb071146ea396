"""Start, stop and inspect the project-local PostgreSQL and Elasticsearch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from contactpoint.services import elasticsearch, postgres
from contactpoint.services._system import ServiceError
from contactpoint.settings import Settings

__all__ = ["ServiceError", "down", "status", "up"]

ALL = ("postgres", "elasticsearch")
_MODULES = {"postgres": postgres, "elasticsearch": elasticsearch}


def up(settings: Settings, which: Iterable[str] = ALL) -> Iterator[str]:
    """Start each service in `which` that is not running; yield a status line for each."""
    for name in which:
        yield _MODULES[name].up(settings)


def down(settings: Settings, which: Iterable[str] = ALL) -> Iterator[str]:
    """Stop what `up` started, newest first."""
    for name in reversed(tuple(which)):
        yield _MODULES[name].down(settings)


def status(settings: Settings, which: Iterable[str] = ALL) -> Iterator[tuple[str, bool]]:
    """Yield (line, healthy) for each service."""
    for name in which:
        yield _MODULES[name].status(settings)
