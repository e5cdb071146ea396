"""The FastAPI application."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

from contactpoint.es_client import make_client
from contactpoint.settings import get_settings
from db.ranker import load_ranker
from db.session import make_engine
from searchapi.client_address import trusted_proxies
from searchapi.errors import install_error_handlers
from searchapi.guard import enforce_declared_permissions
from searchapi.metrics import MetricsMiddleware, time_postgres
from searchapi.middleware import RequestIdMiddleware
from searchapi.pages import admin as admin_pages
from searchapi.pages import archive as archive_pages
from searchapi.pages import audit as audit_pages
from searchapi.pages import consent as consent_pages
from searchapi.pages import corrections as correction_pages
from searchapi.pages import feed_review as feed_review_pages
from searchapi.pages import help as help_pages
from searchapi.pages import inbox as inbox_pages
from searchapi.pages import record as record_pages
from searchapi.pages import review as review_pages
from searchapi.pages import search as search_pages
from searchapi.pages import shield as shield_pages
from searchapi.pages import team_requests as team_request_pages
from searchapi.pages import vetting as vetting_pages
from searchapi.refusals import RefusalAuditMiddleware
from searchapi.routes import (
    admin,
    archive,
    audit,
    auth,
    break_glass,
    children,
    corrections,
    extensions,
    feed_reviews,
    fhir,
    merges,
    operations,
    search,
    shields,
    subject_access,
    subscriptions,
    team_requests,
    updates,
)
from searchapi.schemas import error_responses


def create_app() -> FastAPI:
    """Build the application; servers are connected at start-up and released at shutdown."""
    settings = get_settings()
    # A missing, malformed or mismatched model file stops the start (matching.ModelError).
    ranker = load_ranker(settings.match_model_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings.effective_database_url())
        time_postgres(app.state.engine)
        app.state.session_factory = sessionmaker(bind=app.state.engine, expire_on_commit=False)
        app.state.es = make_client(settings, purpose="api")
        # The population's frequencies, now and every few minutes, off the searches' path.
        ranker.refresh(app.state.session_factory)
        stop_refreshing = ranker.refresh_every(
            app.state.session_factory, settings.match_frequencies_refresh_seconds
        )
        # What start-up built lives as long as the process: out of the collector's sight, a
        # full collection no longer walks it in the middle of someone's search.
        gc.freeze()
        try:
            yield
        finally:
            stop_refreshing.set()
            app.state.es.close()
            app.state.engine.dispose()

    docs = settings.api_docs
    app = FastAPI(
        title="ContactPoint",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    # Read once: a bad FORWARDED_ALLOW_IPS stops the start, not a request.
    app.state.trusted_proxies = trusted_proxies()
    app.state.ranker = ranker
    # The last added is outermost: the request id is given before a request is timed and
    # before a refusal is audited.
    app.add_middleware(RefusalAuditMiddleware)
    app.add_middleware(MetricsMiddleware, access_log=settings.api_access_log)
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    app.include_router(operations.router)
    # Any JSON route can refuse an address with a NUL or a body it cannot parse (400), a caller
    # without credentials (401) or permission (403), and a request that is not valid (422).
    for router in (
        auth.router,
        search.router,
        children.router,
        extensions.router,
        audit.router,
        admin.router,
        break_glass.router,
        merges.router,
        feed_reviews.router,
        shields.router,
        team_requests.router,
        updates.router,
        subscriptions.router,
        corrections.router,
        subject_access.router,
        fhir.router,
        archive.router,
    ):
        app.include_router(router, responses=error_responses(400, 401, 403, 422))
    # The HTML half, over the same services as the JSON half.
    for router in (
        search_pages.router,
        record_pages.router,
        consent_pages.router,
        shield_pages.router,
        audit_pages.router,
        admin_pages.router,
        vetting_pages.router,
        review_pages.router,
        feed_review_pages.router,
        team_request_pages.router,
        help_pages.router,
        inbox_pages.router,
        correction_pages.router,
        archive_pages.router,
    ):
        app.include_router(router)
    # Deny by default: an app with a route that declares no permission does not start.
    enforce_declared_permissions(app, docs=docs)
    return app
