"""Readiness of the two servers the service depends on."""

from __future__ import annotations

import logging
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)


def postgres_health(engine: Engine) -> dict[str, Any]:
    """Whether PostgreSQL answers a query, with its version."""
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
    except SQLAlchemyError as exc:
        log.warning("postgres health check failed: %s", type(exc).__name__)
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "up", "version": version}


def elasticsearch_health(client: Elasticsearch, *, alias: str) -> dict[str, Any]:
    """Whether Elasticsearch answers the API's own (read-only) user, and the alias's size."""
    try:
        count = client.count(index=alias)["count"]
    except es_exceptions.NotFoundError:
        # Reachable and authenticated; the first reindex has not created the alias yet.
        return {"status": "up", "index": "missing"}
    except es_exceptions.ApiError as exc:
        log.warning("elasticsearch health check failed: %s", exc.meta.status)
        return {"status": "down", "error": f"HTTP {exc.meta.status}"}
    except es_exceptions.TransportError as exc:
        log.warning("elasticsearch health check failed: %s", type(exc).__name__)
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "up", "index": alias, "documents": count}
