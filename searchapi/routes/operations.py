"""Operations: the health check (public: load balancers call it without credentials)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from searchapi.deps import PUBLIC, SettingsDep
from searchapi.health import elasticsearch_health, postgres_health

router = APIRouter(tags=["operations"])


@router.get("/healthz", dependencies=[PUBLIC])
async def healthz(request: Request, settings: SettingsDep) -> JSONResponse:
    """PostgreSQL and Elasticsearch status; 503 when either is down."""
    pg = await run_in_threadpool(postgres_health, request.app.state.engine)
    es = await run_in_threadpool(
        elasticsearch_health, request.app.state.es, alias=settings.index_alias
    )
    healthy = pg["status"] == "up" and es["status"] == "up"
    body = {"status": "ok" if healthy else "degraded", "postgres": pg, "elasticsearch": es}
    return JSONResponse(body, status_code=200 if healthy else 503)
