"""A search: the principal's filter, one Elasticsearch query, results and the audit row."""

from __future__ import annotations

import logging
from typing import Any, Final

from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, Outcome, raise_kept, record_audit
from mappings import fields as f
from searchapi.access import ChildAccess, child_access
from searchapi.query_builder import (
    Criteria,
    build_query,
    fuzzy_source_fields,
    matched_kinds,
    max_score,
)
from searchapi.search_schemas import SearchRequest, SearchResponse, SearchResult

log = logging.getLogger(__name__)

# A child "matches well" when it reaches this share of the best score the criteria allow: e.g.
# both names and the date of birth exact, or exact names and a birth year.
WELL_MATCHED: Final = 0.8
_SOURCE: Final = [f.IDENTIFIER, f.SHIELDED, f.LOCAL_AUTHORITY_CODE, f"{f.DISPLAY}.*"]
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


def _result(
    hit: dict[str, Any], criteria: Criteria, access: ChildAccess, best: float
) -> SearchResult:
    source = hit["_source"]
    display = source[f.DISPLAY]
    visible = access.may_see_location(
        shielded=bool(source[f.SHIELDED]),
        authority=source.get(f.LOCAL_AUTHORITY_CODE),
        identifier=source[f.IDENTIFIER],
    )
    matched = matched_kinds(criteria, list(hit.get("matched_queries", [])), source)
    if "given_name" in matched:
        matched["given_name"] = _label(
            matched["given_name"], criteria.given_name, display[f.DISPLAY_GIVEN_NAMES]
        )
    if "family_name" in matched:
        matched["family_name"] = _label(
            matched["family_name"], criteria.family_name, display[f.DISPLAY_FAMILY_NAME]
        )
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
            "score": round(min(1.0, float(hit["_score"]) / best), 4),
            "matched": matched,
        }
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


def search_body(criteria: Criteria, access: ChildAccess, *, limit: int) -> dict[str, Any]:
    """The one Elasticsearch request of a search (also used by the benchmark)."""
    query = build_query(
        criteria, access_filter=access.search_filter(uses_location=criteria.uses_location)
    )
    # One more than the limit: if that one still matches well, there are too many.
    # The fuzzy terms' fields are read only to say how a hit matched, never shown.
    source = _SOURCE + fuzzy_source_fields(criteria)
    return {"query": query, "size": limit + 1, "source": source, "track_total_hits": False}


def run_search(
    *,
    session: Session,
    es: Elasticsearch,
    alias: str,
    context: AuditContext,
    request: SearchRequest,
) -> SearchResponse:
    """Search, audit (in the request's transaction, before answering) and answer."""
    criteria = request.criteria()
    principal = context.actor
    access = child_access(principal, named_children=principal.named_children)
    try:
        response = es.search(index=alias, **search_body(criteria, access, limit=request.limit))
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
    hits = response["hits"]["hits"]
    best = max_score(criteria)
    too_many = (
        len(hits) > request.limit and float(hits[request.limit]["_score"]) / best >= WELL_MATCHED
    )
    shown = (
        [] if too_many else [_result(hit, criteria, access, best) for hit in hits[: request.limit]]
    )
    authorities = {
        hit["_source"].get(f.LOCAL_AUTHORITY_CODE) for hit in hits[: request.limit] if not too_many
    }
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.SEARCH,
        authorities=sorted(code for code in authorities if code),
        details={
            "criteria": request.model_dump(mode="json", exclude_none=True),
            # Matches found (one more than the limit when too many), not only those shown.
            "result_count": len(hits) if too_many else len(shown),
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
