"""Import one feed file: read each line, decide which child it is, write the decision.

Idempotent by source record id and version: a record seen before at the same or a newer version
changes nothing (`unchanged`). Decisions are written in batches, one transaction each; a batch's
records see the children the batches before them created (Elasticsearch, once the indexer has
caught up) and the ones this run created or changed (`Recent`), so that two records of one new
child in one file make one child. The reads that need not wait for the batch before (records
seen, identifiers' holders, the children they are on, Elasticsearch's candidates) run ahead,
`READ_AHEAD` batches queued on a thread of their own, while the batches before are written;
what those wrote is laid over them. A batch's records are all decided first, each seeing the
ones before it, then written together (`feeds.apply.Writer.apply_all`).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Final

from elasticsearch import Elasticsearch
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db.models import Child, ChildSourceIdentifier, ReceivedRecord, Shield
from feeds.apply import Writer, can_create, new_identifier
from feeds.linking import (
    ONE_PER_CHILD,
    Decision,
    Outcome,
    Recent,
    Thresholds,
    Tier,
    blocking_body,
    decide,
    match_record,
    retrieval_body,
)
from feeds.records import LINKING_IDENTIFIERS, FeedRecord, IdentifierKind, Rejection, Source
from feeds.sources import read_feed
from mappings import fields as f
from mappings.normalise import fold
from matching import MatchModel, MatchRecord

Progress = Callable[[int], None]
# How many batches' reads are queued ahead of the one being written.
READ_AHEAD: Final = 2


@dataclass
class ImportResult:
    """What an import did: counts by outcome, and the lines rejected."""

    lines: int = 0
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    rejected: list[Rejection] = field(default_factory=list)
    # Per record, in file order: (line, record id, outcome, the child's identifier or None).
    decisions: list[tuple[int, str, Outcome, str | None]] = field(default_factory=list)

    @property
    def rejected_lines(self) -> int:
        return len({rejection.line for rejection in self.rejected})

    def summary(self) -> str:
        c = self.counts
        return (
            f"{self.lines} lines: {c[Outcome.LINKED]} linked, {c[Outcome.CREATED]} created, "
            f"{c[Outcome.REVIEW]} sent to review, {c[Outcome.HELD]} held for a shield, "
            f"{c[Outcome.UNCHANGED]} unchanged, {self.rejected_lines} lines rejected"
        )


@dataclass
class Prefetched:
    """A batch's reads that need not wait for the batch before it to be written: the stored
    versions, the children holding its identifiers, and Elasticsearch's candidates of each
    record that may need them (one `msearch`)."""

    stored: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    holders: dict[tuple[IdentifierKind, str], set[str]] = field(default_factory=dict)
    hits: dict[tuple[str, Tier], list[Mapping[str, Any]]] = field(default_factory=dict)
    # The children those records and identifiers are on: authority and whether shielded.
    children: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    # Their identifiers of the kinds a child has one of.
    held: dict[str, set[tuple[IdentifierKind, str]]] = field(default_factory=dict)


def read_early(
    *, engine: Engine, es: Elasticsearch, alias: str, records: Sequence[FeedRecord]
) -> Prefetched:
    """`Prefetched` for `records`, on a session of its own (see `Prefetched`)."""
    early = Prefetched()
    source = records[0].source.value
    ids = sorted({record.record_id for record in records})
    with Session(engine) as session:
        rows = session.execute(
            select(ReceivedRecord.record_id, ReceivedRecord.version, Child.identifier)
            .outerjoin(Child, Child.id == ReceivedRecord.child_id)
            .where(ReceivedRecord.source == source, ReceivedRecord.record_id.in_(ids))
        )
        early.stored = {record_id: (version, child) for record_id, version, child in rows}
        wanted = {
            (kind, value)
            for record in records
            for kind, value in record.identifiers
            if kind in LINKING_IDENTIFIERS
        }
        for kind in {kind for kind, _ in wanted}:
            values = sorted(value for k, value in wanted if k == kind)
            found = session.execute(
                select(ChildSourceIdentifier.value, Child.identifier)
                .join(Child, Child.id == ChildSourceIdentifier.child_id)
                .where(ChildSourceIdentifier.kind == kind.value)
                .where(ChildSourceIdentifier.value.in_(values))
            )
            for value, child in found:
                early.holders.setdefault((kind, value), set()).add(child)
        known = {child for _, child in early.stored.values() if child is not None}
        known |= {child for children in early.holders.values() for child in children}
        if known:
            in_force = (
                select(Shield.id)
                .where(Shield.child_id == Child.id, Shield.removed_at.is_(None))
                .exists()
            )
            found_children = session.execute(
                select(Child.identifier, Child.local_authority_code, in_force).where(
                    Child.identifier.in_(sorted(known))
                )
            )
            early.children = {
                identifier: (authority, bool(shielded))
                for identifier, authority, shielded in found_children
            }
            early.held = _read_held(session, known, ONE_PER_CHILD)
    unresolved = [
        record
        for record in records
        if record.record_id not in early.stored
        and not any(early.holders.get(item) for item in record.identifiers)
    ]
    if unresolved:
        # The first pass's search of each (`feeds.linking`); the broad one of a record that
        # gives too little for it. The broad pass of the others, when needed, runs as decided.
        searches: list[dict[str, Any]] = []
        keys: list[tuple[str, Tier]] = []
        for record in unresolved:
            body = blocking_body(record)
            tier = Tier.BLOCKING
            if body is None:
                body, tier = retrieval_body(record), Tier.BROAD
            # A raw body names the source filter as the REST API does.
            body["_source"] = body.pop("source")
            searches += [{}, body]
            keys.append((record.record_id, tier))
        answer = es.msearch(index=alias, searches=searches)
        for key, response in zip(keys, answer["responses"], strict=True):
            if "error" not in response:
                early.hits[key] = [hit["_source"] for hit in response["hits"]["hits"]]
        # The broad pass too of the records the blocking one cannot link: it found nobody (a
        # new child, most often), or a shielded child (a hold is decided on the broad
        # candidates). The others' broad pass, when needed, runs as they are decided.
        broad = [
            record
            for record in unresolved
            if (hits := early.hits.get((record.record_id, Tier.BLOCKING))) is not None
            and (not hits or any(hit.get(f.SHIELDED) for hit in hits))
        ]
        if broad:
            searches = []
            for record in broad:
                body = retrieval_body(record)
                body["_source"] = body.pop("source")
                searches += [{}, body]
            answer = es.msearch(index=alias, searches=searches)
            for record, response in zip(broad, answer["responses"], strict=True):
                if "error" not in response:
                    hits = [hit["_source"] for hit in response["hits"]["hits"]]
                    early.hits[(record.record_id, Tier.BROAD)] = hits
    return early


def _read_held(
    session: Session, children: Iterable[str], kinds: Iterable[IdentifierKind]
) -> dict[str, set[tuple[IdentifierKind, str]]]:
    """The identifiers of these kinds that each of these children holds (none: left out)."""
    wanted, kinds_wanted = sorted(children), sorted(kind.value for kind in kinds)
    if not wanted or not kinds_wanted:
        return {}
    rows = session.execute(
        select(Child.identifier, ChildSourceIdentifier.kind, ChildSourceIdentifier.value)
        .join(ChildSourceIdentifier, ChildSourceIdentifier.child_id == Child.id)
        .where(Child.identifier.in_(wanted), ChildSourceIdentifier.kind.in_(kinds_wanted))
    )
    held: dict[str, set[tuple[IdentifierKind, str]]] = {}
    for identifier, kind, value in rows:
        held.setdefault(identifier, set()).add((IdentifierKind(kind), value))
    return held


class _Lookups:
    """The reads of a decision, on the batch's session and the indexer's Elasticsearch client."""

    def __init__(self, session: Session, es: Elasticsearch, alias: str, made: _Made) -> None:
        self.session, self.es, self.alias, self.made = session, es, alias, made
        # Read once for a whole batch (`prefetch`), kept up to date as its records are written.
        self.stored: dict[str, tuple[int, str | None]] = {}
        self.holders: dict[tuple[IdentifierKind, str], set[str]] = {}
        self.hits: dict[tuple[str, Tier], list[Mapping[str, Any]]] = {}
        # The identifiers the candidates hold, of the kinds a child has one of (read once for
        # the batch's candidates, kept up to date as its records are written).
        self.held: dict[str, set[tuple[IdentifierKind, str]]] = {}
        self.children: dict[str, tuple[str | None, bool]] = {}
        # The record being decided (its prefetched candidates are `search`'s answer).
        self.current: str | None = None

    def prefetch(self, early: Prefetched) -> None:
        """The batch's reads: `early`'s (read while the batch before it was written), with what
        that batch wrote laid over them, and the identifiers its candidates hold."""
        self.stored = dict(early.stored)
        for stored, _ in self.made.last:
            self.stored.update(stored)
        self.holders = {item: set(children) for item, children in early.holders.items()}
        for _, holders in self.made.last:
            for item, children in holders.items():
                self.holders.setdefault(item, set()).update(children)
        self.hits = dict(early.hits)
        self.children = dict(early.children)
        candidates = {hit[f.IDENTIFIER] for hits in self.hits.values() for hit in hits}
        # The children of the records and identifiers (read early) and the candidates (now).
        known: dict[str, set[tuple[IdentifierKind, str]]] = {
            child: set(early.held.get(child, set())) for child in self.children
        }
        for _, holders in self.made.last:
            # Read before the batches before were written: what they wrote laid over.
            for item, children in holders.items():
                for child in children & known.keys() if item[0] in ONE_PER_CHILD else set():
                    known[child].add(item)
        candidates -= set(known)
        self.held = {identifier: set() for identifier in candidates}
        self.held.update(self._read_held(candidates, ONE_PER_CHILD))
        self.held.update(known)

    def _read_held(
        self, children: Iterable[str], kinds: Iterable[IdentifierKind]
    ) -> dict[str, set[tuple[IdentifierKind, str]]]:
        return _read_held(self.session, children, kinds)

    def written(self, record: FeedRecord, child: str | None) -> None:
        """What a record just written changes for the rest of the batch."""
        self.stored[record.record_id] = (record.version, child)
        self.made.batch_stored[record.record_id] = (record.version, child)
        if child is not None:
            for item in record.identifiers:
                self.holders.setdefault(item, set()).add(child)
                self.made.batch_holders.setdefault(item, set()).add(child)
                if child in self.held and item[0] in ONE_PER_CHILD:
                    self.held[child].add(item)

    def seen(self, record: FeedRecord) -> bool:
        stored = self.stored.get(record.record_id)
        return stored is not None and stored[0] >= record.version

    def previous_child(self, record: FeedRecord) -> str | None:
        stored = self.stored.get(record.record_id)
        return stored[1] if stored is not None else None

    def children_with(self, identifiers: Iterable[tuple[IdentifierKind, str]]) -> set[str]:
        found: set[str] = set()
        for item in identifiers:
            found |= self.holders.get(item, set())
        return found

    def held_identifiers(
        self, children: Iterable[str], kinds: Iterable[IdentifierKind]
    ) -> dict[str, set[tuple[IdentifierKind, str]]]:
        wanted, kinds_wanted = list(children), set(kinds)
        known = {
            child: {item for item in self.held[child] if item[0] in kinds_wanted}
            for child in wanted
            if child in self.held and kinds_wanted <= ONE_PER_CHILD
        }
        held = {child: values for child, values in known.items() if values}
        # Children not among the batch's candidates (this run's, say): read now.
        held.update(self._read_held([c for c in wanted if c not in known], kinds_wanted))
        return held

    def search(self, body: dict[str, Any], *, tier: Tier) -> list[Mapping[str, Any]]:
        # Prefetched for the record being decided, unless its search failed there (then alone,
        # so that a failure raises with Elasticsearch's own error) or was not prefetched (the
        # broad pass after a blocking one).
        key = (self.current, tier) if self.current is not None else None
        if key is not None and key in self.hits:
            return self.hits.pop(key)
        response = self.es.search(index=self.alias, **body)
        return [hit["_source"] for hit in response["hits"]["hits"]]

    def recent(self, record: FeedRecord) -> Sequence[Recent]:
        return self.made.near(record)

    def note(self, record: FeedRecord, decision: Decision) -> None:
        """A record decided: the child it was linked to or made is a candidate of the records
        after it, as this record describes it (`Recent`), before the index holds it."""
        identifier = decision.identifier
        assert identifier is not None
        before = self.made.by_identifier.get(identifier)
        candidate = next((c for c in decision.candidates if c.identifier == identifier), None)
        if before is not None:
            authority, shielded, held = before.authority, before.shielded, set(before.held)
        elif decision.outcome is Outcome.CREATED:
            authority, shielded, held = None, False, set()
        elif candidate is not None:
            authority, shielded = candidate.authority, candidate.shielded
            held = set(self.held.get(identifier, set()))
        else:
            authority, shielded = self.children.get(identifier, (None, False))
            held = set(self.held.get(identifier, set()))
        if identifier not in self.held:
            held |= {
                item
                for item, children in self.holders.items()
                if item[0] in ONE_PER_CHILD and identifier in children
            }
        held |= set(record.identifiers)
        self.made.add(
            Recent(
                identifier=identifier,
                record=match_record(record),
                authority=authority,
                shielded=shielded,
                held=frozenset(held),
            )
        )
        self.held.setdefault(identifier, set()).update(
            item for item in record.identifiers if item[0] in ONE_PER_CHILD
        )

    def new_identifier(self) -> str:
        """An identifier for a child to create: no child's, nor another of this batch's."""
        while True:
            identifier = new_identifier(self.session)
            if identifier not in self.made.by_identifier:
                return identifier


class _Made:
    """The children this run created or changed, by date of birth and by family name."""

    def __init__(self) -> None:
        self.by_identifier: dict[str, Recent] = {}
        self.by_birth: dict[date, set[str]] = {}
        self.by_family: dict[str, set[str]] = {}
        # What the batch being written, and the one before it, wrote: the batch after them read
        # its `Prefetched` before the one before it was written.
        self.batch_stored: dict[str, tuple[int, str | None]] = {}
        self.batch_holders: dict[tuple[IdentifierKind, str], set[str]] = {}
        # What the last READ_AHEAD batches wrote, oldest first: a batch's `Prefetched` may have
        # been read before any of them was written (laying over what it did see changes nothing).
        self.last: deque[
            tuple[dict[str, tuple[int, str | None]], dict[tuple[IdentifierKind, str], set[str]]]
        ] = deque(maxlen=READ_AHEAD)

    def batch_written(self) -> None:
        """The batch being written is committed: it joins the ones before the next."""
        self.last.append((self.batch_stored, self.batch_holders))
        self.batch_stored, self.batch_holders = {}, {}

    def add(self, recent: Recent) -> None:
        self.by_identifier[recent.identifier] = recent
        if recent.record.date_of_birth is not None:
            self.by_birth.setdefault(recent.record.date_of_birth, set()).add(recent.identifier)
        if recent.record.family_name:
            family = fold(recent.record.family_name)
            self.by_family.setdefault(family, set()).add(recent.identifier)

    def near(self, record: FeedRecord) -> list[Recent]:
        """The children made that block with `record` as the blocking query would (two of date
        of birth, family name, a given name and postcode the same): a long run's children of
        one birthday or family name are many, and all but these would score nothing."""
        found = self.by_birth.get(record.date_of_birth, set()) | self.by_family.get(
            fold(record.family_name), set()
        )
        if not found:
            return []
        wanted = _blocking_keys(match_record(record))
        near = []
        for identifier in sorted(found):
            recent = self.by_identifier[identifier]
            keys = _blocking_keys(recent.record)
            agreeing = (
                (wanted.birth is not None and wanted.birth == keys.birth)
                + (bool(wanted.family) and wanted.family == keys.family)
                + bool(wanted.given & keys.given)
                + (wanted.postcode is not None and wanted.postcode == keys.postcode)
            )
            if agreeing >= 2:
                near.append(recent)
        return near


@dataclass(frozen=True, slots=True)
class _Keys:
    birth: date | None
    family: str
    given: frozenset[str]
    postcode: str | None


def _blocking_keys(record: MatchRecord) -> _Keys:
    postcode = "".join(record.postcode.split()).upper() if record.postcode else None
    return _Keys(
        birth=record.date_of_birth,
        family=fold(record.family_name or ""),
        given=frozenset(fold(record.given_names or "").split()),
        postcode=postcode,
    )


def import_feed(
    *,
    engine: Engine,
    es: Elasticsearch,
    alias: str,
    source: Source,
    path: Path,
    model: MatchModel,
    thresholds: Thresholds,
    batch_size: int = 200,
    progress: Progress | None = None,
    today: date | None = None,
) -> ImportResult:
    """Import the feed file at `path` as `source` (see the module's docstring)."""
    result = ImportResult()
    made = _Made()

    def flush(batch: list[tuple[int, FeedRecord]], early: Prefetched) -> None:
        # Every record of the batch decided first (each sees the ones before it, `_Lookups`),
        # then every decision written at once (`Writer.apply_all`).
        with Session(engine) as session, session.begin():
            lookups = _Lookups(session, es, alias, made)
            lookups.prefetch(early)
            decided: list[tuple[FeedRecord, Decision]] = []
            for line, record in batch:
                identifier: str | None = None
                if lookups.seen(record):
                    decision = Decision(Outcome.UNCHANGED, "seen at this version or a newer one")
                else:
                    lookups.current = record.record_id
                    decision = decide(
                        record,
                        lookups=lookups,
                        model=model,
                        thresholds=thresholds,
                        can_create=can_create,
                    )
                    if decision.outcome is Outcome.CREATED:
                        decision = replace(decision, identifier=lookups.new_identifier())
                    if decision.outcome in (Outcome.LINKED, Outcome.CREATED):
                        identifier = decision.identifier
                    lookups.written(record, identifier)
                    if identifier is not None:
                        lookups.note(record, decision)
                    decided.append((record, decision))
                result.counts[decision.outcome] += 1
                result.decisions.append((line, record.record_id, decision.outcome, identifier))
            Writer(session).apply_all(decided)
        made.batch_written()
        if progress is not None:
            progress(len(batch))

    def batches() -> Iterator[list[tuple[int, FeedRecord]]]:
        batch: list[tuple[int, FeedRecord]] = []
        for parsed in read_feed(source, path, today=today):
            result.lines += 1
            if parsed.record is None:
                result.rejected.extend(parsed.rejections)
                if progress is not None:
                    progress(1)
                continue
            batch.append((parsed.line, parsed.record))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def read_ahead(batch: list[tuple[int, FeedRecord]]) -> Prefetched:
        return read_early(engine=engine, es=es, alias=alias, records=[r for _, r in batch])

    # The next batches' reads (PostgreSQL's and Elasticsearch's) run while a batch is decided
    # and written, READ_AHEAD of them queued so that Elasticsearch is never left idle; what the
    # batches before wrote is laid over them (`_Lookups.prefetch`).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-read-ahead") as ahead:
        feed = batches()
        queued: deque[tuple[list[tuple[int, FeedRecord]], Future[Prefetched]]] = deque()
        for batch in itertools.islice(feed, READ_AHEAD):
            queued.append((batch, ahead.submit(read_ahead, batch)))
        while queued:
            current, pending = queued.popleft()
            following = next(feed, None)
            if following is not None:
                queued.append((following, ahead.submit(read_ahead, following)))
            flush(current, pending.result())
    return result
