"""FHIR's questions as ContactPoint's search: the Patient search parameters (with PDS's
`_fuzzy-match` and `_max-results`) and the $match operation's Parameters.

Both become the API's `SearchRequest`, so the minimum criteria, the shielding filter inside the
Elasticsearch query, the ranking and the audit are the API's own. A parameter this facade does
not support is refused by name rather than ignored: a search that silently dropped a criterion
would answer another question than the one asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from pydantic import ValidationError

from db.errors import InvalidInput
from searchapi.fhir.resources import CHILD_IDENTIFIER
from searchapi.search_schemas import MAX_LIMIT, SearchRequest, SearchResult

SEARCH_PARAMETERS: Final = frozenset(
    {
        "family",
        "given",
        "birthdate",
        "gender",
        "address-postalcode",
        "identifier",
        "_fuzzy-match",
        "_max-results",
    }
)
# PDS answers one patient unless asked for more.
DEFAULT_MAX_RESULTS: Final = 1
_BIRTHDATE: Final = re.compile(r"(?:eq)?(\d{4})(?:-(\d{2})-(\d{2}))?")
# What a non-fuzzy search accepts as the same value: spelt the same (case and accents aside).
_EXACT: Final = {
    "given_name": {"exact", "folded"},
    "family_name": {"exact", "folded"},
    "date_of_birth": {"exact", "year_only"},
    "postcode": {"exact", "outward"},
}


@dataclass(frozen=True, slots=True)
class PatientQuery:
    """A FHIR search as the API's request, with how many to answer and how strictly."""

    request: SearchRequest
    max_results: int
    fuzzy: bool


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise InvalidInput(f"Give {name} once.", field=name)
    return values[0] if values else None


def _flag(value: str | None, name: str) -> bool:
    if value is None:
        return False
    if value not in ("true", "false"):
        raise InvalidInput(f"{name} is true or false.", field=name)
    return value == "true"


def _max_results(value: str | None) -> int:
    if value is None:
        return DEFAULT_MAX_RESULTS
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidInput(
            f"_max-results is a whole number from 1 to {MAX_LIMIT}.", field="_max-results"
        )
    return int(value)


def _birth(value: str | None) -> dict[str, Any]:
    if value is None:
        return {}
    found = _BIRTHDATE.fullmatch(value)
    if found is None:
        raise InvalidInput(
            "birthdate is YYYY-MM-DD (or eqYYYY-MM-DD), or a year YYYY; ranges are not supported.",
            field="birthdate",
        )
    year, month, day = found.groups()
    if month is None:
        return {"birth_year": int(year)}
    try:
        return {"date_of_birth": date(int(year), int(month), int(day))}
    except ValueError:
        raise InvalidInput("birthdate is not a date.", field="birthdate") from None


def _identifier(value: str | None) -> str | None:
    if value is None:
        return None
    system, bar, code = value.rpartition("|")
    if bar and system != CHILD_IDENTIFIER:
        raise InvalidInput(
            f"identifier's system is {CHILD_IDENTIFIER} (or give the value alone).",
            field="identifier",
        )
    return code


def _request(fields: dict[str, Any], limit: int) -> SearchRequest:
    try:
        return SearchRequest.model_validate({**fields, "limit": limit})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error.get("loc") else None
        raise InvalidInput(f"{name or 'A parameter'}: {error['msg']}", field=name) from None


def patient_query(params: Mapping[str, Sequence[str]]) -> PatientQuery:
    """`GET /fhir/Patient`'s parameters as a search; an unknown or repeated one is refused."""
    unknown = sorted(set(params) - SEARCH_PARAMETERS)
    if unknown:
        raise InvalidInput(
            f"Unsupported search parameter: {', '.join(unknown)}. Supported: "
            f"{', '.join(sorted(SEARCH_PARAMETERS))}.",
            field=unknown[0],
        )
    fuzzy = _flag(_one(params, "_fuzzy-match"), "_fuzzy-match")
    max_results = _max_results(_one(params, "_max-results"))
    fields = {
        "family_name": _one(params, "family"),
        "given_name": _one(params, "given"),
        "gender": _one(params, "gender"),
        "postcode": _one(params, "address-postalcode"),
        "identifier": _identifier(_one(params, "identifier")),
        **_birth(_one(params, "birthdate")),
    }
    # A strict search ranks widely and keeps the exact; a fuzzy one asks only for the answer.
    limit = max_results if fuzzy else MAX_LIMIT
    return PatientQuery(_request(fields, limit), max_results, fuzzy)


def spelt_the_same(result: SearchResult, request: SearchRequest) -> bool:
    """Whether every criterion given matched as given (case and accents aside), as PDS's
    non-fuzzy search requires."""
    asked = {
        "given_name": request.given_name,
        "family_name": request.family_name,
        "date_of_birth": request.date_of_birth or request.birth_year,
        "postcode": request.postcode,
    }
    if request.gender is not None and result.gender != request.gender:
        return False
    return all(
        result.matched.get(name) in _EXACT[name]
        for name, value in asked.items()
        if value is not None
    )


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """A $match as the API's request, with how many to answer and whether only certain."""

    request: SearchRequest
    count: int
    only_certain: bool


def _parameter(parameters: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    found = [p for p in parameters if isinstance(p, Mapping) and p.get("name") == name]
    if len(found) > 1:
        raise InvalidInput(f"Give the {name} parameter once.", field=name)
    return found[0] if found else None


def _patient_fields(patient: Mapping[str, Any]) -> dict[str, Any]:
    """The searchable parts of the Patient to match (its first name, home address, ours)."""
    names = patient.get("name") or [{}]
    first = names[0] if isinstance(names[0], Mapping) else {}
    given = first.get("given") or []
    addresses = patient.get("address") or [{}]
    address = addresses[0] if isinstance(addresses[0], Mapping) else {}
    ours = [
        i.get("value")
        for i in patient.get("identifier") or []
        if isinstance(i, Mapping) and i.get("system") == CHILD_IDENTIFIER
    ]
    return {
        "family_name": first.get("family"),
        "given_name": " ".join(given) if isinstance(given, list) and given else None,
        "gender": patient.get("gender"),
        "postcode": address.get("postalCode"),
        "identifier": ours[0] if ours else None,
        **_birth(patient.get("birthDate")),
    }


def match_query(body: Any) -> MatchQuery:
    """`POST /fhir/Patient/$match`'s Parameters (a `resource` Patient, `onlyCertainMatches`,
    `count`) as a search."""
    from fhir.resources.R4B.patient import Patient

    if not isinstance(body, Mapping) or body.get("resourceType") != "Parameters":
        raise InvalidInput("Send a Parameters resource.", field="resourceType")
    parameters = body.get("parameter")
    if not isinstance(parameters, list):
        raise InvalidInput("Parameters needs its parameter list.", field="parameter")
    resource = _parameter(parameters, "resource")
    patient = resource.get("resource") if resource else None
    if not isinstance(patient, Mapping) or patient.get("resourceType") != "Patient":
        raise InvalidInput("The resource parameter is the Patient to match.", field="resource")
    try:
        Patient.model_validate(patient)
    except (ValidationError, ValueError) as exc:
        raise InvalidInput(
            f"The Patient is not valid FHIR: {str(exc).splitlines()[0]}", field="resource"
        ) from None
    certain = _parameter(parameters, "onlyCertainMatches")
    only_certain = bool(certain and certain.get("valueBoolean") is True)
    counted = _parameter(parameters, "count")
    count = counted.get("valueInteger") if counted else 10
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_LIMIT:
        raise InvalidInput(f"count is a whole number from 1 to {MAX_LIMIT}.", field="count")
    return MatchQuery(_request(_patient_fields(patient), count), count, only_certain)
