"""Subject access reports on the real servers: what a manager of the child's authority gets (the
record, sources, the shield's existence, every involvement, who searched for or viewed the
child), what it never holds (the shield's reason and access list, a sensitive service's name, a
shielded location unless included), who is refused, and the `sar` command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from contactpoint.cli import app
from db.access import Role
from tests.integration.access_support import (
    bearer,
    build_client,
    fast_settings,
    new_account,
    new_api_key,
    new_authority,
)
from tests.integration.search_support import (
    Caller,
    Kid,
    Population,
    audit_rows,
    build_population,
    make_caller,
)

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def population(
    engine: Any, elasticsearch_ready: None, settings: Any, tmp_path_factory: Any
) -> Iterator[Population]:
    yield from build_population(
        engine=engine,
        settings=settings,
        tmp_path_factory=tmp_path_factory,
        children=600,
        seed=83,
    )


@pytest.fixture(scope="module")
def client(population: Population) -> Iterator[TestClient]:
    _, app_client = build_client(fast_settings(population.settings))
    with app_client:
        yield app_client


def _rows(population: Population, sql: str, **params: Any) -> list[Any]:
    with population.engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def _kid(population: Population, *, shielded: bool) -> Kid:
    """A child with an ordinary service and (unless shielded) a sensitive one, whom nobody
    shares a name and birth with."""
    sensitive = {
        row.identifier
        for row in _rows(
            population,
            "SELECT DISTINCT c.identifier FROM child c JOIN involvement i ON i.child_id = c.id"
            " JOIN organisation o ON o.id = i.organisation_id"
            " WHERE i.sensitive OR o.sensitive"
            " OR o.kind IN ('sexual_health', 'mental_health', 'substance_misuse')",
        )
    }
    ordinary = {
        row.identifier
        for row in _rows(
            population,
            "SELECT DISTINCT c.identifier FROM child c JOIN involvement i ON i.child_id = c.id"
            " JOIN organisation o ON o.id = i.organisation_id"
            " WHERE NOT i.sensitive AND NOT o.sensitive"
            " AND o.kind NOT IN ('sexual_health', 'mental_health', 'substance_misuse')",
        )
    }
    kids = population.unique(
        lambda k: (k.given_names, k.family_name, k.date_of_birth),
        where=lambda k: k.shielded == shielded and k.status == "active" and k.authority,
    )
    # Few shielded children have both kinds: any with a service will do.
    wanted = ordinary if shielded else sensitive & ordinary
    return next(k for k in kids if k.identifier in wanted)


def _manager(population: Population, kid: Kid) -> Caller:
    return make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))


def _report(client: TestClient, caller: Caller, kid: Kid, **params: str) -> dict[str, Any]:
    response = client.get(
        f"/v1/children/{kid.identifier}/subject-access", params=params, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["Content-Disposition"]
    report: dict[str, Any] = response.json()
    return report


def test_the_report_holds_the_record_its_sources_involvements_and_who_saw_the_child(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population, shielded=False)
    (child_id,) = _rows(population, "SELECT id FROM child WHERE identifier = :i", i=kid.identifier)
    # One involvement ended (the report keeps it), and one field set by a feed.
    population.execute(
        "UPDATE involvement SET end_date = start_date + 30 WHERE id = (SELECT min(i.id) FROM"
        " involvement i JOIN organisation o ON o.id = i.organisation_id WHERE i.child_id = :id"
        " AND NOT i.sensitive AND NOT o.sensitive"
        " AND o.kind NOT IN ('sexual_health', 'mental_health', 'substance_misuse'))",
        id=child_id.id,
    )
    population.execute(
        "INSERT INTO child_field_source (child_id, field, source, record_id, as_of)"
        " VALUES (:id, 'gp_practice', 'health', '9434765013', DATE '2026-10-01')",
        id=child_id.id,
    )
    practitioner = make_caller(population, Role.PRACTITIONER)
    found = client.post(
        "/v1/search",
        json={
            "given_name": kid.given_names,
            "family_name": kid.family_name,
            "date_of_birth": kid.date_of_birth.isoformat(),
        },
        headers=practitioner.headers,
    )
    assert kid.identifier in {r["identifier"] for r in found.json()["results"]}
    assert client.get(f"/v1/children/{kid.identifier}", headers=practitioner.headers).is_success
    manager = _manager(population, kid)

    report = _report(client, manager, kid)

    record = report["record"]
    assert record["identifier"] == kid.identifier
    assert (record["given_names"], record["family_name"]) == (kid.given_names, kid.family_name)
    assert record["address"]["postcode"] == kid.postcode
    assert report["shield"] == {"shielded": False, "since": None}
    assert {
        "field": "gp_practice",
        "source": "health",
        "record_id": "9434765013",
        "as_of": "2026-10-01",
    } in report["sources"]
    involvements = report["involvements"]
    assert any(item["ended"] and item.get("end_date") for item in involvements)
    sensitive = [item for item in involvements if item["sensitive"]]
    assert sensitive and all(set(item) == {"service", "sensitive", "ended"} for item in sensitive)
    assert all(item["service"] == "A sensitive service" for item in sensitive)
    names = {
        row.name
        for row in _rows(
            population,
            "SELECT o.name FROM involvement i JOIN organisation o ON o.id = i.organisation_id"
            " WHERE i.child_id = :id AND (i.sensitive OR o.sensitive"
            " OR o.kind IN ('sexual_health', 'mental_health', 'substance_misuse'))",
            id=child_id.id,
        )
    }
    assert not any(name in json.dumps(report) for name in names)
    recipients = {(r["organisation"], r["what"]) for r in report["recipients"]}
    assert ("Test Health Visiting Team", "viewed the record") in recipients
    assert (
        "Test Health Visiting Team",
        "searched: the child was in the results shown",
    ) in recipients
    (audited,) = audit_rows(
        population.engine, username=manager.username, event="subject_access_report"
    )
    assert audited.subject == kid.identifier
    assert audited.details["formats"] == ["json"]
    assert audited.details["location_included"] is True

    pdf = client.get(f"/v1/children/{kid.identifier}/subject-access.pdf", headers=manager.headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and len(pdf.content) > 2_000
    assert (
        len(audit_rows(population.engine, username=manager.username, event="subject_access_report"))
        == 2
    )


def test_a_shielded_childs_report_has_the_shields_existence_and_no_location_or_access_list(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population, shielded=True)
    manager = _manager(population, kid)
    named = make_caller(population, Role.PRACTITIONER)
    granted = client.post(
        f"/v1/children/{kid.identifier}/shield/access",
        json={"username": named.username, "reason": "Allocated social worker for the family"},
        headers=manager.headers,
    )
    assert granted.status_code == 200, granted.text
    (shield,) = _rows(
        population,
        "SELECT s.reason FROM shield s JOIN child c ON c.id = s.child_id"
        " WHERE c.identifier = :i AND s.removed_at IS NULL",
        i=kid.identifier,
    )
    report = _report(client, manager, kid)
    shown = json.dumps(report)
    assert report["shield"]["shielded"] is True and report["shield"]["since"]
    assert named.username not in shown and shield.reason not in shown
    assert report["report"]["location_included"] is False
    for located in (kid.postcode, kid.address_lines[0], kid.postcode.split()[0] + " "):
        assert located not in shown, located
    assert report["record"]["address"] == {"withheld": "Withheld: the record is shielded"}
    included = _report(client, manager, kid, location="include")
    assert included["record"]["address"]["postcode"] == kid.postcode
    assert named.username not in json.dumps(included) and shield.reason not in json.dumps(included)
    audited = audit_rows(
        population.engine, username=manager.username, event="subject_access_report"
    )
    assert [row.details["location_included"] for row in audited] == [False, True]
    bad = client.get(
        f"/v1/children/{kid.identifier}/subject-access",
        params={"location": "everything"},
        headers=manager.headers,
    )
    assert bad.status_code == 422


def test_everyone_but_a_manager_of_the_childs_authority_is_refused_and_audited(
    population: Population, client: TestClient
) -> None:
    kid = _kid(population, shielded=False)
    urls = [
        f"/v1/children/{kid.identifier}/subject-access",
        f"/v1/children/{kid.identifier}/subject-access.pdf",
    ]
    elsewhere = make_caller(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    callers = [elsewhere] + [
        make_caller(population, role, authorities=(kid.authority,))
        for role in (Role.PRACTITIONER, Role.ADMIN, Role.AUDITOR)
    ]
    for caller in callers:
        for url in urls:
            response = client.get(url, headers=caller.headers)
            assert response.status_code == 403, (caller.username, response.text)
            assert kid.family_name not in response.text
        assert (
            len(audit_rows(population.engine, username=caller.username, event="access_denied")) == 2
        )
        assert not audit_rows(
            population.engine, username=caller.username, event="subject_access_report"
        )
    fast = fast_settings(population.settings)
    account = new_account(
        population.engine, fast, roles=[Role.LA_MANAGER], authorities=[kid.authority]
    )
    key = new_api_key(population.engine, authority=kid.authority, roles=(Role.LA_MANAGER,))
    through_cms = client.get(urls[0], headers={**bearer(key), "X-On-Behalf-Of": account.username})
    assert through_cms.status_code == 403
    missing = client.get(
        "/v1/children/0000000000/subject-access", headers=_manager(population, kid).headers
    )
    assert missing.status_code == 404


def test_the_sar_command_writes_both_files_for_a_manager_and_refuses_anyone_else(
    population: Population, tmp_path: Path
) -> None:
    kid = _kid(population, shielded=False)
    fast = fast_settings(population.settings)
    manager = new_account(
        population.engine, fast, roles=[Role.LA_MANAGER], authorities=[kid.authority]
    )
    result = runner.invoke(
        app, ["sar", kid.identifier, "--as", manager.username, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / f"subject-access-{kid.identifier}.json").read_text())
    assert data["record"]["identifier"] == kid.identifier
    pdf = (tmp_path / f"subject-access-{kid.identifier}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    (audited,) = audit_rows(
        population.engine, username=manager.username, event="subject_access_report"
    )
    assert audited.details["formats"] == ["json", "pdf"]

    practitioner = new_account(
        population.engine, fast, roles=[Role.PRACTITIONER], authorities=[kid.authority]
    )
    refused = runner.invoke(
        app, ["sar", kid.identifier, "--as", practitioner.username, "--out", str(tmp_path / "x")]
    )
    assert refused.exit_code == 1
    assert "la_manager" in refused.output
    assert not (tmp_path / "x").exists()
    assert audit_rows(population.engine, username=practitioner.username, event="access_denied")
    nobody = runner.invoke(app, ["sar", kid.identifier, "--as", "no-such-user-anywhere"])
    assert nobody.exit_code == 1 and "no account" in nobody.output
