"""The FHIR R4 facade for case-management systems that speak FHIR: Patient search (PDS's
parameters), read and $match (IHE PDQm), the involvements as a CareTeam, and the
CapabilityStatement.

The same access layer, audit and shielding as the JSON API: a search is `run_search` and a read
is `view_child`, so what FHIR shows and audits cannot differ from what the API does. Errors are
OperationOutcomes (`searchapi.errors` answers any /fhir/ path so).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from db.errors import InvalidInput
from searchapi.deps import (
    AuditContextDep,
    EsDep,
    RankerDep,
    Searcher,
    SessionDep,
    SettingsDep,
    SignedIn,
    Viewer,
)
from searchapi.fhir.queries import match_query, patient_query, spelt_the_same
from searchapi.fhir.resources import (
    FHIR_JSON,
    as_json,
    capability_statement,
    care_team_of_record,
    match_search,
    outcome,
    patient_of_record,
    patient_of_result,
    searchset,
)
from searchapi.paths import IDENTIFIER_PATTERN, IdentifierPath
from searchapi.record_view import view_child
from searchapi.search import run_search
from searchapi.search_schemas import SearchResponse, SearchResult

router = APIRouter(prefix="/fhir", tags=["fhir"])

# IHE's match grades from the search's strength of match.
_GRADES: Final = {"strong": "certain", "possible": "probable", "weak": "possible"}
_TOO_MANY: Final = (
    "More children match than can be returned: add the date of birth, a postcode or a given "
    "name, or raise _max-results (at most 50)."
)


def _fhir(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, media_type=FHIR_JSON)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _answered(
    request: Request,
    answer: SearchResponse,
    search_of: Callable[[SearchResult], dict[str, Any]],
) -> JSONResponse:
    """A search's answer as a searchset (each entry's `search` from `search_of`), or PDS's
    TOO_MANY_MATCHES."""
    if answer.too_many_matches:
        return _fhir(as_json(outcome(200, _TOO_MANY, spine_code="TOO_MANY_MATCHES")))
    entries = [(patient_of_result(result), search_of(result)) for result in answer.results]
    return _fhir(as_json(searchset(_base(request), entries)))


@router.get("/metadata")
def metadata(request: Request, principal: SignedIn) -> JSONResponse:
    """The CapabilityStatement: what this facade serves."""
    version = request.app.version
    return _fhir(as_json(capability_statement(_base(request), version)))


@router.get("/Patient")
def search_patients(
    request: Request,
    principal: Searcher,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    context: AuditContextDep,
    ranker: RankerDep,
) -> JSONResponse:
    """PDS's patient search: exact by default, `_fuzzy-match=true` for nicknames, sound-alikes
    and typos; at most `_max-results` (1 by default) best first, each with its score; more
    children than that matching well is TOO_MANY_MATCHES, as PDS answers it."""
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    query = patient_query(params)

    def answered(results: list[SearchResult]) -> tuple[list[SearchResult], bool]:
        # Before the audit, so that it holds what is answered.
        if not query.fuzzy:
            results = [result for result in results if spelt_the_same(result, query.request)]
        return results, len(results) > query.max_results

    return _answered(
        request,
        run_search(
            session=session,
            es=es,
            alias=settings.index_alias,
            context=context,
            request=query.request,
            ranker=ranker,
            narrow=answered,
        ),
        lambda result: {"mode": "match", "score": round(result.probability, 4)},
    )


@router.post("/Patient/$match")
def match_patients(
    request: Request,
    principal: Searcher,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    context: AuditContextDep,
    ranker: RankerDep,
    body: dict[str, Any] = Body(media_type=FHIR_JSON),  # noqa: B008 - a JSON object
) -> JSONResponse:
    """IHE PDQm's $match: the Patient's demographics matched fuzzily, each answer graded
    certain (a strong match), probable (possible) or possible (weak)."""
    query = match_query(body)

    def answered(results: list[SearchResult]) -> tuple[list[SearchResult], bool]:
        if query.only_certain:
            results = [result for result in results if _GRADES[result.strength] == "certain"]
        return results[: query.count], False

    return _answered(
        request,
        run_search(
            session=session,
            es=es,
            alias=settings.index_alias,
            context=context,
            request=query.request,
            ranker=ranker,
            narrow=answered,
        ),
        lambda result: match_search(result.probability, _GRADES[result.strength]),
    )


@router.get("/Patient/{identifier}")
def read_patient(
    identifier: IdentifierPath,
    principal: Viewer,
    session: SessionDep,
    context: AuditContextDep,
) -> JSONResponse:
    """One child as a Patient, from the record view (audited, with what may not be seen
    withheld: a shielded child's address and carers' contacts are absent, marked restricted)."""
    view = view_child(session=session, context=context, identifier=identifier)
    return _fhir(as_json(patient_of_record(view)))


@router.get("/CareTeam")
def care_team(
    request: Request,
    principal: Viewer,
    session: SessionDep,
    context: AuditContextDep,
    patient: str,
) -> JSONResponse:
    """The services working with a child (`patient=IDENTIFIER` or `Patient/IDENTIFIER`) as
    one CareTeam, from the record view (audited, sensitive services as the view shows them)."""
    identifier = patient.removeprefix("Patient/")
    if not re.fullmatch(IDENTIFIER_PATTERN, identifier):
        raise InvalidInput(
            "patient is the child's identifier, or Patient/IDENTIFIER.", field="patient"
        )
    view = view_child(session=session, context=context, identifier=identifier)
    team = care_team_of_record(view)
    return _fhir(as_json(searchset(_base(request), [(team, {"mode": "match"})])))
