"""The FHIR facade on the real servers: every answer is validated as FHIR R4 by `fhir.resources`,
PDS's search semantics, $match's grades, shielding and the audit as the JSON API has them."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from sqlalchemy import text

from db.access import Role
from mappings.normalise import fold
from searchapi.fhir.resources import CHILD_IDENTIFIER, SPINE_ERRORS
from tests.integration.search_support import Caller, Kid, Population, audit_rows, make_caller
from tests.integration.test_search_matching import nickname

pytestmark = pytest.mark.integration

FHIR = "application/fhir+json"


def _get(client: TestClient, caller: Caller, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=caller.headers)
    assert response.headers["content-type"].startswith(FHIR), response.text
    return response


def _bundle(response: Any) -> Bundle:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Bundle", body
    return Bundle.model_validate(body)


def _ids(bundle: Bundle) -> list[str]:
    return [entry.resource.id for entry in bundle.entry or []]


def _unique(population: Population, *, shielded: bool) -> Kid:
    kids = population.unique(
        lambda k: (fold(k.given_names), fold(k.family_name), k.date_of_birth),
        where=lambda k: k.shielded is shielded and k.status == "active" and bool(k.postcode),
    )
    assert kids
    return kids[len(kids) // 3]


def _exact(kid: Kid) -> dict[str, str]:
    return {
        "family": kid.family_name,
        "given": kid.given_names.split()[0],
        "birthdate": kid.date_of_birth.isoformat(),
    }


def test_the_capability_statement_says_what_the_facade_serves(
    population: Population, app_client: TestClient
) -> None:
    caller = make_caller(population, Role.PRACTITIONER)
    response = _get(app_client, caller, "/fhir/metadata")
    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1"
    (rest,) = statement.rest
    served = {resource.type: resource for resource in rest.resource}
    assert set(served) == {"Patient", "CareTeam"}
    assert {p.name for p in served["Patient"].searchParam} >= {"_fuzzy-match", "_max-results"}
    assert [op.name for op in served["Patient"].operation] == ["match"]


def test_an_exact_search_finds_the_child_with_its_score_and_audits_it(
    population: Population, app_client: TestClient
) -> None:
    kid = _unique(population, shielded=False)
    caller = make_caller(population, Role.PRACTITIONER)
    bundle = _bundle(_get(app_client, caller, "/fhir/Patient", **_exact(kid)))
    assert _ids(bundle) == [kid.identifier]
    (entry,) = bundle.entry
    assert entry.search.mode == "match" and 0.5 < entry.search.score <= 1
    patient = Patient.model_validate(entry.resource.model_dump())
    assert patient.identifier[0].system == CHILD_IDENTIFIER
    assert patient.name[0].family == kid.family_name and patient.gender == kid.gender
    (row,) = audit_rows(population.engine, username=caller.username, event="search")
    assert row.details["identifiers_shown"] == [kid.identifier]


def test_a_nickname_is_found_only_with_fuzzy_matching_as_pds_does(
    population: Population, app_client: TestClient
) -> None:
    kid, body, _, _ = nickname(population)
    caller = make_caller(population, Role.PRACTITIONER)
    params = {
        "family": body["family_name"],
        "given": body["given_name"],
        "birthdate": body["date_of_birth"],
    }
    strict = _bundle(_get(app_client, caller, "/fhir/Patient", **params))
    assert kid.identifier not in _ids(strict)
    fuzzy = _get(
        app_client, caller, "/fhir/Patient", **params, **{"_fuzzy-match": "true", "_max-results": 5}
    )
    assert _ids(_bundle(fuzzy))[0] == kid.identifier


def test_more_good_matches_than_max_results_is_too_many_matches(
    population: Population, app_client: TestClient
) -> None:
    # The commonest family name and year of birth: many children match as well as each other.
    (family, year), _ = Counter(
        (k.family_name, k.date_of_birth.year) for k in population.kids if not k.shielded
    ).most_common(1)[0]
    caller = make_caller(population, Role.PRACTITIONER)
    params = {"family": family, "birthdate": str(year), "_fuzzy-match": "true"}
    response = _get(app_client, caller, "/fhir/Patient", **params)
    assert response.status_code == 200
    body = response.json()
    problem = OperationOutcome.model_validate(body)
    (issue,) = problem.issue
    assert issue.code == "multiple-matches"
    assert issue.details.coding[0].system == SPINE_ERRORS
    assert issue.details.coding[0].code == "TOO_MANY_MATCHES"


def test_a_shielded_child_is_never_found_by_postcode_and_read_without_its_location(
    population: Population, app_client: TestClient
) -> None:
    kid = _unique(population, shielded=True)
    practitioner = make_caller(population, Role.PRACTITIONER)
    by_postcode = {
        "family": kid.family_name,
        "address-postalcode": kid.postcode,
        "_fuzzy-match": "true",
        "_max-results": 50,
    }
    assert kid.identifier not in _ids(
        _bundle(_get(app_client, practitioner, "/fhir/Patient", **by_postcode))
    )
    found = _bundle(_get(app_client, practitioner, "/fhir/Patient", **_exact(kid)))
    assert _ids(found) == [kid.identifier]
    summary = found.entry[0].resource
    assert summary.address is None and summary.meta.security[0].code == "R"
    read = _get(app_client, practitioner, f"/fhir/Patient/{kid.identifier}")
    assert read.status_code == 200
    patient = Patient.model_validate(read.json())
    assert patient.address is None and patient.generalPractitioner is None
    assert patient.contact is None  # as PDS restricts a patient: no contacts at all
    assert kid.postcode not in read.text and kid.address_lines[0] not in read.text
    # The manager of its authority finds it by postcode and reads where it lives.
    manager = make_caller(population, Role.LA_MANAGER, authorities=(kid.authority,))
    assert kid.identifier in _ids(
        _bundle(_get(app_client, manager, "/fhir/Patient", **by_postcode))
    )
    managed = Patient.model_validate(
        _get(app_client, manager, f"/fhir/Patient/{kid.identifier}").json()
    )
    assert managed.address[0].postalCode == kid.postcode
    (view,) = audit_rows(population.engine, username=practitioner.username, event="view")
    assert view.subject == kid.identifier and view.details["shielded"] is True


def _match_body(patient: dict[str, Any], **extra: Any) -> dict[str, Any]:
    parameters = [{"name": "resource", "resource": {"resourceType": "Patient", **patient}}]
    parameters += [
        {"name": name, **({"valueBoolean": v} if isinstance(v, bool) else {"valueInteger": v})}
        for name, v in extra.items()
    ]
    return {"resourceType": "Parameters", "parameter": parameters}


def test_match_grades_each_candidate_and_can_answer_only_the_certain(
    population: Population, app_client: TestClient
) -> None:
    kid, body, _, _ = nickname(population)
    caller = make_caller(population, Role.PRACTITIONER)
    patient = {
        "name": [{"family": body["family_name"], "given": [body["given_name"]]}],
        "birthDate": body["date_of_birth"],
    }
    response = app_client.post(
        "/fhir/Patient/$match",
        json=_match_body(patient, count=5),
        headers={**caller.headers, "Content-Type": FHIR},
    )
    bundle = _bundle(response)
    assert _ids(bundle)[0] == kid.identifier and len(_ids(bundle)) <= 5
    grades = [
        entry.search.extension[0].valueCode
        for entry in bundle.entry
        if entry.search.extension[0].url.endswith("match-grade")
    ]
    assert grades[0] == "certain" and set(grades) <= {"certain", "probable", "possible"}
    certain = app_client.post(
        "/fhir/Patient/$match",
        json=_match_body(patient, onlyCertainMatches=True),
        headers=caller.headers,
    )
    assert {e.search.extension[0].valueCode for e in _bundle(certain).entry} == {"certain"}


def test_the_services_working_with_a_child_are_its_care_team(
    population: Population, app_client: TestClient
) -> None:
    with population.engine.connect() as connection:
        identifier, count = connection.execute(
            text(
                "SELECT c.identifier, count(*) FROM child c JOIN involvement i ON i.child_id = c.id"
                " WHERE NOT EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id"
                " AND s.removed_at IS NULL) GROUP BY c.identifier ORDER BY count(*) DESC LIMIT 1"
            )
        ).one()
    caller = make_caller(population, Role.PRACTITIONER)
    bundle = _bundle(_get(app_client, caller, "/fhir/CareTeam", patient=f"Patient/{identifier}"))
    (entry,) = bundle.entry
    team = CareTeam.model_validate(entry.resource.model_dump())
    assert team.subject.reference == f"Patient/{identifier}"
    assert len(team.participant) == count
    contained = {resource.id for resource in team.contained}
    assert all(p.member.reference.removeprefix("#") in contained for p in team.participant)


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/fhir/Patient", {"family": "Smith", "colour": "blue"}, 422, "invalid"),
        ("/fhir/Patient", {"family": "Smith", "birthdate": "ge2015-01-01"}, 422, "invalid"),
        ("/fhir/Patient", {"family": "Smith", "birthdate": "2015-02-30"}, 422, "invalid"),
        ("/fhir/Patient", {"family": "Smith", "_max-results": "51"}, 422, "invalid"),
        ("/fhir/Patient", {"family": "Smith"}, 422, "invalid"),  # too little to search on
        ("/fhir/Patient", {"identifier": "urn:other|123"}, 422, "invalid"),
        ("/fhir/Patient/0000000000", {}, 404, "not-found"),
        ("/fhir/Patient/not!valid", {}, 422, "invalid"),
        ("/fhir/CareTeam", {"patient": "Patient/../x"}, 422, "invalid"),
        ("/fhir/Observation", {}, 404, "not-found"),
    ],
)
def test_a_bad_question_is_an_operation_outcome_naming_the_problem(
    population: Population,
    app_client: TestClient,
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    caller = make_caller(population, Role.PRACTITIONER)
    response = _get(app_client, caller, path, **params)
    assert response.status_code == status, response.text
    problem = OperationOutcome.model_validate(response.json())
    assert problem.issue[0].code == code and problem.issue[0].diagnostics


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Patient"},
        {"resourceType": "Parameters"},
        {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {}}]},
        _match_body({"birthDate": "not a date"}),
        _match_body({"name": [{"family": "Smith"}]}, count=0),
        [1, 2, 3],
    ],
)
def test_a_bad_match_is_refused_with_an_operation_outcome(
    population: Population, app_client: TestClient, body: Any
) -> None:
    caller = make_caller(population, Role.PRACTITIONER)
    response = app_client.post("/fhir/Patient/$match", json=body, headers=caller.headers)
    assert response.status_code == 422, response.text
    OperationOutcome.model_validate(response.json())


def test_without_credentials_the_facade_answers_an_operation_outcome(
    app_client: TestClient,
) -> None:
    response = app_client.get("/fhir/Patient", params={"family": "Smith"})
    assert response.status_code == 401
    assert OperationOutcome.model_validate(response.json()).issue[0].code == "login"
