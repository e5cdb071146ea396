"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from contactpoint.es_client import make_client
from contactpoint.settings import get_settings
from db.session import make_engine
from searchapi.health import elasticsearch_health, postgres_health


def create_app() -> FastAPI:
    """Build the application; servers are connected at start-up and released at shutdown."""
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.effective_database_url())
        app.state.es = make_client(settings, purpose="api")
        try:
            yield
        finally:
            app.state.es.close()
            app.state.engine.dispose()

    app = FastAPI(title="ContactPoint", version="0.1.0", lifespan=lifespan)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        """PostgreSQL and Elasticsearch status; 503 when either is down."""
        pg = await run_in_threadpool(postgres_health, app.state.engine)
        es = await run_in_threadpool(elasticsearch_health, app.state.es, alias=settings.index_alias)
        healthy = pg["status"] == "up" and es["status"] == "up"
        body = {"status": "ok" if healthy else "degraded", "postgres": pg, "elasticsearch": es}
        return JSONResponse(body, status_code=200 if healthy else 503)

    return app
