"""Requests to a child's authority team on the real servers: a shield asked for and decided,
contact asked for and brokered, who sees which, the audit, and the brokering report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from contactpoint.cli import app
from db.access import Role
from tests.integration.access_support import build_client, fast_settings, new_authority
from tests.integration.search_support import (
    Kid,
    Population,
    audit_rows,
    build_population,
    make_caller,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def population(
    engine: Any, elasticsearch_ready: None, settings: Any, tmp_path_factory: Any
) -> Iterator[Population]:
    yield from build_population(
        engine=engine,
        settings=settings,
        tmp_path_factory=tmp_path_factory,
        children=1_000,
        seed=61,
    )


@pytest.fixture(scope="module")
def client(population: Population) -> Iterator[TestClient]:
    _, app_client = build_client(fast_settings(population.settings))
    with app_client:
        yield app_client


def _plain(population: Population, index: int) -> Kid:
    kids = [k for k in population.kids if not k.shielded and k.status == "active" and k.authority]
    return kids[index]


def test_a_shield_request_reaches_the_childs_managers_and_the_outcome_the_practitioner(
    population: Population, client: TestClient
) -> None:
    kid = _plain(population, 0)
    practitioner = make_caller(population, Role.PRACTITIONER)
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    elsewhere = make_caller(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    path = f"/v1/children/{kid.identifier}/shield-requests"
    reason = {"reason": "Mother fled domestic abuse; father must not find them"}
    assert client.post(path, json={"reason": "x"}, headers=practitioner.headers).status_code == 422
    made = client.post(path, json=reason, headers=practitioner.headers)
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert client.post(path, json=reason, headers=practitioner.headers).status_code == 409
    assert client.post(path, json=reason, headers=manager.headers).status_code == 403

    queue = client.get("/v1/shield-requests", headers=manager.headers).json()
    assert request_id in [r["id"] for r in queue["shield_requests"]]
    assert client.get("/v1/shield-requests", headers=elsewhere.headers).json() == {
        "shield_requests": [],
        "contact_requests": [],
    }
    decision = f"/v1/shield-requests/{request_id}/decision"
    body = {"outcome": "applied", "reason": "Risk confirmed with the social worker"}
    assert client.post(decision, json=body, headers=elsewhere.headers).status_code == 404
    assert client.post(decision, json=body, headers=practitioner.headers).status_code == 403
    decided = client.post(decision, json=body, headers=manager.headers)
    assert decided.status_code == 200, decided.text
    assert client.post(decision, json=body, headers=manager.headers).status_code == 409

    mine = client.get("/v1/requests/mine", headers=practitioner.headers).json()
    (seen,) = [r for r in mine["shield_requests"] if r["id"] == request_id]
    assert (seen["outcome"], seen["decided_by"]) == ("applied", manager.username)
    assert seen["decision_reason"] == body["reason"]
    record = client.get(f"/v1/children/{kid.identifier}", headers=practitioner.headers).json()
    assert record["shielded"] is True and record["address"] is None
    (asked,) = audit_rows(
        population.engine, username=practitioner.username, event="shield_requested"
    )
    assert asked.subject == kid.identifier
    (answered,) = audit_rows(
        population.engine, username=manager.username, event="shield_request_decided"
    )
    assert answered.details["outcome"] == "applied"
    assert audit_rows(population.engine, username=manager.username, event="shield_applied")


def test_a_contact_request_goes_from_open_to_brokered_with_the_time_recorded(
    population: Population, client: TestClient
) -> None:
    kid = next(k for k in population.kids if k.shielded and k.status == "active" and k.authority)
    practitioner = make_caller(population, Role.PRACTITIONER)
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    path = f"/v1/children/{kid.identifier}/contact-requests"
    body = {"reason": "Safeguarding referral, need their view today", "contact": "07700 900123"}
    bad = client.post(path, json={**body, "involvement_id": 2**62}, headers=practitioner.headers)
    assert bad.status_code == 422
    made = client.post(path, json=body, headers=practitioner.headers)
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert made.json()["outcome"] is None and made.json()["overdue"] is False
    queue = client.get("/v1/contact-requests", headers=manager.headers).json()
    (open_item,) = [r for r in queue["contact_requests"] if r["id"] == request_id]
    assert open_item["contact"] == "07700 900123" and open_item["due_at"]
    decided = client.post(
        f"/v1/contact-requests/{request_id}/decision",
        json={"outcome": "brokered", "reason": "Put in touch with the allocated worker"},
        headers=manager.headers,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["decided_at"] is not None
    mine = client.get("/v1/requests/mine", headers=practitioner.headers).json()
    (seen,) = [r for r in mine["contact_requests"] if r["id"] == request_id]
    assert seen["outcome"] == "brokered" and seen["decided_at"] >= seen["requested_at"]
    (brokered,) = audit_rows(population.engine, username=manager.username, event="contact_brokered")
    assert brokered.details["outcome"] == "brokered"

    # A request left past the target is overdue, first in the queue, and in the report.
    kid2 = _plain(population, 1)
    late = client.post(
        f"/v1/children/{kid2.identifier}/contact-requests", json=body, headers=practitioner.headers
    ).json()
    population.execute(
        "UPDATE contact_request SET requested_at = :t WHERE id = :i",
        t=datetime.now(UTC) - timedelta(days=9),
        i=late["id"],
    )
    manager2 = make_caller(
        population, Role.LA_MANAGER, authorities=tuple(sorted({kid.authority, kid2.authority}))
    )
    queue = client.get("/v1/contact-requests", headers=manager2.headers).json()
    assert queue["contact_requests"][0]["id"] == late["id"]
    assert queue["contact_requests"][0]["overdue"] is True
    month = datetime.now(UTC).strftime("%Y-%m")
    report = client.get("/v1/reports/brokering", headers=manager2.headers).json()
    assert report["month"] == month and report["brokered"] >= 1
    assert report["median_hours_to_broker"] is not None
    printed = CliRunner().invoke(app, ["report", "brokering", "--month", month])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output)["requests"] >= 1
    wrong = CliRunner().invoke(app, ["report", "brokering", "--month", "2026-13"])
    assert wrong.exit_code == 2
