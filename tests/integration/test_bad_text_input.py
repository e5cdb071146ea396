"""Text the database would refuse (a NUL, control characters, line breaks) is a clear 4xx, or
made plain where a person typed it, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from db.access import Role
from tests.integration.access_support import bearer, session_token
from tests.integration.pages_support import new_username, post_form, sensitive_involvement, sign_in
from tests.integration.search_support import Population

pytestmark = pytest.mark.integration


def test_a_reason_typed_on_several_lines_is_kept_on_one(
    pages: TestClient,
    population: Population,
) -> None:
    kid, involvement_id, _ = sensitive_involvement(population, 3)
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    token = sign_in(pages, population, manager)
    path = f"/children/{kid.identifier}/involvements/{involvement_id}/override"
    done = post_form(pages, path, token, reason="Risk of harm\r\nfrom a  relative\x00")
    assert done.status_code == 303, done.text
    with population.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT override_reason FROM involvement WHERE id = :id"), {"id": involvement_id}
        ).scalar_one()
    assert stored == "Risk of harm from a relative"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/search", {"given_name": "Jo", "family_name": "Smi\u0000th"}),
        ("/v1/search", {"family_name": "Smith", "postcode": "LS6\u00072AB"}),
    ],
    ids=["nul-in-a-name", "bell-in-a-postcode"],
)
def test_the_api_refuses_control_characters_in_a_search(
    pages: TestClient,
    population: Population,
    path: str,
    body: dict[str, Any],
) -> None:
    practitioner = new_username(population, Role.PRACTITIONER)
    pages.cookies.clear()
    headers = bearer(session_token(population.engine, practitioner))
    answer = pages.post(path, json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert "control characters" in answer.text


def test_the_api_refuses_a_nul_in_a_shield_reason_and_takes_line_breaks(
    pages: TestClient,
    population: Population,
) -> None:
    kid = [k for k in population.kids if not k.shielded and k.status == "active"][7]
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    pages.cookies.clear()
    headers = bearer(session_token(population.engine, manager))
    path = f"/v1/children/{kid.identifier}/shield"
    refused = pages.post(path, json={"reason": "Risk\u0000 of harm"}, headers=headers)
    assert refused.status_code == 422 and "control characters" in refused.text
    shielded = pages.post(path, json={"reason": "Risk of harm\nfrom a relative"}, headers=headers)
    assert shielded.status_code in (200, 201), shielded.text
    removed = pages.request(
        "DELETE", path, json={"reason": "Moved away from the area"}, headers=headers
    )
    assert removed.status_code == 200, removed.text


def test_a_search_page_with_a_nul_in_a_name_is_a_form_error(
    pages: TestClient,
    population: Population,
) -> None:
    token = sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    page = post_form(pages, "/search", token, given_name="Jo", family_name="Smi\x00th")
    assert page.status_code == 400 and "There is a problem" in page.text


@pytest.mark.parametrize(
    "address",
    ["/v1/audit?user=%00", "/children/12%0034", "/audit?subject=a%00b", "/healthz?x=%00"],
)
def test_a_nul_anywhere_in_the_address_is_a_400(
    pages: TestClient,
    population: Population,
    address: str,
) -> None:
    sign_in(pages, population, new_username(population, Role.AUDITOR, Role.PRACTITIONER))
    answer = pages.get(address)
    assert answer.status_code == 400
    assert answer.json()["message"] == "The address holds a NUL character."
    assert answer.json()["request_id"] == answer.headers["X-Request-ID"]
