"""Deny by default at build time: a route without exactly one declared permission is refused."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI

from searchapi.access import Permission
from searchapi.deps import PUBLIC, Allowed, AuditReader
from searchapi.guard import enforce_declared_permissions, iter_routes


def _bare_app() -> FastAPI:
    """An app without the framework's documentation pages (as ContactPoint's by default)."""
    return FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


def test_routes_of_included_routers_are_seen_with_their_permissions() -> None:
    router = APIRouter(prefix="/v1/x")

    @router.get("/audit")
    def audit(principal: AuditReader) -> None:
        return None

    app = _bare_app()
    app.include_router(router)
    (route,) = iter_routes(app.routes)
    assert (route.path, route.permissions) == ("/v1/x/audit", frozenset({Permission.READ_AUDIT}))
    enforce_declared_permissions(app, docs=False)


def test_a_router_wide_permission_counts_for_its_routes() -> None:
    router = APIRouter(dependencies=[Depends(Allowed(Permission.MANAGE_USERS))])

    @router.get("/users")
    def users() -> None:
        return None

    app = _bare_app()
    app.include_router(router)
    enforce_declared_permissions(app, docs=False)


def test_a_route_with_two_permissions_is_refused() -> None:
    app = _bare_app()

    @app.get("/both", dependencies=[PUBLIC])
    def both(principal: AuditReader) -> None:
        return None

    with pytest.raises(RuntimeError, match="/both"):
        enforce_declared_permissions(app, docs=False)


def test_the_docs_pages_count_only_when_they_are_switched_on() -> None:
    app = FastAPI()
    enforce_declared_permissions(app, docs=True)
    with pytest.raises(RuntimeError, match="/openapi.json"):
        enforce_declared_permissions(app, docs=False)
