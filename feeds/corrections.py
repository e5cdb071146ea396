"""A newer feed record that would change a field a manager corrected: queued for the managers
of the child's authority (db/corrections.py), never applied by the feed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from db.corrections import CorrectedField, queue_confirmation
from db.models import Child
from feeds.records import FeedRecord
from feeds.survivorship import as_of


def proposed_value(record: FeedRecord, field: CorrectedField) -> dict[str, Any] | None:
    """The record's value of a corrected field, as the queue stores it (None: it has none)."""
    if field is CorrectedField.NAME:
        return {"given_names": record.given_names, "family_name": record.family_name}
    if field is CorrectedField.ADDRESS and record.address is not None:
        address = record.address
        return {"lines": list(address.lines), "town": address.town, "postcode": address.postcode}
    # The feeds never change a date of birth (feeds/apply.py).
    return None


def challenge_correction(session: Session, child: Child, record: FeedRecord, field: str) -> None:
    """Queue the record's change to the corrected `field` (nothing when it changes nothing)."""
    corrected = CorrectedField(field)
    value = proposed_value(record, corrected)
    if value is None:
        return
    queue_confirmation(
        session=session,
        child=child,
        field=corrected,
        value=value,
        source=record.source.value,
        record_id=record.record_id,
        as_of=as_of(record, field),
    )
