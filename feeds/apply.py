"""Write a decision: the child linked or created, its identifiers, fields and their sources, the
record seen, and the review item. Every write to a child reaches the index through the outbox
triggers (migration 0002), as any other program's would.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Boolean, Table, delete, literal_column, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from db.models import (
    Child,
    ChildFieldSource,
    ChildSourceIdentifier,
    FeedReview,
    Organisation,
    ReceivedRecord,
)
from db.normalise import nhs_check_digit
from feeds.corrections import challenge_correction
from feeds.linking import Decision, Outcome
from feeds.records import FeedOrganisation, FeedRecord
from feeds.survivorship import CORRECTION, as_of, challenges_correction, may_set


def record_json(record: FeedRecord) -> dict[str, Any]:
    """The record as it was read, for the review queue and provenance (dates as ISO text)."""

    def plain(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return value

    data = plain(asdict(record))
    data.pop("truth", None)
    return data  # type: ignore[no-any-return]


def new_identifier(session: Session) -> str:
    """A ten-digit identifier in NHS-number style that no child has (drawn at random)."""
    while True:
        first_nine = f"{9_000_000_000 // 10 + secrets.randbelow(100_000_000):09d}"
        check = nhs_check_digit(first_nine)
        if check is None:
            continue
        identifier = f"{first_nine}{check}"
        if session.scalar(select(Child.id).where(Child.identifier == identifier)) is None:
            return identifier


def can_create(record: FeedRecord) -> bool:
    """Whether the record holds enough for a child of its own (an address, as every child has)."""
    return record.address is not None


@dataclass(frozen=True, slots=True)
class _FieldSet:
    """Which source set a child's field, as of when (a `child_field_source` row)."""

    source: str
    as_of: date


class Writer:
    """Applies decisions in one session (the caller commits).

    `apply_all` writes many decisions with a few statements: the children linked are read
    (locked) in one, their fields' sources in another, the children created inserted together,
    and the sources, identifiers, records seen and review items each in one statement. The
    decisions are applied in their order: a record sees what the ones before it changed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # The organisations this writer has read or made, by kind and code (one read each).
        self._organisations_seen: dict[tuple[str, str], Organisation] = {}

    def apply(self, record: FeedRecord, decision: Decision) -> Child | None:
        """Write `decision` for `record`; the child it linked or created, if any."""
        return self.apply_all([(record, decision)])[0]

    def apply_all(self, items: Sequence[tuple[FeedRecord, Decision]]) -> list[Child | None]:
        """Write each decision for its record, in order; per item, the child it linked or
        created (a created child's identifier is the decision's, else a new one)."""
        children: list[Child | None] = []
        chunk: list[tuple[FeedRecord, Decision]] = []
        keys: set[tuple[str, str]] = set()
        for record, decision in items:
            key = (record.source.value, record.record_id)
            if key in keys:
                # A record's second version in one call: after the first is written.
                children += self._apply_chunk(chunk)
                chunk, keys = [], set()
            chunk.append((record, decision))
            keys.add(key)
        if chunk:
            children += self._apply_chunk(chunk)
        return children

    def _apply_chunk(self, items: Sequence[tuple[FeedRecord, Decision]]) -> list[Child | None]:
        session = self.session
        pending = _Pending()
        linked = sorted({str(d.identifier) for _, d in items if d.outcome is Outcome.LINKED})
        # Locked: a manager's correction (or a CMS's change) made meanwhile is read, not lost.
        # In the order of their ids, as every writer of many children locks them.
        found = {
            child.identifier: child
            for child in session.scalars(
                select(Child)
                .where(Child.identifier.in_(linked))
                .order_by(Child.id)
                .with_for_update()
            )
        }
        missing = [identifier for identifier in linked if identifier not in found]
        if missing:
            raise NoResultFound(f"no child {missing[0]} to link a record to")
        sources: dict[int, dict[str, _FieldSet]] = {child.id: {} for child in found.values()}
        if sources:
            for row in session.scalars(
                select(ChildFieldSource).where(ChildFieldSource.child_id.in_(sorted(sources)))
            ):
                sources[row.child_id][row.field] = _FieldSet(row.source, row.as_of)
        self._read_organisations([record for record, _ in items])
        created = self._create_all(
            [
                (record, decision)
                for record, decision in items
                if decision.outcome is Outcome.CREATED
            ]
        )
        children: list[Child | None] = []
        for record, decision in items:
            child: Child | None = None
            if decision.outcome is Outcome.LINKED:
                child = found[str(decision.identifier)]
                self._update(child, record, sources[child.id], pending)
            elif decision.outcome is Outcome.CREATED:
                child = created.pop(0)
                own: dict[str, _FieldSet] = {}
                sources[child.id] = own
                for name in ("name", "gender", "address"):
                    pending.source(child, name, record, own)
                self._organisations(child, record, own, pending)
                if record.date_of_death is not None:
                    pending.source(child, "status", record, own)
            if child is not None:
                pending.identifiers += [
                    {
                        "child_id": child.id,
                        "kind": kind.value,
                        "value": value,
                        "source": record.source.value,
                    }
                    for kind, value in record.identifiers
                ]
            pending.received.append(
                {
                    "source": record.source.value,
                    "record_id": record.record_id,
                    "version": record.version,
                    "as_of": record.as_of,
                    "outcome": decision.outcome.value,
                    "child_id": child.id if child is not None else None,
                    "probability": decision.probability,
                    "record": record_json(record),
                }
            )
            children.append(child)
        session.flush()
        pending.write(session, items)
        return children

    def _create_all(self, items: Sequence[tuple[FeedRecord, Decision]]) -> list[Child]:
        """The children of these decisions, inserted together (their ids known after)."""
        made: list[Child] = []
        for record, decision in items:
            address = record.address
            assert address is not None  # `can_create`
            made.append(
                Child(
                    identifier=decision.identifier or new_identifier(self.session),
                    given_names=record.given_names,
                    family_name=record.family_name,
                    gender=record.gender or "unknown",
                    date_of_birth=record.date_of_birth,
                    address_lines=list(address.lines),
                    town=address.town,
                    postcode=address.postcode,
                    status="archived" if record.date_of_death is not None else "active",
                )
            )
        if made:
            self.session.add_all(made)
            self.session.flush()
        return made

    def _update(
        self,
        child: Child,
        record: FeedRecord,
        sources: dict[str, _FieldSet],
        pending: _Pending,
    ) -> None:
        def allowed(name: str, empty: bool) -> bool:
            row = sources.get(name)
            if row is not None and row.source == CORRECTION:
                # A manager's correction: a newer record's change waits for them to decide.
                if challenges_correction(record, name, corrected_as_of=row.as_of):
                    challenge_correction(self.session, child, record, name)
                return False
            return may_set(record, name, set_as_of=row.as_of if row else None, empty=empty)

        if allowed("name", empty=False) and (
            (child.given_names, child.family_name) != (record.given_names, record.family_name)
        ):
            child.given_names, child.family_name = record.given_names, record.family_name
            pending.source(child, "name", record, sources)
        if record.gender and allowed("gender", empty=child.gender == "unknown"):
            if child.gender != record.gender:
                child.gender = record.gender
                pending.source(child, "gender", record, sources)
        address = record.address
        if address is not None and allowed("address", empty=False):
            changed = (child.address_lines, child.town, child.postcode) != (
                list(address.lines),
                address.town,
                address.postcode,
            )
            if changed:
                child.address_lines = list(address.lines)
                child.town, child.postcode = address.town, address.postcode
            pending.source(child, "address", record, sources)
        self._organisations(child, record, sources, pending)
        if record.date_of_death is not None and child.status != "archived":
            # A death archives the child at once, whatever else the authority recorded.
            child.status = "archived"
            pending.source(child, "status", record, sources)

    def _organisations(
        self,
        child: Child,
        record: FeedRecord,
        sources: dict[str, _FieldSet],
        pending: _Pending,
    ) -> None:
        for name, kind, given in (
            ("education_setting", "education", record.school),
            ("gp_practice", "gp_practice", record.gp_practice),
        ):
            if given is None:
                continue
            column = f"{name}_id"
            row = sources.get(name)
            empty = getattr(child, column) is None
            if may_set(record, name, set_as_of=row.as_of if row else None, empty=empty):
                setattr(child, column, self._organisation(kind, given).id)
                pending.source(child, name, record, sources)

    def _read_organisations(self, records: Sequence[FeedRecord]) -> None:
        """The organisations these records name, read (or made) in one go."""
        wanted: dict[tuple[str, str], FeedOrganisation] = {}
        for record in records:
            for kind, given in (("education", record.school), ("gp_practice", record.gp_practice)):
                if given is not None and (kind, given.code) not in self._organisations_seen:
                    wanted[(kind, given.code)] = given
        if not wanted:
            return
        for organisation in self.session.scalars(
            select(Organisation).where(
                tuple_(Organisation.kind, Organisation.code).in_(sorted(wanted))
            )
        ):
            self._organisations_seen[(organisation.kind, organisation.code)] = organisation
        new = [
            Organisation(kind=kind, code=code, name=given.name, phone=given.phone)
            for (kind, code), given in sorted(wanted.items())
            if (kind, code) not in self._organisations_seen
        ]
        if new:
            self.session.add_all(new)
            self.session.flush()
            for organisation in new:
                self._organisations_seen[(organisation.kind, organisation.code)] = organisation

    def _organisation(self, kind: str, given: FeedOrganisation) -> Organisation:
        found = self._organisations_seen[(kind, given.code)]  # `_read_organisations`
        if (found.name, found.phone) != (given.name, given.phone or found.phone):
            # The source that runs the organisation's register says its name and phone.
            found.name, found.phone = given.name, given.phone or found.phone
        return found


@dataclass
class _Pending:
    """The rows a chunk of decisions writes, in one statement each (`write`)."""

    # By child and field: a later record's source replaces an earlier one's in the chunk.
    sources: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def source(
        self, child: Child, name: str, record: FeedRecord, sources: dict[str, _FieldSet]
    ) -> None:
        """`record` is now the source of the child's field `name`."""
        when = as_of(record, name)
        sources[name] = _FieldSet(record.source.value, when)
        self.sources[(child.id, name)] = {
            "child_id": child.id,
            "field": name,
            "source": record.source.value,
            "record_id": record.record_id,
            "as_of": when,
        }

    def write(self, session: Session, items: Sequence[tuple[FeedRecord, Decision]]) -> None:
        if self.sources:
            session.execute(_FIELD_SOURCE, list(self.sources.values()))
        if self.identifiers:
            session.execute(_IDENTIFIER, self.identifiers)
        rows = session.execute(_RECEIVED, self.received).all()
        received = {
            (source, record_id): (int(id_), bool(new)) for id_, source, record_id, new in rows
        }
        reviews: list[dict[str, Any]] = []
        decided: list[int] = []
        for record, decision in items:
            id_, inserted = received[(record.source.value, record.record_id)]
            if decision.outcome in (Outcome.REVIEW, Outcome.HELD):
                reviews.append(_review_row(id_, decision))
            elif not inserted:
                decided.append(id_)
        if reviews:
            session.execute(_REVIEW, reviews)
        if decided:
            # Decided now: an item a person had not decided yet is no longer needed.
            session.execute(
                delete(_REVIEW_TABLE).where(
                    _REVIEW_TABLE.c.feed_record_id.in_(decided),
                    _REVIEW_TABLE.c.decided_at.is_(None),
                )
            )


def _review_row(received: int, decision: Decision) -> dict[str, Any]:
    held = decision.outcome is Outcome.HELD
    # A review item goes to the general queue of an authority: a shielded child among its
    # candidates (below the hold) is left out, so that no queue shows one to those who may not
    # see it. A hold goes to the shielded child's own authority, with it.
    candidates = [c for c in decision.candidates if held or not c.shielded]
    return {
        "feed_record_id": received,
        "kind": "shield_hold" if held else "review",
        "local_authority_code": decision.authority,
        "candidates": [candidate.as_json() for candidate in candidates],
        "decided_at": None,
        "decision": None,
        "decided_by": None,
    }


def _upsert(table: Any, constraint: str, columns: tuple[str, ...]) -> Any:
    """An insert that, on a conflict at `constraint`, sets `columns` to the values it was given:
    one statement for every row (compiled once, on the table rather than the class), the values
    passed when it is executed (many rows at once)."""
    statement = insert(table)
    return statement.on_conflict_do_update(
        constraint=constraint, set_={name: statement.excluded[name] for name in columns}
    )


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


_RECEIVED_TABLE = _table(ReceivedRecord)
_REVIEW_TABLE = _table(FeedReview)
# xmax is 0 on a row the statement inserted (PostgreSQL's upsert idiom).
_RECEIVED = _upsert(
    _RECEIVED_TABLE,
    "uq_feed_record_source_record_id",
    ("version", "as_of", "outcome", "child_id", "probability", "record"),
).returning(
    _RECEIVED_TABLE.c.id,
    _RECEIVED_TABLE.c.source,
    _RECEIVED_TABLE.c.record_id,
    literal_column("xmax = 0", Boolean),
)
_FIELD_SOURCE = _upsert(
    _table(ChildFieldSource), "pk_child_field_source", ("source", "record_id", "as_of")
)
_REVIEW = _upsert(
    _REVIEW_TABLE,
    "uq_feed_review_feed_record_id",
    ("kind", "local_authority_code", "candidates", "decided_at", "decision", "decided_by"),
)
_IDENTIFIER = insert(_table(ChildSourceIdentifier)).on_conflict_do_nothing(
    constraint="uq_child_source_identifier_kind_value"
)
