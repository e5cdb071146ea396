"""Deny by default: every route must declare its permission, or the app refuses to start."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute, Route

from searchapi.access import Permission
from searchapi.deps import Allowed, ArchiveAllowed, Open

# Framework pages that are only mounted when `api_docs` is on.
_DOC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


@dataclass(frozen=True)
class RouteInfo:
    """One reachable route, with the routers' prefixes and dependencies applied."""

    path: str
    methods: frozenset[str]
    permissions: frozenset[Permission]
    is_api: bool
    is_docs: bool


def declared_permissions(dependant: Dependant | None) -> set[Permission]:
    """The permissions that a route's dependency tree declares."""
    found: set[Permission] = set()
    for dependency in dependant.dependencies if dependant is not None else ():
        if isinstance(dependency.call, Allowed | ArchiveAllowed | Open):
            found.add(dependency.call.permission)
        found |= declared_permissions(dependency)
    return found


def iter_routes(routes: Sequence[BaseRoute]) -> Iterator[RouteInfo]:
    """Every route of an app, included routers flattened."""
    for context in iter_route_contexts(routes):
        original = context.original_route
        path = context.path or ""
        yield RouteInfo(
            path=path,
            methods=frozenset(context.methods or ()),
            permissions=frozenset(declared_permissions(getattr(context, "dependant", None))),
            is_api=isinstance(original, APIRoute),
            is_docs=isinstance(original, Route) and path in _DOC_PATHS,
        )


def undeclared_routes(routes: Sequence[BaseRoute], *, docs: bool) -> list[str]:
    """Routes that declare no permission, or more than one (which one would apply?)."""
    return [
        f"{sorted(route.methods)} {route.path}"
        for route in iter_routes(routes)
        if not (route.is_docs and docs) and (not route.is_api or len(route.permissions) != 1)
    ]


def enforce_declared_permissions(app: FastAPI, *, docs: bool) -> None:
    """Raise when any route of `app` could be reached without a declared permission."""
    bad = undeclared_routes(app.routes, docs=docs)
    if bad:
        raise RuntimeError(f"routes without exactly one declared permission: {', '.join(bad)}")
