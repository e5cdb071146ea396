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
from mappings.normalise import fold
from tests.integration.search_support import Caller, Kid, Population, audit_rows, make_caller

pytestmark = pytest.mark.integration


def _shielded_with_school_and_gp(population: Population) -> Kid:
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


def _break_glass(client: TestClient, caller: Caller, kid: Kid, reason: str) -> Any:
    path = f"/v1/children/{kid.identifier}/break-glass"
    return client.post(path, json={"reason": reason}, headers=caller.headers)


def test_a_shielded_childs_view_withholds_every_location_field(
    population: Population,
    app_client: TestClient,
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
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded_with_school_and_gp(population)
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    view = _view(app_client, manager, kid).json()
    assert view["address"]["postcode"] == kid.postcode and view["gp_practice"] is not None
    assert view["education_setting"] is not None and not view["location_withheld"]


def test_break_glass_shows_the_location_once_and_is_audited_and_reported(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded_with_school_and_gp(population)
    plain = make_caller(population, Role.PRACTITIONER)
    refused = _break_glass(app_client, plain, kid, "Child at immediate risk")
    assert refused.status_code == 403
    protector = make_caller(population, Role.PRACTITIONER, child_protection=True)
    reason = "Section 47 enquiry, child at immediate risk"
    glass = _break_glass(app_client, protector, kid, reason).json()
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


@pytest.mark.parametrize(
    "reason",
    [" " * 10, "\t" * 10, "\u200b" * 10, "Section 47", "!" * 12, " \u200b\u00a0\u2028" * 5],
    ids=[
        "ten-spaces",
        "ten-tabs",
        "ten-zero-width-spaces",
        "nine-letters-and-digits",
        "punctuation",
        "invisible-mixture",
    ],
)
def test_a_break_glass_reason_without_ten_letters_or_digits_is_refused(
    population: Population,
    app_client: TestClient,
    reason: str,
) -> None:
    kid = _shielded_with_school_and_gp(population)
    protector = make_caller(population, Role.PRACTITIONER, child_protection=True)
    refused = _break_glass(app_client, protector, kid, reason)
    assert refused.status_code == 422, refused.text
    assert kid.postcode not in refused.text and "letters or digits" in refused.text
    assert audit_rows(population.engine, username=protector.username, event="view") == []


@pytest.mark.parametrize(
    "reason",
    [" " * 10, "\u200b" * 10, "Section 47 enquiry, child at immediate risk"],
    ids=["ten-spaces", "ten-zero-width-spaces", "a-real-reason"],
)
def test_a_break_glass_reason_in_the_address_is_refused_and_shows_no_location(
    population: Population,
    app_client: TestClient,
    reason: str,
) -> None:
    kid = _shielded_with_school_and_gp(population)
    protector = make_caller(population, Role.PRACTITIONER, child_protection=True)
    refused = _view(app_client, protector, kid, break_glass_reason=reason)
    assert refused.status_code == 400
    assert "POST to /v1/children/{identifier}/break-glass" in refused.json()["message"]
    assert kid.postcode not in refused.text
    assert audit_rows(population.engine, username=protector.username, event="view") == []


def test_the_break_glass_of_an_unknown_child_is_a_404(
    population: Population,
    app_client: TestClient,
) -> None:
    protector = make_caller(population, Role.PRACTITIONER, child_protection=True)
    response = app_client.post(
        "/v1/children/1234567890/break-glass",
        json={"reason": "Section 47 enquiry, child at immediate risk"},
        headers=protector.headers,
    )
    assert response.status_code == 404


def test_an_unknown_identifier_is_a_json_404_and_audited(
    population: Population,
    app_client: TestClient,
) -> None:
    caller = make_caller(population, Role.PRACTITIONER)
    response = app_client.get("/v1/children/1234567890", headers=caller.headers)
    assert response.status_code == 404
    assert response.json()["request_id"] == response.headers["X-Request-ID"]
    (row,) = audit_rows(population.engine, username=caller.username, event="view")
    assert row.subject == "1234567890" and row.details["found"] is False


def _sensitive(population: Population, count: int) -> list[tuple[Kid, int]]:
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
    population: Population,
    app_client: TestClient,
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
    population: Population,
    app_client: TestClient,
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
    population: Population,
) -> None:
    from searchapi.main import create_app

    schema = create_app().openapi()
    models = schema["components"]["schemas"]
    for name in ("SearchRequest", "SearchResponse", "ChildRecordView", "ErrorBody"):
        assert name in models
    assert models["SearchRequest"].get("examples") and models["ChildRecordView"].get("examples")


_WITH_CONTACTS = """
SELECT c.identifier FROM child c
WHERE c.status = 'active'
  AND (EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id AND s.removed_at IS NULL)) = :shielded
  AND EXISTS (SELECT 1 FROM carer WHERE carer.child_id = c.id AND carer.phone IS NOT NULL)
  AND EXISTS (SELECT 1 FROM involvement i JOIN organisation o ON o.id = i.organisation_id
              WHERE i.child_id = c.id AND i.practitioner_id IS NOT NULL AND NOT i.sensitive
                AND NOT o.sensitive AND o.phone IS NOT NULL
                AND o.kind NOT IN ('sexual_health', 'mental_health', 'substance_misuse'))
ORDER BY c.id OFFSET :offset LIMIT 1
"""
_SERVICE_NAMES = """
SELECT o.name, o.phone FROM involvement i JOIN organisation o ON o.id = i.organisation_id
JOIN child c ON c.id = i.child_id
WHERE c.identifier = :identifier AND NOT i.sensitive AND NOT o.sensitive
  AND o.kind NOT IN ('sexual_health', 'mental_health', 'substance_misuse')
"""
_CONTACT_PARTS = {
    "carers.phone",
    "carers.email",
    "involvements.service",
    "involvements.phone",
    "involvements.email",
}


def _with_contacts(population: Population, *, shielded: bool, offset: int = 0) -> Kid:
    with population.engine.connect() as connection:
        identifier = connection.scalar(
            text(_WITH_CONTACTS), {"shielded": shielded, "offset": offset}
        )
    return next(kid for kid in population.kids if kid.identifier == identifier)


def _services(population: Population, kid: Kid) -> list[tuple[str, str | None]]:
    with population.engine.connect() as connection:
        rows = connection.execute(text(_SERVICE_NAMES), {"identifier": kid.identifier}).all()
    return [(row.name, row.phone) for row in rows]


def _plain_services(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in view["involvements"] if not item["details_withheld"]]


def _assert_all_shown(view: dict[str, Any], services: list[tuple[str, str | None]]) -> None:
    assert not _CONTACT_PARTS & set(view["withheld"])
    assert any(carer["phone"] for carer in view["carers"])
    assert not any(carer["contact_withheld"] for carer in view["carers"])
    plain = _plain_services(view)
    assert {item["service"] for item in plain} == {name for name, _ in services}
    assert not any(item["service_withheld"] for item in plain)


def test_a_shielded_childs_carer_and_service_contacts_give_way_to_the_team(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _with_contacts(population, shielded=True)
    caller = make_caller(population, Role.PRACTITIONER)
    response = _view(app_client, caller, kid)
    view = response.json()
    team = view["local_authority"]
    assert _CONTACT_PARTS <= set(view["withheld"])
    assert all(
        carer["phone"] is None and carer["email"] is None and carer["contact_withheld"]
        for carer in view["carers"]
    )
    plain = _plain_services(view)
    assert plain and all(
        item["service"] == "service withheld (shielded)"
        and item["service_withheld"]
        and item["phone"] == team["team_phone"]
        and item["email"] == team["team_email"]
        for item in plain
    )
    # The practitioners (why the service exists), the kind and the flags stay.
    assert any(item["practitioner"] and item["practitioner"]["name"] for item in plain)
    assert all(item["kind"] for item in plain)
    for name, _ in _services(population, kid):
        assert name not in response.text
    (row,) = audit_rows(population.engine, username=caller.username, event="view")
    assert _CONTACT_PARTS <= set(row.details["withheld_fields"])
    assert not _CONTACT_PARTS & set(row.details["shown_fields"])


def test_the_manager_a_named_practitioner_and_break_glass_see_a_shielded_childs_contacts(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _with_contacts(population, shielded=True, offset=1)
    services = _services(population, kid)
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    _assert_all_shown(_view(app_client, manager, kid).json(), services)
    named = make_caller(population, Role.PRACTITIONER)
    granted = app_client.post(
        f"/v1/children/{kid.identifier}/shield/access",
        json={"username": named.username, "reason": "Allocated social worker"},
        headers=manager.headers,
    )
    assert granted.status_code == 200, granted.text
    _assert_all_shown(_view(app_client, named, kid).json(), services)
    protector = make_caller(population, Role.PRACTITIONER, child_protection=True)
    glass = _break_glass(app_client, protector, kid, "Section 47 enquiry, child at immediate risk")
    _assert_all_shown(glass.json(), services)
    (row,) = audit_rows(population.engine, username=protector.username, event="view")
    assert _CONTACT_PARTS <= set(row.details["shown_fields"])


def test_an_unshielded_childs_carer_and_service_contacts_are_all_shown(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _with_contacts(population, shielded=False)
    caller = make_caller(population, Role.PRACTITIONER)
    view = _view(app_client, caller, kid).json()
    _assert_all_shown(view, _services(population, kid))
    assert view["withheld"] == [
        name for name in view["withheld"] if name.startswith("involvements[")
    ]


def _shielded_and_moved(population: Population) -> Kid:
    return next(
        kid
        for kid in population.kids
        if kid.shielded and kid.previous_postcodes and kid.status == "active"
    )


def test_previous_addresses_are_location_withheld_with_the_address(
    population: Population,
    app_client: TestClient,
) -> None:
    kid = _shielded_and_moved(population)
    caller = make_caller(population, Role.PRACTITIONER)
    response = _view(app_client, caller, kid)
    view = response.json()
    assert view["previous_addresses"] is None and "previous_addresses" in view["withheld"]
    assert all(postcode not in response.text for postcode in kid.previous_postcodes)
    (row,) = audit_rows(population.engine, username=caller.username, event="view")
    assert "previous_addresses" in row.details["withheld_fields"]
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    shown = _view(app_client, manager, kid).json()
    assert [a["postcode"] for a in shown["previous_addresses"]] == list(kid.previous_postcodes)
    assert shown["previous_addresses"][0]["from_date"] <= shown["previous_addresses"][0]["to_date"]


def test_the_record_shows_former_names_even_when_the_location_is_withheld(
    population: Population,
    app_client: TestClient,
) -> None:
    # A shielded child if the data has one (names are not location), else any renamed child.
    renamed = [k for k in population.kids if k.other_family_names]
    kid = next((k for k in renamed if k.shielded), renamed[0])
    caller = make_caller(population, Role.PRACTITIONER)
    view = _view(app_client, caller, kid).json()
    assert [n["family_name"] for n in view["other_names"]] == list(kid.other_family_names)
    assert view["other_names"][0]["kind"] == "former"


def test_the_record_page_shows_previous_postcodes_only_where_the_address_is_shown(
    population: Population,
    pages: TestClient,
) -> None:
    from tests.integration.pages_support import HTML, new_username, sign_in

    kid = _shielded_and_moved(population)
    sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    page = pages.get(f"/children/{kid.identifier}", headers=HTML).text
    assert "Previous postcodes" not in page and kid.previous_postcodes[0] not in page
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in(pages, population, manager)
    page = pages.get(f"/children/{kid.identifier}", headers=HTML).text
    assert "Previous postcodes" in page and kid.previous_postcodes[0] in page
