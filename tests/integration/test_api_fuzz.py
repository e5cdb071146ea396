"""Schemathesis over every API operation, as each kind of principal: no server error, and every
answer (refusals too) matches what the OpenAPI document declares.

The document comes from `app.openapi()` in-process, so the public docs stay off. The run is
bounded and seeded (derandomised): the same cases every run, a few seconds per operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from contactpoint.settings import Settings
from db.access import Role
from searchapi.deps import settings_dependency
from searchapi.main import create_app
from tests.integration.access_support import (
    bearer,
    fast_settings,
    new_account,
    new_api_key,
    session_token,
)
from tests.integration.search_support import Population, build_population

pytestmark = pytest.mark.integration

# Examples per operation, principal and mode: enough to reach past validation and permission on
# every operation, few enough that the whole run stays within a couple of minutes.
EXAMPLES: Final = 12
CHECKS: Final = [not_a_server_error, response_schema_conformance, status_code_conformance]
PRINCIPALS: Final = ("practitioner_key", "la_manager", "auditor", "admin")

APP: Final = create_app()
SCHEMA: Final = schemathesis.openapi.from_dict(APP.openapi())
SCHEMA.app = APP
OPERATIONS: Final = {
    operation.label: operation
    for operation in (result.ok() for result in SCHEMA.get_all_operations())
}


def _negatable(operation: Any) -> bool:
    # A body, a query or a constrained path parameter can be sent invalid; a bare string path
    # parameter (a username) cannot, and Hypothesis would find nothing to generate.
    raw = operation.definition.raw
    parameters = raw.get("parameters", [])
    return "requestBody" in raw or any(
        p["in"] == "query" or set(p.get("schema", {})) - {"type", "title"} for p in parameters
    )


CASES: Final = [
    (label, mode)
    for label, operation in sorted(OPERATIONS.items())
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _negatable(operation)
]


@pytest.fixture(scope="module")
def population(
    engine: Engine, elasticsearch_ready: None, settings: Settings, tmp_path_factory: Any
) -> Iterator[Population]:
    """A few hundred children in PostgreSQL and behind the alias (enough to search and view)."""
    yield from build_population(
        engine=engine, settings=settings, tmp_path_factory=tmp_path_factory, children=300, seed=11
    )


@dataclass(frozen=True)
class Principals:
    """The headers each principal sends; a fresh session for each sign-out."""

    headers: dict[str, dict[str, str]]
    fresh_session: Callable[[str], dict[str, str]]


@pytest.fixture(scope="module")
def app(population: Population) -> Iterator[FastAPI]:
    """The app the schema's transport calls, with cheap password hashing."""
    APP.dependency_overrides[settings_dependency] = lambda: fast_settings(population.settings)
    yield APP
    shutdown_lifespans()
    APP.dependency_overrides.clear()


@pytest.fixture(scope="module")
def principals(population: Population) -> Principals:
    """A CMS key acting for a practitioner, and sessions of a la_manager, an auditor, an admin."""
    fast = fast_settings(population.settings)
    authority = population.kids[0].authority
    engine = population.engine

    def account(*roles: Role) -> str:
        return new_account(engine, fast, roles=roles, authorities=(authority,)).username

    practitioner = account(Role.PRACTITIONER)
    key = new_api_key(engine, authority=authority)
    sessions = {
        name: account(role)
        for name, role in (
            ("la_manager", Role.LA_MANAGER),
            ("auditor", Role.AUDITOR),
            ("admin", Role.ADMIN),
        )
    }
    headers = {
        "practitioner_key": {**bearer(key), "X-On-Behalf-Of": practitioner},
        **{name: bearer(session_token(engine, user)) for name, user in sessions.items()},
    }

    def fresh_session(name: str) -> dict[str, str]:
        if name not in sessions:
            return headers[name]
        return bearer(session_token(engine, sessions[name]))

    return Principals(headers=headers, fresh_session=fresh_session)


def _run(operation: Any, mode: GenerationMode, headers: Callable[[], dict[str, str]]) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers(), checks=CHECKS)

    check()


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize(("label", "mode"), CASES, ids=[f"{label} {mode}" for label, mode in CASES])
def test_no_operation_gives_a_server_error_or_breaks_its_schema(
    app: FastAPI,
    principals: Principals,
    label: str,
    principal: str,
    mode: GenerationMode,
) -> None:
    operation = OPERATIONS[label]
    # Signing out ends the session: each sign-out case ends a fresh one, the others keep theirs.
    signs_out = operation.path == "/v1/auth/logout"
    _run(
        operation,
        mode,
        (lambda: principals.fresh_session(principal))
        if signs_out
        else (lambda: principals.headers[principal]),
    )
