"""The record view from PostgreSQL: shielded locations, sensitive services, break-glass, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.access import Role
from db.audit import MisuseRules, misuse_report
from mappings import fold
from tests.integration.search_support import (  # noqa: F401
    Caller,
    Kid,
    Population,
    app_client,
    audit_rows,
    make_caller,
    population,
)

pytestmark = pytest.mark.integration


def _shielded_with_school_and_gp(population: Population) -> Kid:  # noqa: F811
    with population.engine.connect() as connection:
        identifiers = set(
            connection.scalars(
                text(
                    "SELECT c.identifier FROM child c JOIN shield s ON s.child_id = c.id"
                    " AND s.removed_at IS NULL WHERE c.education_setting_id IS NOT NULL"
                    " AND c.gp_practice_id IS NOT NULL"
                    " AND EXISTS (SELECT 1 FROM carer WHERE carer.child_id = c.id"
                    " AND carer.address_lines IS NOT NULL)"
                )
            )
        )
    return next(kid for kid in population.kids if kid.identifier in identifiers)


def _view(client: TestClient, caller: Caller, kid: Kid, **params: str) -> Any:
    return client.get(f"/v1/children/{kid.identifier}", params=params, headers=caller.headers)


def test_a_shielded_childs_view_withholds_every_location_field(
    population: Population,  # noqa: F811
    app_client: TestClient,  # noqa: F811
) -> None:
    kid = _shielded_with_school_and_gp(population)
    caller = make_caller(population, Role.PRACTITIONER)
    response = _view(app_client, caller, kid)
    assert response.status_code == 200
    view = response.json()
    assert view["address"] is None and view["location_withheld"]
    assert view["education_setting"] is None and view["gp_practice"] is None
    assert all(carer["address"] is None and carer["address_withheld"] for carer in view["carers"])
    assert {"address", "carers.address", "education_setting", "gp_practice"} <= set(
        view["withheld"]
    )
    assert kid.postcode not in response.text and kid.address_lines[0] not in response.text
    (row,) = audit_rows(population.engine, username=caller.username, event="view")
    assert row.subject == kid.identifier and row.details["shielded"] is True
    assert "address" in row.details["withheld_fields"]


def test_the_manager_of_its_authority_sees_the_shielded_location(
    population: Population,  # noqa: F811
    app_client: TestClient,  # noqa: F811
) -> None:
    kid = _shielded_with_school_and_gp(population)
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    view = _view(app_client, manager, kid).json()
    assert view["address"]["postcode"] == kid.postcode and view["gp_practice"] is not None
    assert view["education_setting"] is not None and not view["location_withheld"]


def test_break_glass_shows_the_location_once_and_is_audited_and_reported(
    population: Population,  # noqa: F811
    app_client: TestClient,  # noqa: F811
) -> None:
    kid = _shielded_with_school_and_gp(population)
    plain = make_caller(population, Role.PRACTITIONER)
    refused = _view(app_client, plain, kid, break_glass_reason="Child at immediate risk")
    assert refused.status_code == 403
    protector = make_caller(population, Role.PRACTITIONER, child_protection=True)
    reason = "Section 47 enquiry, child at immediate risk"
    glass = _view(app_client, protector, kid, break_glass_reason=reason).json()
    assert glass["break_glass"] and glass["address"]["postcode"] == kid.postcode
    again = _view(app_client, protector, kid).json()
    assert again["address"] is None
    rows = audit_rows(population.engine, username=protector.username, event="view")
    assert rows[0].details["break_glass"] is True and rows[0].details["reason"] == reason
    assert rows[1].details["break_glass"] is False
    with Session(population.engine) as session:
        now = datetime.now(UTC)
        report = misuse_report(
            session=session,
            since=now - timedelta(hours=1),
            until=now + timedelta(seconds=1),
            rules=MisuseRules(),
        )
    (flag,) = [f for f in report.sensitive_views if f.username == protector.username]
    assert flag.break_glass == 1 and kid.identifier in flag.identifiers


def test_an_unknown_identifier_is_a_json_404_and_audited(
    population: Population,  # noqa: F811
    app_client: TestClient,  # noqa: F811
) -> None:
    caller = make_caller(population, Role.PRACTITIONER)
    response = app_client.get("/v1/children/1234567890", headers=caller.headers)
    assert response.status_code == 404
    assert response.json()["request_id"] == response.headers["X-Request-ID"]
    (row,) = audit_rows(population.engine, username=caller.username, event="view")
    assert row.subject == "1234567890" and row.details["found"] is False


def _sensitive(population: Population, count: int) -> list[tuple[Kid, int]]:  # noqa: F811
    with population.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.identifier, i.id FROM involvement i JOIN child c ON c.id = i.child_id"
                " JOIN organisation o ON o.id = i.organisation_id"
                " WHERE o.kind IN ('sexual_health', 'mental_health', 'substance_misuse')"
                " AND i.consent_recorded_at IS NULL AND i.override_at IS NULL"
                " ORDER BY i.id LIMIT :count"
            ),
            {"count": count},
        ).all()
    kids = {kid.identifier: kid for kid in population.kids}
    return [(kids[row.identifier], row.id) for row in rows]


def _involvement(view: dict[str, Any], involvement_id: int) -> dict[str, Any]:
    return next(item for item in view["involvements"] if item["id"] == involvement_id)


def test_a_sensitive_service_shows_only_as_such_until_consent_is_recorded(
    population: Population,  # noqa: F811
    app_client: TestClient,  # noqa: F811
) -> None:
    (kid, involvement_id), _ = _sensitive(population, 2)
    caller = make_caller(population, Role.PRACTITIONER)
    hidden = _involvement(_view(app_client, caller, kid).json(), involvement_id)
    assert hidden["service"] == "sensitive service" and hidden["practitioner"] is None
    assert hidden["details_withheld"] and hidden["kind"] is None
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    managed = _involvement(_view(app_client, manager, kid).json(), involvement_id)
    assert managed["service"] != "sensitive service"
    path = f"/v1/children/{kid.identifier}/involvements/{involvement_id}/consent"
    consent = {"given_by": f"{kid.given_names} {fold(kid.family_name)} (the young person)"}
    assert app_client.post(path, json=consent, headers=caller.headers).status_code == 403
    assert app_client.post(path, json=consent, headers=manager.headers).status_code == 200
    shown = _involvement(_view(app_client, caller, kid).json(), involvement_id)
    assert shown["service"] == managed["service"] and shown["consent_recorded"]
    (row,) = audit_rows(population.engine, username=manager.username, event="consent_recorded")
    assert row.details["involvement_id"] == involvement_id


def test_a_child_protection_override_shows_the_service_and_is_audited_with_its_reason(
    population: Population,  # noqa: F811
    app_client: TestClient,  # noqa: F811
) -> None:
    _, (kid, involvement_id) = _sensitive(population, 2)
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    caller = make_caller(population, Role.PRACTITIONER)
    path = f"/v1/children/{kid.identifier}/involvements/{involvement_id}/override"
    reason = {"reason": "Child protection conference needs every service"}
    assert app_client.post(path, json=reason, headers=manager.headers).status_code == 200
    shown = _involvement(_view(app_client, caller, kid).json(), involvement_id)
    assert shown["service"] != "sensitive service" and shown["override_recorded"]
    (row,) = audit_rows(population.engine, username=manager.username, event="consent_override")
    assert row.details["reason"] == reason["reason"] and row.subject == kid.identifier


def test_the_openapi_schema_describes_the_search_and_view_models_with_examples(
    population: Population,  # noqa: F811
) -> None:
    from searchapi.main import create_app

    schema = create_app().openapi()
    models = schema["components"]["schemas"]
    for name in ("SearchRequest", "SearchResponse", "ChildRecordView", "ErrorBody"):
        assert name in models
    assert models["SearchRequest"].get("examples") and models["ChildRecordView"].get("examples")
