"""Every route declares a permission, refuses strangers (401) and the wrong roles (403)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.settings import Settings
from db.access import Principal, Role
from searchapi.access import ROLE_GRANTS, Permission, permissions_of, refusal
from searchapi.deps import PUBLIC, SessionDep
from searchapi.guard import RouteInfo, iter_routes, undeclared_routes
from searchapi.main import create_app
from tests.integration.access_support import (
    bearer,
    build_client,
    new_account,
    new_authority,
    session_token,
)

_PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    # The scraper's: refused unless from METRICS_NETWORKS or with METRICS_TOKEN.
    ("GET", "/metrics"),
    ("POST", "/v1/auth/login"),
    # The pages' sign-in (its form is tied to the browser by a pre-sign-in cookie) and assets.
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/static/{path:path}"),
}


def _routes() -> list[tuple[str, RouteInfo]]:
    return [
        (method, route)
        for route in iter_routes(create_app().routes)
        for method in sorted(route.methods - {"HEAD"})
    ]


def _path(route: RouteInfo) -> str:
    return re.sub(r"\{[^}]+\}", "someone", route.path)


def test_every_route_declares_exactly_one_permission() -> None:
    app = create_app()
    assert undeclared_routes(app.routes, docs=False) == []
    assert {
        (method, route.path)
        for method, route in _routes()
        if Permission.PUBLIC in route.permissions
    } == _PUBLIC_ROUTES


def test_an_app_with_a_route_that_declares_no_permission_does_not_start() -> None:
    from searchapi.guard import enforce_declared_permissions

    app = FastAPI()

    @app.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="/forgotten"):
        enforce_declared_permissions(app, docs=False)


def _error(response: Any) -> tuple[str, str]:
    """An error's message and request id: the API's body, or the FHIR facade's
    OperationOutcome (whose diagnostics end with the request id)."""
    body = response.json()
    if body.get("resourceType") != "OperationOutcome":
        return body["message"], body["request_id"]
    request_id = response.headers["X-Request-ID"]
    diagnostics = body["issue"][0]["diagnostics"]
    assert diagnostics.endswith(f" (request {request_id})")
    return diagnostics.removesuffix(f" (request {request_id})"), request_id


@pytest.mark.parametrize(
    ("method", "route"), _routes(), ids=lambda value: str(getattr(value, "path", value))
)
def test_every_route_refuses_a_request_without_credentials(
    api: TestClient,
    method: str,
    route: RouteInfo,
) -> None:
    response = api.request(method, _path(route), json={})
    if (method, route.path) in _PUBLIC_ROUTES:
        assert response.status_code not in (401, 403)
        return
    assert response.status_code == 401
    message, request_id = _error(response)
    assert request_id == response.headers["X-Request-ID"] and message


@pytest.fixture
def tokens_by_role(engine: Engine, fast: Settings) -> dict[Role, str]:
    """A fresh session per role (a sign-out route under test ends the one it is given)."""
    authority = new_authority(engine)
    tokens = {}
    for role in Role:
        account = new_account(engine, fast, roles=[role], authorities=[authority])
        tokens[role] = session_token(engine, account.username)
    return tokens


@pytest.mark.parametrize(
    ("method", "route"), _routes(), ids=lambda value: str(getattr(value, "path", value))
)
def test_every_route_refuses_the_roles_that_lack_its_permission(
    api: TestClient,
    tokens_by_role: dict[Role, str],
    method: str,
    route: RouteInfo,
) -> None:
    (permission,) = route.permissions
    for role, token in tokens_by_role.items():
        principal = Principal(user_id=1, username="x", roles=frozenset({role}), session_id=1)
        allowed = permission in permissions_of(principal)
        response = api.request(method, _path(route), headers=bearer(token), json={})
        if allowed:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            # The access layer's own reason ("needs the role ...", or break-glass's own).
            assert _error(response)[0] == refusal(principal, permission)


def test_each_permission_of_a_role_route_is_held_by_some_role() -> None:
    granted = set().union(*ROLE_GRANTS.values())
    for _, route in _routes():
        (permission,) = route.permissions
        assert permission in granted | {
            Permission.PUBLIC,
            Permission.AUTHENTICATED,
            Permission.SIGN_OUT,
            # Held by a CMS client registered for an organisation (`permissions_of`).
            Permission.WRITE_INVOLVEMENTS,
            Permission.CHANGE_ADDRESS,
            # Held by a CMS client acting for someone who may view children.
            Permission.SUBSCRIBE_CHILD,
            # Held by a manager with the archive capability, signed in (`permissions_of`).
            Permission.OPEN_ARCHIVE,
        }


def test_error_bodies_are_json_with_a_message_and_the_request_id(
    api: TestClient,
) -> None:
    for response in (
        api.get("/no/such/path"),
        api.put("/v1/auth/login"),
        api.post("/v1/auth/login", json={"username": "x", "password": "hunter2-secret"}),
        api.post(
            "/v1/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
    ):
        body = response.json()
        assert response.status_code in (404, 405, 422)
        assert body["message"] and body["request_id"] == response.headers["X-Request-ID"]
        assert "hunter2-secret" not in response.text and "Traceback" not in response.text


@pytest.fixture
def failing_app(fast: Settings) -> Iterator[tuple[FastAPI, TestClient]]:
    app, client = build_client(fast)

    @app.get("/boom", dependencies=[PUBLIC])
    def boom() -> None:
        raise RuntimeError("a secret detail that must not leak")

    @app.get("/unauditable", dependencies=[PUBLIC])
    def unauditable(session: SessionDep) -> dict[str, str]:
        from db.audit import AuditContext, AuditEventType, record_audit

        # PostgreSQL text cannot hold NUL: the audit write fails, so the read must fail too.
        record_audit(
            session=session,
            context=AuditContext(principal=None, request_id="x", client_address=None),
            event=AuditEventType.VIEW,
            subject="\x00",
        )
        return {"child": "would have been shown"}

    with client:
        yield app, client


def test_an_unexpected_error_is_a_json_500_with_the_request_id_and_no_detail(
    failing_app: tuple[FastAPI, TestClient],
) -> None:
    _, client = failing_app
    response = client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"message", "request_id"}
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert "secret detail" not in response.text


def test_a_read_whose_audit_cannot_be_written_fails(
    failing_app: tuple[FastAPI, TestClient],
) -> None:
    _, client = failing_app
    response = client.get("/unauditable")
    assert response.status_code == 500
    assert "would have been shown" not in response.text


def test_the_health_check_needs_no_credentials(api: TestClient) -> None:
    assert api.get("/healthz").status_code in (200, 503)


def test_principal_dependency_is_used_only_through_declared_permissions() -> None:
    # A handler that asked for the principal directly would bypass `Allowed`: the guard sees it.
    from searchapi.deps import _principal
    from searchapi.guard import enforce_declared_permissions

    app = FastAPI()

    @app.get("/sneaky")
    def sneaky(principal: Principal = Depends(_principal)) -> dict[str, str]:  # noqa: B008
        return {}

    with pytest.raises(RuntimeError, match="/sneaky"):
        enforce_declared_permissions(app, docs=False)
