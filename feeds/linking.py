"""Which child a feed's record is: the decision, from the identifiers first, then the match engine.

1. **The source record seen before.** A newer version of a record already linked to a child is
   that child's (a record in review or held is decided again).
2. **Identifiers.** A UPN or an NHS number already on a child links the record at once; on two
   children it goes to review.
3. **The match engine.** Elasticsearch retrieves candidates, every child whatever its shield
   (this is the system, not a searcher), and `matching` ranks them with competing
   probabilities, beside the children this run created that the index may not hold yet. The
   candidates come in two passes: first the blocking query (`build_blocking_query`: two of
   date of birth, family name, given names and postcode agree on a key, term lookups only,
   several times cheaper); when its candidates link the record (below), that is the
   decision. Otherwise the search's own query (any two of the four, each in some way, typos
   and a digit wrong too) adds its candidates, and the decision is taken again on both: every
   hold, review and new child is decided on the broad candidates. A blocking link stands
   without them because a child the blocking query missed disagrees on the keys of three of
   the four fields: beside a candidate at `link`, its probability is far below `hold`.
   A candidate that holds another birth entry or NHS number than the record's is another
   child (twins are two registrations) and is left out. Then, in this order:
   - a candidate that is a shielded child at `hold` or above: **held** for that child's
     authority, neither created nor linked (the real ContactPoint's unshielded duplicates of
     shielded children were created so);
   - the best at `link` or above, its given names agreeing in some way and its date of birth
     the same or a slip of it (a digit, day and month exchanged, the year one out): **linked**.
     A given name that disagrees outright with the rest the same is most often a sibling
     (twins share date of birth, address and family name), and a date of birth that disagrees
     a sibling or a namesake, so neither is linked without a person;
   - below `review`: **created**, a new child (when the record has an address to give it);
   - otherwise: **review**.

Pure but for the reads it is handed (`Lookups`): the same record and the same candidates give
the same decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Protocol

from feeds.records import LINKING_IDENTIFIERS, FeedRecord, IdentifierKind
from mappings import fields as f
from mappings.query_builder import Criteria, build_blocking_query, build_query
from matching import (
    DOCUMENT_FIELDS,
    MatchModel,
    MatchRecord,
    Prepared,
    competing_probabilities,
    prepare,
    prepare_once,
    prepared_from_documents,
    score,
)

# How many candidates Elasticsearch retrieves for one record: the broad pass, and the blocking
# one (ranked by how many fields agree, so its strongest competitors come first).
CANDIDATES: Final = 25
BLOCKING_CANDIDATES: Final = 10
_SOURCE: Final = sorted({f.IDENTIFIER, f.SHIELDED, f.LOCAL_AUTHORITY_CODE, *DOCUMENT_FIELDS})
# Identifiers a child has one of for life: a candidate holding another of the same kind is
# another child (twins are two birth entries, two NHS numbers). A UPN is not one: a temporary
# UPN gives way to a permanent one.
ONE_PER_CHILD: Final = frozenset({IdentifierKind.BIRTH_ENTRY, IdentifierKind.NHS_NUMBER})
_NOT_MERGED: Final = {"bool": {"must_not": [{"term": {f.STATUS: "merged"}}]}}
# Given-name levels that never link automatically (the rest the same, a sibling).
_NOT_THE_SAME_GIVEN_NAME: Final = frozenset({"else"})
# Nor date-of-birth levels that are no slip of a digit, the day and month, or the year: a
# child's date of birth is the one field that never changes, and a rare name's weight can
# carry a link past it (a newborn linked to an older sibling or namesake of the same name).
_NOT_THE_SAME_BIRTH: Final = frozenset({"year_only", "else"})


class Tier(StrEnum):
    """Which pass of retrieval a search is (see the module's docstring)."""

    BLOCKING = "blocking"
    BROAD = "broad"


class Outcome(StrEnum):
    """What became of a record."""

    LINKED = "linked"
    CREATED = "created"
    REVIEW = "review"
    HELD = "held"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The probabilities that decide (`Settings.feed_link_probability` and the others)."""

    link: float
    review: float
    hold: float

    def __post_init__(self) -> None:
        if not 0 < self.hold <= self.review < self.link <= 1:
            raise ValueError("thresholds must hold 0 < hold <= review < link <= 1")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A child the record was compared with, as the engine compared them."""

    identifier: str
    probability: float
    match_weight: float
    shielded: bool
    authority: str | None
    # Per comparison: the level it agreed at and the weight that earned.
    comparisons: tuple[tuple[str, str, float], ...]

    def level(self, comparison: str) -> str | None:
        return next((level for name, level, _ in self.comparisons if name == comparison), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "probability": round(self.probability, 6),
            "match_weight": round(self.match_weight, 3),
            "shielded": self.shielded,
            "comparisons": {
                name: {"level": level, "weight": round(weight, 3)}
                for name, level, weight in self.comparisons
            },
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one record, the child it concerns (linked or, for a hold, the shielded
    one's authority), and the candidates behind it."""

    outcome: Outcome
    reason: str
    identifier: str | None = None
    probability: float | None = None
    authority: str | None = None
    candidates: tuple[Candidate, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Recent:
    """A child this run created or changed, as the index will hold it once the indexer catches
    up: compared beside Elasticsearch's candidates, so that two records of one new child in one
    file make one child."""

    identifier: str
    record: MatchRecord
    authority: str | None = None
    shielded: bool = False
    held: frozenset[tuple[IdentifierKind, str]] = frozenset()


class Lookups(Protocol):
    """The reads a decision needs."""

    def previous_child(self, record: FeedRecord) -> str | None:
        """The identifier of the child an earlier version of this source record was linked to."""
        ...

    def children_with(self, identifiers: Iterable[tuple[IdentifierKind, str]]) -> set[str]:
        """The identifiers of the children that hold any of these source identifiers."""
        ...

    def search(self, body: dict[str, Any], *, tier: Tier) -> list[Mapping[str, Any]]:
        """Elasticsearch's hits' `_source` for a query body of the record being decided."""
        ...

    def held_identifiers(
        self, children: Iterable[str], kinds: Iterable[IdentifierKind]
    ) -> dict[str, set[tuple[IdentifierKind, str]]]:
        """The source identifiers of these kinds that each of these children holds."""
        ...

    def recent(self, record: FeedRecord) -> Sequence[Recent]:
        """The children this run created or changed that may be this record's (blocked by
        date of birth or family name)."""
        ...


def match_record(record: FeedRecord) -> MatchRecord:
    """The record as the match engine compares it."""
    address = record.address
    return MatchRecord(
        given_names=record.given_names,
        family_name=record.family_name,
        date_of_birth=record.date_of_birth,
        postcode=address.postcode if address else None,
        town=address.town if address else None,
        gender=record.gender,
    )


def _criteria(record: FeedRecord) -> Criteria:
    return Criteria(
        given_name=record.given_names,
        family_name=record.family_name,
        date_of_birth=record.date_of_birth,
        postcode=record.address.postcode if record.address else None,
        gender=record.gender,
    )


def _body(query: dict[str, Any], size: int = CANDIDATES) -> dict[str, Any]:
    return {"query": query, "size": size, "source": _SOURCE, "track_total_hits": False}


def retrieval_body(record: FeedRecord) -> dict[str, Any]:
    """The search's own query, for every child whatever its shield or status (archived too: a
    death links to its child), but a merged-away record (its survivor is the child). A year of
    birth alone counts as a criterion agreeing here: a child missed becomes a duplicate."""
    query = build_query(_criteria(record), access_filter=[_NOT_MERGED], year_alone_counts=True)
    return _body(query)


def blocking_body(record: FeedRecord) -> dict[str, Any] | None:
    """The first pass's query, over the same children as `retrieval_body`; None when the
    record gives fewer than two of the fields it blocks on."""
    query = build_blocking_query(_criteria(record), access_filter=[_NOT_MERGED])
    return _body(query, BLOCKING_CANDIDATES) if query is not None else None


def _others(record: FeedRecord, lookups: Lookups, identifiers: Sequence[str]) -> set[str]:
    """The candidates that hold another identifier of a kind a child has one of."""
    own = {(kind, value) for kind, value in record.identifiers if kind in ONE_PER_CHILD}
    kinds = {kind for kind, _ in own}
    if not kinds:
        return set()
    held = lookups.held_identifiers(identifiers, kinds)
    return {
        identifier
        for identifier, values in held.items()
        if any(kind in kinds and (kind, value) not in own for kind, value in values)
    }


def _candidates(
    record: FeedRecord,
    hits: Sequence[Mapping[str, Any]],
    recent: Sequence[Recent],
    model: MatchModel,
    lookups: Lookups,
) -> list[Candidate]:
    others = _others(record, lookups, [str(hit[f.IDENTIFIER]) for hit in hits])
    own = {(k, v) for k, v in record.identifiers if k in ONE_PER_CHILD}
    kinds = {k for k, _ in own}
    others |= {
        item.identifier
        for item in recent
        if any(k in kinds and (k, v) not in own for k, v in item.held)
    }
    hits = [hit for hit in hits if str(hit[f.IDENTIFIER]) not in others]
    recent = [item for item in recent if item.identifier not in others]
    seen = {str(hit[f.IDENTIFIER]) for hit in hits}
    extra = [item for item in recent if item.identifier not in seen]
    # Hits already indexed are replaced by what this run made of them (fresher).
    fresher = {item.identifier: item for item in recent}
    prepared: list[Prepared] = prepared_from_documents(list(hits), [True] * len(hits))
    rows: list[tuple[str, bool, str | None]] = [
        (str(hit[f.IDENTIFIER]), bool(hit.get(f.SHIELDED)), hit.get(f.LOCAL_AUTHORITY_CODE))
        for hit in hits
    ]
    for position, (identifier, _, _) in enumerate(rows):
        if identifier in fresher:
            item = fresher[identifier]
            prepared[position] = prepare(item.record)
            rows[position] = (identifier, item.shielded or rows[position][1], item.authority)
    prepared += [prepare(item.record) for item in extra]
    rows += [(item.identifier, item.shielded, item.authority) for item in extra]
    if not prepared:
        return []
    scored = score(prepare_once(match_record(record)), prepared, model)
    probabilities = competing_probabilities(scored, model)
    found = [
        Candidate(
            identifier=rows[s.position][0],
            probability=p,
            match_weight=s.match_weight,
            shielded=rows[s.position][1],
            authority=rows[s.position][2],
            comparisons=tuple(
                (x.comparison, x.level, x.weight) for x in s.fields if x.level is not None
            ),
        )
        for s, p in zip(scored, probabilities, strict=True)
    ]
    # Best first, ties by identifier: the same candidates always give the same order.
    return sorted(found, key=lambda c: (-c.probability, -c.match_weight, c.identifier))


def decide(
    record: FeedRecord,
    *,
    lookups: Lookups,
    model: MatchModel,
    thresholds: Thresholds,
    can_create: Callable[[FeedRecord], bool],
) -> Decision:
    """The decision for `record` (see the module's docstring for the order)."""
    previous = lookups.previous_child(record)
    if previous is not None:
        return Decision(Outcome.LINKED, "an earlier version of this record", identifier=previous)
    linking = [(k, v) for k, v in record.identifiers if k in LINKING_IDENTIFIERS]
    holders = lookups.children_with(linking) if linking else set()
    if len(holders) == 1:
        (holder,) = holders
        return Decision(Outcome.LINKED, "the same identifier", identifier=holder)
    recent = lookups.recent(record)
    blocking = blocking_body(record)
    hits: list[Mapping[str, Any]] = []
    if blocking is not None:
        hits = lookups.search(blocking, tier=Tier.BLOCKING)
        decision = _by_engine(record, hits, recent, holders, lookups, model, thresholds, can_create)
        if decision.reason == _LINKED_BY_ENGINE:
            return decision
    seen = {str(hit[f.IDENTIFIER]) for hit in hits}
    broad = lookups.search(retrieval_body(record), tier=Tier.BROAD)
    hits += [hit for hit in broad if str(hit[f.IDENTIFIER]) not in seen]
    return _by_engine(record, hits, recent, holders, lookups, model, thresholds, can_create)


_LINKED_BY_ENGINE: Final = "the match engine"


def _by_engine(
    record: FeedRecord,
    hits: Sequence[Mapping[str, Any]],
    recent: Sequence[Recent],
    holders: set[str],
    lookups: Lookups,
    model: MatchModel,
    thresholds: Thresholds,
    can_create: Callable[[FeedRecord], bool],
) -> Decision:
    """The decision on these candidates (the module's docstring, from the hold on)."""
    candidates = tuple(_candidates(record, hits, recent, model, lookups)[:10])
    shielded = next(
        (c for c in candidates if c.shielded and c.probability >= thresholds.hold), None
    )
    if shielded is not None:
        # Before anything else a person might see: the shielded child's managers decide.
        return Decision(
            Outcome.HELD,
            "it may be a shielded child",
            probability=shielded.probability,
            authority=shielded.authority,
            candidates=candidates,
        )
    if len(holders) > 1:
        unshielded = [c for c in candidates if not c.shielded]
        return Decision(
            Outcome.REVIEW,
            "its identifiers are on more than one child",
            authority=unshielded[0].authority if unshielded else None,
            candidates=candidates,
        )
    best = candidates[0] if candidates else None
    if best is not None and best.probability >= thresholds.link:
        doubt = None
        if best.level("given_names") in _NOT_THE_SAME_GIVEN_NAME:
            doubt = "the given names disagree while the rest agrees (a sibling, a twin?)"
        elif best.level("date_of_birth") in _NOT_THE_SAME_BIRTH:
            doubt = "the dates of birth disagree while the rest agrees (a sibling, a namesake?)"
        if doubt is None:
            return Decision(
                Outcome.LINKED,
                _LINKED_BY_ENGINE,
                identifier=best.identifier,
                probability=best.probability,
                candidates=candidates,
            )
        return Decision(
            Outcome.REVIEW,
            doubt,
            probability=best.probability,
            authority=best.authority,
            candidates=candidates,
        )
    if best is None or best.probability < thresholds.review:
        if can_create(record):
            return Decision(
                Outcome.CREATED,
                "no child is likely enough",
                probability=best.probability if best else None,
                candidates=candidates,
            )
        return Decision(
            Outcome.REVIEW,
            "no child is likely enough, and the record has too little to create one",
            probability=best.probability if best else None,
            authority=best.authority if best else None,
            candidates=candidates,
        )
    return Decision(
        Outcome.REVIEW,
        "the match engine is unsure",
        probability=best.probability,
        authority=best.authority,
        candidates=candidates,
    )
