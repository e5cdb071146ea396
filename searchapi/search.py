"""A search: the principal's filter, retrieval by Elasticsearch, ranking by the match model,
results and the audit row.

Elasticsearch retrieves up to `CANDIDATES` children with a broad query (at least two of the
given criteria, or the required ones, must match in some way); `matching.score` then ranks
them by their Fellegi-Sunter match weight and each gets the probability that it is the child
sought (`matching.competing_probabilities`). A shielded child whose location the searcher may
not see is ranked without its postcode and town, so that its place in the list cannot say
where it lives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, Outcome, raise_kept, record_audit
from db.ranker import Ranker
from mappings import fields as f
from mappings.query_builder import (
    Criteria,
    build_query,
    fuzzy_source_fields,
    matched_kinds,
)
from matching import (
    DOCUMENT_FIELDS,
    MatchRecord,
    Scored,
    competing_probabilities,
    prepare_once,
    prepared_from_documents,
    score,
)
from searchapi.access import ChildAccess, child_access
from searchapi.search_schemas import FieldMatch, SearchRequest, SearchResponse, SearchResult

log = logging.getLogger(__name__)

# How many children Elasticsearch retrieves for the model to rank: enough that the child
# sought is almost always among them. On FEBRL 1-3 among 200,000 distractors
# (benchmarks/linkage.py), Elasticsearch's first 25 held the child for 0.993 of the queries,
# its first 50 for 0.995, its first 100 as often as its first 200 (0.996); every candidate
# more costs its share of the fetch, the parsing and the scoring, at every search.
CANDIDATES: Final = 100
# Too many match when the children beyond the limit together hold at least this probability of
# being the child sought: the list shown would too likely leave the child out (more than one
# time in five). "Smith" and a year of birth gives hundreds of equal candidates, almost all of
# the belief beyond any list; full names with a date one digit off give the child most of it,
# and a few namesakes born that year a little each.
TOO_MANY_BEYOND: Final = 0.2
# A result is a strong match from this probability, a possible one from the next.
STRONG: Final = 0.9
POSSIBLE: Final = 0.5
# An identifier that agrees settles who the child is, whatever else differs.
_IDENTIFIER_WEIGHT: Final = 60.0
_SOURCE: Final = sorted(
    {f.IDENTIFIER, f.SHIELDED, f.LOCAL_AUTHORITY_CODE, f"{f.DISPLAY}.*", *DOCUMENT_FIELDS}
)
# What to suggest adding when too many match, in the order a searcher is likely to know it.
_REFINEMENTS: Final = (
    ("given_name", "given_name"),
    ("date_of_birth", "date_of_birth (the full date)"),
    ("postcode", "postcode"),
    ("gender", "gender"),
    ("address", "address"),
)


def _label(kind: str, typed: str | None, stored: str) -> str:
    # An exact match of the folded keys is "exact" only when the spelling was exactly the same.
    if kind == "exact" and typed is not None and typed.strip().casefold() != stored.casefold():
        return "folded"
    return kind


def _strength(probability: float) -> str:
    if probability >= STRONG:
        return "strong"
    return "possible" if probability >= POSSIBLE else "weak"


def _result(
    hit: dict[str, Any],
    criteria: Criteria,
    visible: bool,
    ranked: Scored,
    probability: float,
) -> SearchResult:
    source = hit["_source"]
    display = source[f.DISPLAY]
    matched = matched_kinds(criteria, list(hit.get("matched_queries", [])), source)
    if "given_name" in matched:
        matched["given_name"] = _label(
            matched["given_name"], criteria.given_name, display[f.DISPLAY_GIVEN_NAMES]
        )
    if "family_name" in matched:
        matched["family_name"] = _label(
            matched["family_name"], criteria.family_name, display[f.DISPLAY_FAMILY_NAME]
        )
    comparisons = {
        field.comparison: FieldMatch(level=field.level, weight=round(field.weight, 2))
        for field in ranked.fields
        if field.level is not None
    }
    return SearchResult.model_validate(
        {
            "identifier": source[f.IDENTIFIER],
            "given_names": display[f.DISPLAY_GIVEN_NAMES],
            "family_name": display[f.DISPLAY_FAMILY_NAME],
            "gender": display[f.DISPLAY_GENDER],
            "date_of_birth": display[f.DISPLAY_DATE_OF_BIRTH],
            "local_authority": display.get(f.DISPLAY_LOCAL_AUTHORITY_NAME),
            "town": display.get(f.DISPLAY_TOWN) if visible else None,
            "postcode_outward": display.get(f.DISPLAY_POSTCODE_OUTWARD) if visible else None,
            "location_withheld": not visible,
            "shielded": bool(source.get(f.SHIELDED)),
            "probability": round(probability, 4),
            "strength": _strength(probability),
            "match_weight": round(ranked.match_weight, 2),
            "matched": matched,
            "comparisons": comparisons,
        }
    )


def _query_record(criteria: Criteria) -> MatchRecord:
    return MatchRecord(
        given_names=criteria.given_name,
        family_name=criteria.family_name,
        date_of_birth=criteria.date_of_birth,
        birth_year=criteria.birth_year,
        postcode=criteria.postcode,
        gender=criteria.gender,
        identifier=criteria.identifier,
    )


@dataclass(frozen=True)
class Ranked:
    """The retrieved hits, best first, each with its score and probability."""

    hits: list[dict[str, Any]]
    visible: list[bool]
    scored: list[Scored]
    probabilities: list[float]


def rank(
    hits: list[dict[str, Any]], criteria: Criteria, access: ChildAccess, ranker: Ranker
) -> Ranked:
    """Rank Elasticsearch's hits with the match model (ties keep Elasticsearch's order)."""
    model = ranker.model
    visible = [
        access.may_see_location(
            shielded=bool(hit["_source"][f.SHIELDED]),
            authority=hit["_source"].get(f.LOCAL_AUTHORITY_CODE),
            identifier=hit["_source"][f.IDENTIFIER],
        )
        for hit in hits
    ]
    candidates = prepared_from_documents([hit["_source"] for hit in hits], visible)
    scored = score(prepare_once(_query_record(criteria)), candidates, model)
    if criteria.identifier:
        wanted = criteria.identifier.replace(" ", "")
        scored = sorted(
            (
                s._replace(match_weight=s.match_weight + _IDENTIFIER_WEIGHT)
                if hits[s.position]["_source"][f.IDENTIFIER] == wanted
                else s
                for s in scored
            ),
            key=lambda s: -s.match_weight,
        )
    probabilities = competing_probabilities(scored, model)
    return Ranked(
        hits=[hits[s.position] for s in scored],
        visible=[visible[s.position] for s in scored],
        scored=scored,
        probabilities=probabilities,
    )


def _refinement(request: SearchRequest) -> str:
    given = request.model_dump(exclude_none=True)
    missing = [label for name, label in _REFINEMENTS if name not in given]
    add = ", ".join(missing) if missing else "the identifier"
    return (
        f"More than {request.limit} children match these criteria well; none are shown. "
        f"Add {add} to narrow the search."
    )


def _failure(exc: Exception) -> str:
    if isinstance(exc, es_exceptions.ApiError):
        return f"search failed: Elasticsearch answered {exc.meta.status}"
    return f"search unavailable: {type(exc).__name__}"


def search_body(
    criteria: Criteria, access: ChildAccess, *, limit: int = CANDIDATES
) -> dict[str, Any]:
    """The one Elasticsearch request of a search, retrieving `limit` candidates in
    Elasticsearch's own order (the ranking before the match model; used by the benchmarks)."""
    query = build_query(
        criteria, access_filter=access.search_filter(uses_location=criteria.uses_location)
    )
    # The fuzzy terms' fields are read only to say how a hit matched; the matching fields only
    # to rank (a withheld location is left out of the ranking): neither is ever shown.
    source = sorted({*_SOURCE, *fuzzy_source_fields(criteria)})
    return {"query": query, "size": limit, "source": source, "track_total_hits": False}


# Some of the results, and whether there are too many to answer.
Narrowing = Callable[[list[SearchResult]], tuple[list[SearchResult], bool]]


def run_search(
    *,
    session: Session,
    es: Elasticsearch,
    alias: str,
    context: AuditContext,
    request: SearchRequest,
    ranker: Ranker,
    narrow: Narrowing | None = None,
) -> SearchResponse:
    """Search, audit (in the request's transaction, before answering) and answer.

    `narrow` keeps some of the results (and may say there are too many), before the audit, so
    that the audit holds what is answered: the FHIR facade's exact search narrows so.
    """
    criteria = request.criteria()
    principal = context.actor
    access = child_access(principal, named_children=principal.named_children)
    try:
        response = es.search(index=alias, **search_body(criteria, access))
    except (es_exceptions.TransportError, es_exceptions.ApiError) as exc:
        # Asked but nothing shown: audited as a failure, the row kept through the error.
        record_audit(
            session=session,
            context=context,
            event=AuditEventType.SEARCH,
            outcome=Outcome.FAILURE,
            details={
                "criteria": request.model_dump(mode="json", exclude_none=True),
                "result_count": 0,
                "identifiers_shown": [],
                "error": _failure(exc),
            },
        )
        raise_kept(session=session, error=exc)
    ranked = rank(response["hits"]["hits"], criteria, access, ranker)
    limit = request.limit
    too_many = sum(ranked.probabilities[limit:]) >= TOO_MANY_BEYOND
    shown = (
        []
        if too_many
        else [
            _result(hit, criteria, seen, scored, probability)
            for hit, seen, scored, probability in zip(
                ranked.hits[:limit],
                ranked.visible[:limit],
                ranked.scored[:limit],
                ranked.probabilities[:limit],
                strict=True,
            )
        ]
    )
    if narrow is not None and not too_many:
        shown, too_many = narrow(shown)
        shown = [] if too_many else shown
    kept = {result.identifier for result in shown}
    authorities = {
        hit["_source"].get(f.LOCAL_AUTHORITY_CODE)
        for hit in ranked.hits[:limit]
        if hit["_source"].get(f.IDENTIFIER) in kept
    }
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.SEARCH,
        authorities=sorted(code for code in authorities if code),
        details={
            "criteria": request.model_dump(mode="json", exclude_none=True),
            # Children retrieved when too many (none shown), else those shown.
            "result_count": len(ranked.hits) if too_many else len(shown),
            "identifiers_shown": [result.identifier for result in shown],
            "too_many_matches": too_many,
        },
    )
    return SearchResponse(
        results=shown,
        too_many_matches=too_many,
        message=_refinement(request) if too_many else None,
        request_id=context.request_id or "",
    )
