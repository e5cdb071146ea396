"""The Elasticsearch query of a search, built with the same normalisation as the documents.

Every criterion becomes one `dis_max` of `constant_score` clauses, one per way of matching
(exact, nickname, phonetic, typo, ...), with boosts from one table: the best way that matches
counts, and an exact match always outranks a fuzzy one of the same field. Each clause but the
fuzzy ones is named (`field:kind:index`) so the hits say how they matched; whether a hit matched
a fuzzy clause is tested on its tokens (`matched_kinds`). Elasticsearch's scores only choose
the candidates (and break ties): the match engine ranks them (`searchapi.search` for a search,
`feeds.linking` for a feed's record). Here, beside the documents it queries, so that both use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Final

from rapidfuzz.distance import OSA

from mappings import fields as f
from mappings.dates import one_digit_variants
from mappings.normalise import (
    address_text,
    exchanged_variants,
    family_name_keys,
    fold,
    given_name_keys,
    normalise_outward_code,
    normalise_postcode,
    outward_code,
    postcode_sector,
    swapped_day_month,
)

# How much each criterion counts when it matches at its best.
FIELD_WEIGHTS: Final[dict[str, float]] = {
    "identifier": 10.0,
    "family_name": 3.0,
    "given_name": 2.0,
    "date_of_birth": 3.0,
    "postcode": 2.0,
    "address": 1.5,
    "gender": 0.5,
}
# The share of a criterion's weight that each way of matching earns (best first).
KIND_FACTORS: Final[dict[str, float]] = {
    "exact": 1.0,
    "any_order": 0.95,
    "partial": 0.8,
    "typo": 0.75,  # postcode one character wrong, address words misspelt
    "exchanged": 0.75,  # postcode with two characters exchanged
    "swapped": 0.75,  # date of birth with day and month exchanged
    "nickname": 0.7,
    "phonetic": 0.65,
    "typo1": 0.55,
    "typo2": 0.45,
    "digit": 0.6,  # date of birth with one digit wrong
    "sector": 0.6,
    "names_swapped": 0.5,
    "outward": 0.4,
    "year_only": 0.25,
    # A former family name or a previous postcode: lower than the current one's same kind,
    # since a child is looked for first as they are now.
    "former_exact": 0.7,
    "former_phonetic": 0.45,
    "previous_exact": 0.7,
    "previous_sector": 0.45,
}
# The ways of matching that count as close for an anchor: the same place, give or take a key.
_CLOSE_FACTORS: Final = frozenset({"exact", "typo", "exchanged", "previous_exact"})
# Ways of matching that only add to the score when any two criteria will do (`build_query`).
_SCORE_ONLY: Final = frozenset({"year_only"})
# A fuzzy term may expand to many index terms; enough that the right one is never cut off.
_MAX_EXPANSIONS: Final = 200
# Two edits are looked for only after the first letters, which are the ones most often heard
# and typed right: that keeps the two-edit automaton small (the costliest part of a search)
# while one edit, anywhere in the name, is still found.
_TWO_EDIT_PREFIX: Final = 2
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Criteria:
    """What the searcher typed, as given (validated by the request model)."""

    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    birth_year: int | None = None
    gender: str | None = None
    postcode: str | None = None
    address: str | None = None
    identifier: str | None = None
    # Fields a candidate must match (what made the search specific enough); none: any two.
    required: tuple[str, ...] = ()
    # A required field that, matched closely, stands in for one of the other required ones
    # (`searchapi.minimum_criteria.Basis.anchor`); the anchor itself must still match.
    anchor: str | None = None

    @property
    def uses_location(self) -> bool:
        """Whether any criterion locates a child (then shielded children are filtered out)."""
        return bool(self.postcode or self.address)


@dataclass(frozen=True)
class _FuzzyTerm:
    """A term within a few edits (transpositions count as one) of `value`, after a prefix."""

    field: str
    value: str
    edits: int
    prefix: int = 0

    def query(self) -> dict[str, Any]:
        spec = {
            "value": self.value,
            "fuzziness": self.edits,
            "prefix_length": self.prefix,
            "transpositions": True,
            "max_expansions": _MAX_EXPANSIONS,
        }
        return {"fuzzy": {self.field: spec}}

    def matches(self, source: Mapping[str, Any]) -> bool:
        """The same test in Python, on a hit's stored value(s) of the field."""
        stored = source.get(self.field)
        values = [stored] if isinstance(stored, str) else list(stored or [])
        return any(
            value[: self.prefix] == self.value[: self.prefix]
            and OSA.distance(value, self.value, score_cutoff=self.edits) <= self.edits
            for value in values
        )


@dataclass(frozen=True)
class _Clause:
    kind: str
    factor_key: str
    query: dict[str, Any]
    # A fuzzy clause is not named: naming makes Elasticsearch run it again on every hit, which
    # cost a quarter of a search. Whether it matched a hit is told by `_FuzzyTerm.matches`.
    fuzzy: tuple[_FuzzyTerm, ...] = ()


def _term(field: str, value: object) -> dict[str, Any]:
    return {"term": {field: value}}


def _terms(field: str, values: list[str]) -> dict[str, Any]:
    return {"terms": {field: values}}


def _fuzzy_clause(kind: str, factor_key: str, terms: list[_FuzzyTerm]) -> _Clause:
    queries = [term.query() for term in terms]
    query = queries[0] if len(queries) == 1 else {"bool": {"should": queries}}
    return _Clause(kind, factor_key, query, fuzzy=tuple(terms))


def _typo_clauses(field: str, parts: list[str]) -> list[_Clause]:
    # One edit from three letters, two from five, transpositions as one.
    one = [_FuzzyTerm(field, part, 1) for part in parts if len(part) >= 3]
    two = [_FuzzyTerm(field, part, 2, _TWO_EDIT_PREFIX) for part in parts if len(part) >= 5]
    clauses = []
    if one:
        clauses.append(_fuzzy_clause("typo", "typo1", one))
    if two:
        clauses.append(_fuzzy_clause("typo", "typo2", two))
    return clauses


def _given_name_clauses(text: str) -> list[_Clause]:
    keys = given_name_keys(text)
    parts = keys.folded.split()
    clauses = [_Clause("exact", "exact", _term(f.GIVEN_NAMES_FOLDED, keys.folded))]
    if len(parts) > 1:
        every = [_term(f.GIVEN_NAME_TOKENS, part) for part in parts]
        clauses.append(_Clause("any_order", "any_order", {"bool": {"filter": every}}))
    clauses.append(_Clause("partial", "partial", _terms(f.GIVEN_NAME_TOKENS, list(keys.tokens))))
    if keys.nicknames:
        clauses.append(
            _Clause("nickname", "nickname", _terms(f.GIVEN_NAME_NICKNAMES, list(keys.nicknames)))
        )
    if keys.phonetic:
        clauses.append(
            _Clause("phonetic", "phonetic", _terms(f.GIVEN_NAME_PHONETIC, list(keys.phonetic)))
        )
    clauses += _typo_clauses(f.GIVEN_NAME_TOKENS, parts)
    clauses.append(
        _Clause("swapped", "names_swapped", _terms(f.FAMILY_NAME_TOKENS, list(keys.tokens)))
    )
    return clauses


def _family_name_clauses(text: str) -> list[_Clause]:
    keys = family_name_keys(text)
    parts = keys.folded.split()
    clauses = [
        _Clause("exact", "exact", _term(f.FAMILY_NAME_FOLDED, keys.folded)),
        _Clause("partial", "partial", _terms(f.FAMILY_NAME_TOKENS, list(keys.tokens))),
    ]
    if keys.phonetic:
        clauses.append(
            _Clause("phonetic", "phonetic", _terms(f.FAMILY_NAME_PHONETIC, list(keys.phonetic)))
        )
    clauses += _typo_clauses(f.FAMILY_NAME_TOKENS, parts)
    clauses.append(
        _Clause("swapped", "names_swapped", _terms(f.GIVEN_NAME_TOKENS, list(keys.tokens)))
    )
    # A child who changed name (adoption, a new family) is still found by the one they had.
    clauses.append(
        _Clause("former", "former_exact", _term(f.OTHER_FAMILY_NAMES_FOLDED, keys.folded))
    )
    if keys.phonetic:
        phonetic = _terms(f.OTHER_FAMILY_NAME_PHONETIC, list(keys.phonetic))
        clauses.append(_Clause("former", "former_phonetic", phonetic))
    return clauses


def _date_clauses(value: date) -> list[_Clause]:
    iso = value.isoformat()
    clauses = [_Clause("exact", "exact", _term(f.DATE_OF_BIRTH, iso))]
    swapped = swapped_day_month(value)
    if swapped is not None and swapped != value:
        clauses.append(_Clause("swapped", "swapped", _term(f.DATE_OF_BIRTH, swapped.isoformat())))
    variants = [day.isoformat() for day in one_digit_variants(value)]
    clauses.append(_Clause("typo", "digit", _terms(f.DATE_OF_BIRTH, variants)))
    clauses.append(_Clause("year_only", "year_only", _term(f.DOB_YEAR, value.year)))
    return clauses


def _postcode_clauses(text: str) -> list[_Clause]:
    full = normalise_postcode(text)
    if full is not None:
        sector = postcode_sector(full)
        return [
            _Clause("exact", "exact", _term(f.POSTCODE, full)),
            _fuzzy_clause("typo", "typo", [_FuzzyTerm(f.POSTCODE, full, 1)]),
            # Two characters exchanged ("EB5 3AB" for "EB3 5AB"): two edits, never one.
            *(
                [_Clause("typo", "exchanged", _terms(f.POSTCODE, exchanged))]
                if (exchanged := exchanged_variants(full))
                else []
            ),
            _Clause("partial", "sector", _term(f.POSTCODE_SECTOR, sector)),
            _Clause("outward", "outward", _term(f.POSTCODE_OUTWARD, outward_code(full))),
            # A child who moved is still found where they lived (location: filtered alike).
            _Clause("previous", "previous_exact", _term(f.PREVIOUS_POSTCODES, full)),
            _Clause("previous", "previous_sector", _term(f.PREVIOUS_POSTCODE_SECTORS, sector)),
        ]
    district = normalise_outward_code(text)
    if district is not None:
        # All the searcher knows is the district, so a district match is the best there is.
        return [_Clause("outward", "exact", _term(f.POSTCODE_OUTWARD, district))]
    # Not a valid postcode: a wrong character can make it invalid, so look for its neighbours.
    compact = _WHITESPACE.sub("", text).upper()
    candidate = f"{compact[:-3]} {compact[-3:]}"
    clauses = [_fuzzy_clause("typo", "typo", [_FuzzyTerm(f.POSTCODE, candidate, 1)])]
    district = normalise_outward_code(compact[:-3])
    if district is not None:
        clauses.append(_Clause("outward", "outward", _term(f.POSTCODE_OUTWARD, district)))
    return clauses


def _address_clauses(text: str) -> list[_Clause]:
    wanted = address_text([text], "")
    exact = {"match": {f.ADDRESS: {"query": wanted, "operator": "and"}}}
    fuzzy = {
        "match": {f.ADDRESS: {"query": wanted, "fuzziness": "AUTO", "minimum_should_match": "60%"}}
    }
    return [_Clause("exact", "exact", exact), _Clause("partial", "typo", fuzzy)]


@lru_cache(maxsize=1024)
def _clauses_by_field(criteria: Criteria) -> dict[str, list[_Clause]]:
    # Cached: a search asks twice (the query and its best score); callers never mutate it.
    by_field: dict[str, list[_Clause]] = {}
    if criteria.identifier:
        compact = _WHITESPACE.sub("", criteria.identifier)
        by_field["identifier"] = [_Clause("exact", "exact", _term(f.IDENTIFIER, compact))]
    if criteria.family_name and fold(criteria.family_name):
        by_field["family_name"] = _family_name_clauses(criteria.family_name)
    if criteria.given_name and fold(criteria.given_name):
        by_field["given_name"] = _given_name_clauses(criteria.given_name)
    if criteria.date_of_birth is not None:
        by_field["date_of_birth"] = _date_clauses(criteria.date_of_birth)
    elif criteria.birth_year is not None:
        year = _term(f.DOB_YEAR, criteria.birth_year)
        by_field["date_of_birth"] = [_Clause("year_only", "exact", year)]
    if criteria.postcode:
        by_field["postcode"] = _postcode_clauses(criteria.postcode)
    if criteria.address and fold(criteria.address):
        by_field["address"] = _address_clauses(criteria.address)
    # Best first: `matched_kinds` relies on it.
    return {
        field: sorted(clauses, key=lambda clause: -KIND_FACTORS[clause.factor_key])
        for field, clauses in by_field.items()
    }


def _scored(field: str, index: int, clause: _Clause) -> dict[str, Any]:
    return {
        "constant_score": {
            "filter": clause.query,
            "boost": FIELD_WEIGHTS[field] * KIND_FACTORS[clause.factor_key],
        }
        | ({} if clause.fuzzy else {"_name": f"{field}:{clause.kind}:{index}"})
    }


def _per_field(
    clauses_by_field: Mapping[str, list[_Clause]], *, leave_out: frozenset[str] = frozenset()
) -> dict[str, dict[str, Any]]:
    # One dis_max a field, of its clauses but those whose factor key is in `leave_out`.
    return {
        field: {
            "dis_max": {
                "queries": [
                    _scored(field, index, clause)
                    for index, clause in enumerate(clauses)
                    if clause.factor_key not in leave_out
                ]
            }
        }
        for field, clauses in clauses_by_field.items()
        if any(clause.factor_key not in leave_out for clause in clauses)
    }


def build_query(
    criteria: Criteria, *, access_filter: list[dict[str, Any]], year_alone_counts: bool = False
) -> dict[str, Any]:
    """The bool query: the required criteria, or else at least two (or the only one), must
    match, each at its best; the others add to the score.

    When any two criteria will do, a full date of birth that agrees only in its year does not
    count as one of the two (unless `year_alone_counts`): it adds to the score of a child found
    by two others. A year matches one child in eighteen, so "the given name and the year" would
    make candidates of every child of that name born that year, and a search's cost grow with
    the population. A feed's last pass counts it (`feeds.linking.retrieval_body`): there a
    child missed is a duplicate made, maybe of a shielded child.
    """
    clauses_by_field = _clauses_by_field(criteria)
    per_field = _per_field(clauses_by_field)
    scoring: list[dict[str, Any]] = []
    if criteria.gender:
        gender = _term(f.GENDER, criteria.gender)
        boost = FIELD_WEIGHTS["gender"]
        scoring.append(
            {"constant_score": {"filter": gender, "boost": boost, "_name": "gender:exact:0"}}
        )
    required = [per_field[field] for field in criteria.required if field in per_field]
    if criteria.anchor in per_field and len(required) == len(criteria.required) > 1:
        # The anchor must match, and with it two of: the other required fields, each in any of
        # its ways, and the anchor closely. "Evan" born 20 February 2015 at DD8 9AB finds the
        # child called Evin there, or the Evan born on the 21st there; at another postcode, not.
        anchor = criteria.anchor
        close = _close_query(_clauses_by_field(criteria)[anchor], FIELD_WEIGHTS[anchor])
        others = [per_field[field] for field in criteria.required if field != anchor]
        must = [
            per_field[anchor],
            {"bool": {"should": [*others, close], "minimum_should_match": 2}},
        ]
        scoring += [query for field, query in per_field.items() if field not in criteria.required]
    elif required:
        # The fields that made the search specific must all match (each in any of its ways):
        # without a family name, "Evan" and a year of birth alone must not list every Evan.
        must = required
        scoring += [query for field, query in per_field.items() if field not in criteria.required]
    else:
        leave_out = frozenset() if year_alone_counts else _SCORE_ONLY
        queries = list(_per_field(clauses_by_field, leave_out=leave_out).values())
        least = min(2, len(queries))
        must = [{"bool": {"should": queries, "minimum_should_match": least}}]
        scoring += [
            _scored(field, index, clause)
            for field, clauses in clauses_by_field.items()
            for index, clause in enumerate(clauses)
            if clause.factor_key in leave_out
        ]
    return {"bool": {"must": must, "should": scoring, "filter": access_filter}}


def _close_query(clauses: list[_Clause], weight: float) -> dict[str, Any]:
    # Unnamed: the field's own clauses already say how a hit matched.
    return {
        "dis_max": {
            "queries": [
                {
                    "constant_score": {
                        "filter": clause.query,
                        "boost": weight * KIND_FACTORS[clause.factor_key],
                    }
                }
                for clause in clauses
                if clause.factor_key in _CLOSE_FACTORS
            ]
        }
    }


def matched_kinds(
    criteria: Criteria, names: list[str], source: Mapping[str, Any]
) -> dict[str, str]:
    """Per field, the best way a hit matched: the named clauses that fired for it, and the
    fuzzy ones tested on its `source` (which must hold the fields of the fuzzy terms)."""
    best: dict[str, tuple[int, str]] = {}
    for name in names:
        field, kind, position = name.split(":")
        # Clauses are listed best first, so the lowest index is the best that fired.
        if field not in best or int(position) < best[field][0]:
            best[field] = (int(position), kind)
    for field, clauses in _clauses_by_field(criteria).items():
        for index, clause in enumerate(clauses):
            if field in best and best[field][0] < index:
                break
            if clause.fuzzy and any(term.matches(source) for term in clause.fuzzy):
                best[field] = (index, clause.kind)
                break
    return {field: kind for field, (_, kind) in best.items()}


def fuzzy_source_fields(criteria: Criteria) -> list[str]:
    """The fields a hit's source must hold for `matched_kinds` to test the fuzzy clauses."""
    return sorted(
        {
            term.field
            for clauses in _clauses_by_field(criteria).values()
            for clause in clauses
            for term in clause.fuzzy
        }
    )


def build_blocking_query(
    criteria: Criteria, *, access_filter: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """A cheap query for the likely candidates of a record that names a child fully (the
    first pass of a feed's linking, `feeds.linking`): at least two of date of birth, family
    name, given names and postcode agree on a key, term lookups only.

    Each field agrees on any of its keys, in one clause: the date of birth exactly or with day
    and month exchanged; a name by a token, a phonetic key, a nickname group, a former family
    name or the other name's field (names given the wrong way round); the postcode, a previous
    postcode or the sector. No fuzzy automaton, no single digit wrong and no year alone: a
    record that agrees only so is found by `build_query`, which a feed runs when this one finds
    no child to link. Scores only order the candidates: a field that agrees counts its weight,
    each field that agrees exactly adds one. None when fewer than two of the fields are given."""
    groups: list[tuple[float, list[dict[str, Any]]]] = []
    exact: list[dict[str, Any]] = []
    if criteria.date_of_birth is not None:
        value = criteria.date_of_birth
        days = [value.isoformat()]
        swapped = swapped_day_month(value)
        if swapped is not None and swapped != value:
            days.append(swapped.isoformat())
        groups.append((FIELD_WEIGHTS["date_of_birth"], [_terms(f.DATE_OF_BIRTH, days)]))
        exact.append(_term(f.DATE_OF_BIRTH, days[0]))
    if criteria.family_name and fold(criteria.family_name):
        keys = family_name_keys(criteria.family_name)
        tokens = list(keys.tokens)
        family = [
            _terms(f.FAMILY_NAME_TOKENS, tokens),
            _terms(f.OTHER_FAMILY_NAME_TOKENS, tokens),
            _terms(f.GIVEN_NAME_TOKENS, tokens),
        ]
        if keys.phonetic:
            family += [
                _terms(f.FAMILY_NAME_PHONETIC, list(keys.phonetic)),
                _terms(f.OTHER_FAMILY_NAME_PHONETIC, list(keys.phonetic)),
            ]
        groups.append((FIELD_WEIGHTS["family_name"], family))
        exact.append(_term(f.FAMILY_NAME_FOLDED, keys.folded))
    if criteria.given_name and fold(criteria.given_name):
        keys = given_name_keys(criteria.given_name)
        tokens = list(keys.tokens)
        given = [_terms(f.GIVEN_NAME_TOKENS, tokens), _terms(f.FAMILY_NAME_TOKENS, tokens)]
        if keys.phonetic:
            given.append(_terms(f.GIVEN_NAME_PHONETIC, list(keys.phonetic)))
        if keys.nicknames:
            given.append(_terms(f.GIVEN_NAME_NICKNAMES, list(keys.nicknames)))
        groups.append((FIELD_WEIGHTS["given_name"], given))
        exact.append(_term(f.GIVEN_NAMES_FOLDED, keys.folded))
    full = normalise_postcode(criteria.postcode) if criteria.postcode else None
    if full is not None:
        places = [
            _term(f.POSTCODE, full),
            _term(f.PREVIOUS_POSTCODES, full),
            _term(f.POSTCODE_SECTOR, postcode_sector(full)),
        ]
        groups.append((FIELD_WEIGHTS["postcode"], places))
        exact.append(places[0])
    if len(groups) < 2:
        return None
    agreeing = [
        {"constant_score": {"filter": {"bool": {"should": queries}}, "boost": weight}}
        for weight, queries in groups
    ]
    scoring = [{"constant_score": {"filter": query, "boost": 1.0}} for query in exact]
    return {
        "bool": {
            "must": [{"bool": {"should": agreeing, "minimum_should_match": 2}}],
            "should": scoring,
            "filter": access_filter,
        }
    }
