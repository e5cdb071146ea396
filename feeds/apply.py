"""Write a decision: the child linked or created, its identifiers, fields and their sources, the
record seen, and the review item. Every write to a child reaches the index through the outbox
triggers (migration 0002), as any other program's would.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import Boolean, delete, literal_column, select
from sqlalchemy.dialects.postgresql import insert
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


class Writer:
    """Applies decisions in one session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # The organisations this writer has read or made, by kind and code (one read each).
        self._organisations_seen: dict[tuple[str, str], Organisation] = {}

    def apply(self, record: FeedRecord, decision: Decision) -> Child | None:
        """Write `decision` for `record`; the child it linked or created, if any."""
        child: Child | None = None
        if decision.outcome is Outcome.LINKED:
            # Locked: a manager's correction (or a CMS's change) made meanwhile is read, not lost.
            child = self.session.scalars(
                select(Child).where(Child.identifier == decision.identifier).with_for_update()
            ).one()
            self._update(child, record)
        elif decision.outcome is Outcome.CREATED:
            child = self._create(record)
        if child is not None:
            self._identifiers(child, record)
        received, inserted = self._received(record, decision, child)
        if decision.outcome in (Outcome.REVIEW, Outcome.HELD):
            self._review(received, decision)
        elif not inserted:
            # Decided now: an item a person had not decided yet is no longer needed.
            self.session.execute(
                delete(FeedReview).where(
                    FeedReview.feed_record_id == received, FeedReview.decided_at.is_(None)
                )
            )
        return child

    def _received(
        self, record: FeedRecord, decision: Decision, child: Child | None
    ) -> tuple[int, bool]:
        """The record seen's row id, and whether it was seen now for the first time."""
        received, inserted = self.session.execute(
            _RECEIVED,
            {
                "source": record.source.value,
                "record_id": record.record_id,
                "version": record.version,
                "as_of": record.as_of,
                "outcome": decision.outcome.value,
                "child_id": child.id if child is not None else None,
                "probability": decision.probability,
                "record": record_json(record),
            },
        ).one()
        return int(received), bool(inserted)

    def _review(self, received: int, decision: Decision) -> None:
        held = decision.outcome is Outcome.HELD
        # A review item goes to the general queue of an authority: a shielded child among its
        # candidates (below the hold) is left out, so that no queue shows one to those who may
        # not see it. A hold goes to the shielded child's own authority, with it.
        candidates = [c for c in decision.candidates if held or not c.shielded]
        self.session.execute(
            _REVIEW,
            {
                "feed_record_id": received,
                "kind": "shield_hold" if held else "review",
                "local_authority_code": decision.authority,
                "candidates": [candidate.as_json() for candidate in candidates],
                "decided_at": None,
                "decision": None,
                "decided_by": None,
            },
        )

    def _identifiers(self, child: Child, record: FeedRecord) -> None:
        if record.identifiers:
            self.session.execute(
                _IDENTIFIER,
                [
                    {
                        "child_id": child.id,
                        "kind": kind.value,
                        "value": value,
                        "source": record.source.value,
                    }
                    for kind, value in record.identifiers
                ],
            )

    def _create(self, record: FeedRecord) -> Child:
        address = record.address
        assert address is not None  # `can_create`
        child = Child(
            identifier=new_identifier(self.session),
            given_names=record.given_names,
            family_name=record.family_name,
            gender=record.gender or "unknown",
            date_of_birth=record.date_of_birth,
            address_lines=list(address.lines),
            town=address.town,
            postcode=address.postcode,
            status="archived" if record.date_of_death is not None else "active",
        )
        self.session.add(child)
        self.session.flush()
        for name in ("name", "gender", "address"):
            self._source(child, name, record)
        self._organisations(child, record, {})
        if record.date_of_death is not None:
            self._source(child, "status", record)
        return child

    def _update(self, child: Child, record: FeedRecord) -> None:
        sources = {
            row.field: row
            for row in self.session.scalars(
                select(ChildFieldSource).where(ChildFieldSource.child_id == child.id)
            )
        }

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
            self._source(child, "name", record)
        if record.gender and allowed("gender", empty=child.gender == "unknown"):
            if child.gender != record.gender:
                child.gender = record.gender
                self._source(child, "gender", record)
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
            self._source(child, "address", record)
        self._organisations(child, record, sources)
        if record.date_of_death is not None and child.status != "archived":
            # A death archives the child at once, whatever else the authority recorded.
            child.status = "archived"
            self._source(child, "status", record)

    def _organisations(
        self, child: Child, record: FeedRecord, sources: dict[str, ChildFieldSource]
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
                self._source(child, name, record)

    def _organisation(self, kind: str, given: FeedOrganisation) -> Organisation:
        found = self._organisations_seen.get((kind, given.code))
        if found is None:
            found = self.session.scalars(
                select(Organisation).where(
                    Organisation.kind == kind, Organisation.code == given.code
                )
            ).one_or_none()
        if found is None:
            found = Organisation(kind=kind, code=given.code, name=given.name, phone=given.phone)
            self.session.add(found)
            self.session.flush()
        elif (found.name, found.phone) != (given.name, given.phone or found.phone):
            # The source that runs the organisation's register says its name and phone.
            found.name, found.phone = given.name, given.phone or found.phone
        self._organisations_seen[(kind, given.code)] = found
        return found

    def _source(self, child: Child, name: str, record: FeedRecord) -> None:
        self.session.execute(
            _FIELD_SOURCE,
            {
                "child_id": child.id,
                "field": name,
                "source": record.source.value,
                "record_id": record.record_id,
                "as_of": as_of(record, name),
            },
        )


def _upsert(table: Any, constraint: str, columns: tuple[str, ...]) -> Any:
    """An insert that, on a conflict at `constraint`, sets `columns` to the values it was given:
    one statement for every row (compiled once), the values passed when it is executed."""
    statement = insert(table)
    return statement.on_conflict_do_update(
        constraint=constraint, set_={name: statement.excluded[name] for name in columns}
    )


# xmax is 0 on a row the statement inserted (PostgreSQL's upsert idiom).
_RECEIVED = _upsert(
    ReceivedRecord,
    "uq_feed_record_source_record_id",
    ("version", "as_of", "outcome", "child_id", "probability", "record"),
).returning(ReceivedRecord.id, literal_column("xmax = 0", Boolean))
_FIELD_SOURCE = _upsert(ChildFieldSource, "pk_child_field_source", ("source", "record_id", "as_of"))
_REVIEW = _upsert(
    FeedReview,
    "uq_feed_review_feed_record_id",
    ("kind", "local_authority_code", "candidates", "decided_at", "decision", "decided_by"),
)
_IDENTIFIER = insert(ChildSourceIdentifier).on_conflict_do_nothing(
    constraint="uq_child_source_identifier_kind_value"
)
