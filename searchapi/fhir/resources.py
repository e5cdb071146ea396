"""ContactPoint's answers as FHIR R4 resources, built and validated with `fhir.resources`.

The R4B models are used: R4B changed nothing in Patient, CareTeam, Bundle, OperationOutcome or
CapabilityStatement that these resources use. Every resource is validated by its model before
it is sent, so a malformed answer is a fault of ours, never a client's problem to discover.

Nothing here decides access: the record view and the search have withheld what the caller may
not see, and these functions only leave out what is absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.resource import Resource

from searchapi.record_schemas import Address, ChildRecordView, InvolvementView
from searchapi.search_schemas import SearchResult

FHIR_JSON: Final = "application/fhir+json"
# The system of ContactPoint's child identifier (a Patient's identifier and logical id).
CHILD_IDENTIFIER: Final = "https://contactpoint.service.gov.uk/Id/child-identifier"
# How PDS marks a restricted (shielded) patient: its address and contacts are left out.
_CONFIDENTIALITY: Final = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
# PDS's error codes, in the details of an OperationOutcome's issue.
SPINE_ERRORS: Final = "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode"
_MATCH_GRADE: Final = "http://hl7.org/fhir/StructureDefinition/match-grade"
_ROLE: Final = "https://contactpoint.service.gov.uk/CodeSystem/care-team-role"
_RELATIONSHIP: Final = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
# The carers' relationships in HL7's RoleCode, where it has one.
_ROLE_CODES: Final = {
    "mother": "MTH",
    "father": "FTH",
    "step_parent": "STPPRN",
    "grandparent": "GRPRN",
    "foster_carer": "FTHFOST",
    "guardian": "GUARD",
    "other_relative": "FAMMEMB",
}
# FHIR's issue type for each HTTP status of an error.
_ISSUE_CODES: Final = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "conflict",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


def as_json(resource: Resource) -> dict[str, Any]:
    """The resource as FHIR JSON, without the absent elements."""
    dumped: dict[str, Any] = resource.model_dump(mode="json", exclude_none=True)
    return dumped


def _address(address: Address | None) -> list[dict[str, Any]]:
    if address is None:
        return []
    return [
        {
            "use": "home",
            "line": list(address.lines),
            **({"city": address.town} if address.town else {}),
            **({"postalCode": address.postcode} if address.postcode else {}),
        }
    ]


def _telecom(phone: str | None, email: str | None) -> list[dict[str, Any]]:
    return [
        *([{"system": "phone", "value": phone}] if phone else []),
        *([{"system": "email", "value": email}] if email else []),
    ]


def _security(withheld: bool) -> dict[str, Any]:
    if not withheld:
        return {}
    code = {"system": _CONFIDENTIALITY, "code": "R", "display": "restricted"}
    return {"meta": {"security": [code]}}


def _identity(identifier: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": identifier,
        "identifier": [{"system": CHILD_IDENTIFIER, "value": identifier}],
    }


def _name(given_names: str, family_name: str, use: str = "official") -> dict[str, Any]:
    return {"use": use, "family": family_name, "given": given_names.split()}


def patient_of_result(result: SearchResult) -> Patient:
    """A search result as a Patient: what the search shows (the town and outward code, never
    more; nothing of the location when it is withheld)."""
    place: dict[str, Any] = {}
    if not result.location_withheld and (result.town or result.postcode_outward):
        # The outward code only (a search shows where, not the address): read the Patient
        # for the whole address.
        place["address"] = [
            {
                "use": "home",
                **({"city": result.town} if result.town else {}),
                **({"postalCode": result.postcode_outward} if result.postcode_outward else {}),
            }
        ]
    return Patient.model_validate(
        {
            **_identity(result.identifier),
            **_security(result.location_withheld),
            "name": [_name(result.given_names, result.family_name)],
            "gender": result.gender,
            "birthDate": result.date_of_birth.isoformat(),
            **place,
        }
    )


def patient_of_record(view: ChildRecordView) -> Patient:
    """The record view as a Patient: names, gender, birth date, the home address and the
    carers as contacts (each as far as the view shows them), the GP practice, and the local
    authority as the managing organisation."""
    names = [_name(view.given_names, view.family_name)] + [
        _name(other.given_names or "", other.family_name, use="old") for other in view.other_names
    ]
    contacts = [
        {
            "relationship": [
                {
                    "coding": [{"system": _RELATIONSHIP, "code": _ROLE_CODES[carer.relationship]}]
                    if carer.relationship in _ROLE_CODES
                    else [],
                    "text": carer.relationship.replace("_", " "),
                }
            ],
            "name": {"text": carer.name},
            **({"telecom": t} if (t := _telecom(carer.phone, carer.email)) else {}),
            **({"address": a[0]} if (a := _address(carer.address)) else {}),
        }
        for carer in view.carers
        # As PDS does for a restricted patient: no contacts at all, not even their names.
        if not view.location_withheld
    ]
    practice = view.gp_practice
    authority = view.local_authority
    return Patient.model_validate(
        {
            **_identity(view.identifier),
            **_security(view.location_withheld),
            "active": view.status == "active",
            "name": names,
            "gender": view.gender,
            "birthDate": view.date_of_birth.isoformat(),
            **({"address": a} if (a := _address(view.address)) else {}),
            **({"contact": contacts} if contacts else {}),
            **({"generalPractitioner": [{"display": practice.name}]} if practice else {}),
            **(
                {"managingOrganization": {"display": f"{authority.name} (local authority)"}}
                if authority
                else {}
            ),
        }
    )


def _participant(item: InvolvementView, position: int) -> tuple[dict[str, Any], list[Any]]:
    """One involvement as a participant; the service and the practitioner are contained
    resources, so that their phone and e-mail travel with the CareTeam."""
    organisation = {
        "resourceType": "Organization",
        "id": f"service-{position}",
        "name": item.service,
        **({"telecom": t} if (t := _telecom(item.phone, item.email)) else {}),
    }
    contained: list[Any] = [organisation]
    member = {"reference": f"#service-{position}", "display": item.service}
    if item.practitioner is not None:
        person = item.practitioner
        contained.append(
            {
                "resourceType": "Practitioner",
                "id": f"practitioner-{position}",
                "name": [{"text": person.name}],
                **({"telecom": t} if (t := _telecom(person.phone, person.email)) else {}),
            }
        )
        member = {"reference": f"#practitioner-{position}", "display": person.name}
    roles: list[dict[str, Any]] = [{"text": (item.kind or "service").replace("_", " ")}]
    if item.lead_professional:
        roles.append({"coding": [{"system": _ROLE, "code": "lead-professional"}]})
    if item.assessment_completed:
        roles.append({"coding": [{"system": _ROLE, "code": "assessment-completed"}]})
    period = {
        **({"start": item.start_date.isoformat()} if item.start_date else {}),
        **({"end": item.end_date.isoformat()} if item.end_date else {}),
    }
    participant = {
        "role": roles,
        "member": member,
        "onBehalfOf": {"reference": f"#service-{position}", "display": item.service},
        **({"period": period} if period else {}),
    }
    return participant, contained


def care_team_of_record(view: ChildRecordView) -> CareTeam:
    """The services working with the child (the involvements) as one CareTeam, the lead
    professional and completed assessments marked in each participant's roles."""
    participants: list[dict[str, Any]] = []
    contained: list[Any] = []
    for position, item in enumerate(view.involvements, start=1):
        participant, resources = _participant(item, position)
        participants.append(participant)
        contained += resources
    return CareTeam.model_validate(
        {
            "resourceType": "CareTeam",
            "id": f"{view.identifier}-services",
            "status": "active",
            "name": "Services working with the child",
            "subject": {"reference": f"Patient/{view.identifier}"},
            **({"contained": contained} if contained else {}),
            **({"participant": participants} if participants else {}),
        }
    )


def searchset(base: str, entries: Iterable[tuple[Patient | CareTeam, Mapping[str, Any]]]) -> Bundle:
    """A searchset Bundle of (resource, its `search` element) pairs."""
    listed = [
        {
            "fullUrl": f"{base}/{resource.get_resource_type()}/{resource.id}",
            "resource": resource,
            "search": dict(search),
        }
        for resource, search in entries
    ]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "timestamp": datetime.now(UTC).isoformat(),
            "total": len(listed),
            **({"entry": listed} if listed else {}),
        }
    )


def match_search(probability: float, grade: str) -> dict[str, Any]:
    """The `search` element of a $match entry: the score and IHE's match grade."""
    return {
        "mode": "match",
        "score": round(probability, 4),
        "extension": [{"url": _MATCH_GRADE, "valueCode": grade}],
    }


def outcome(
    status: int, message: str, *, spine_code: str | None = None, severity: str = "error"
) -> OperationOutcome:
    """An error (or PDS's TOO_MANY_MATCHES) as an OperationOutcome."""
    code = "multiple-matches" if spine_code == "TOO_MANY_MATCHES" else _ISSUE_CODES.get(status)
    details = (
        {"details": {"coding": [{"system": SPINE_ERRORS, "code": spine_code}]}}
        if spine_code
        else {}
    )
    return OperationOutcome.model_validate(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": severity,
                    "code": code or "exception",
                    "diagnostics": message,
                    **details,
                }
            ],
        }
    )


def capability_statement(base: str, version: str) -> CapabilityStatement:
    """What the facade serves: Patient search, read and $match, and CareTeam by patient."""
    patient_search = [
        ("family", "string", "The family name (with `_fuzzy-match`, spelt as heard)."),
        ("given", "string", "A given name."),
        ("birthdate", "date", "YYYY-MM-DD (or eqYYYY-MM-DD), or a year YYYY."),
        ("gender", "token", "male, female, other or unknown."),
        ("address-postalcode", "string", "A full postcode or its outward code."),
        ("identifier", "token", f"{CHILD_IDENTIFIER}|VALUE, or the value alone."),
        ("_fuzzy-match", "token", "true: nicknames, sound-alikes and typos too."),
        ("_max-results", "number", "1 to 50 (default 1, as PDS)."),
    ]
    return CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": datetime.now(UTC).date().isoformat(),
            "publisher": "ContactPoint",
            "kind": "instance",
            "software": {"name": "ContactPoint", "version": version},
            "implementation": {"description": "ContactPoint's FHIR facade", "url": base},
            "fhirVersion": "4.0.1",
            "format": [FHIR_JSON, "json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "description": "A session token or a CMS client's API key with "
                        "X-On-Behalf-Of, as for the rest of the API (Authorization: Bearer)."
                    },
                    "resource": [
                        {
                            "type": "Patient",
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "searchParam": [
                                {"name": name, "type": kind, "documentation": doc}
                                for name, kind, doc in patient_search
                            ],
                            "operation": [
                                {
                                    "name": "match",
                                    "definition": "http://hl7.org/fhir/OperationDefinition/"
                                    "Patient-match",
                                }
                            ],
                        },
                        {
                            "type": "CareTeam",
                            "interaction": [{"code": "search-type"}],
                            "searchParam": [
                                {
                                    "name": "patient",
                                    "type": "reference",
                                    "documentation": "The child's identifier (or "
                                    "Patient/IDENTIFIER): the services working with them.",
                                }
                            ],
                        },
                    ],
                }
            ],
        }
    )
