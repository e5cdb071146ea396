"""Operations: the health check (public: load balancers call it without credentials) and the
metrics (a scraper on an allowed network, or with the metrics token)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from contactpoint.settings import Settings
from db.access.networks import address_within, networks_of_setting
from searchapi.client_address import client_address_of
from searchapi.deps import PUBLIC, SettingsDep
from searchapi.errors import request_id_of
from searchapi.health import elasticsearch_health, postgres_health
from searchapi.metrics import exposition

METRICS_REFUSAL = (
    "The metrics are read from an allowed network (METRICS_NETWORKS) or with the metrics token."
)

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


def _may_scrape(request: Request, settings: Settings) -> bool:
    if address_within(client_address_of(request), networks_of_setting(settings.metrics_networks)):
        return True
    token = settings.metrics_token
    given = request.headers.get("Authorization", "")
    if token is None or not given.startswith("Bearer "):
        return False
    return hmac.compare_digest(given[7:].encode(), token.get_secret_value().encode())


@router.get("/metrics", dependencies=[PUBLIC], include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    """Prometheus' text format: request latency, the servers' share, the outbox and the rest."""
    if not _may_scrape(request, settings):
        return JSONResponse(
            {"message": METRICS_REFUSAL, "request_id": request_id_of(request)}, status_code=403
        )
    body, content_type = await run_in_threadpool(exposition, request.app.state.engine)
    return Response(body, media_type=content_type)
