"""Which source a child's field may come from, and when a newer record replaces it.

The trust order, per field (docs/feeds/README.md says the same):

| field | from | replaced when |
|---|---|---|
| name | births, health | a newer record of either (a re-registration, a change PDS holds) |
| gender | births, health, school census, child benefit | only while unknown |
| address | health, child benefit, school census | a newer address (its `since`, else the date) |
| school | school census only | a newer census |
| GP practice | health only | a newer health record |
| archived | health (a date of death) | always: a death archives the child |

What the authority recorded itself (the import, its case-management system) is a correction
above every feed: a field that no feed set (no `child_field_source` row) is never replaced by
one, but an empty school or GP practice, or an unknown gender, is filled.

A manager's correction (a name, a date of birth, an address; db/corrections.py) is the field's
source as of the day it was made: no record replaces it. An older or same-dated record is
ignored; a newer record of a source trusted for the field that changes it waits for a manager
of the child's authority to confirm or reject (`challenges_correction`).
"""

from __future__ import annotations

from datetime import date
from typing import Final

from feeds.records import FeedRecord, Source

SOURCES: Final[dict[str, tuple[Source, ...]]] = {
    "name": (Source.BIRTHS, Source.HEALTH),
    "gender": (Source.BIRTHS, Source.HEALTH, Source.SCHOOL_CENSUS, Source.CHILD_BENEFIT),
    "address": (Source.HEALTH, Source.CHILD_BENEFIT, Source.SCHOOL_CENSUS),
    "education_setting": (Source.SCHOOL_CENSUS,),
    "gp_practice": (Source.HEALTH,),
    "status": (Source.HEALTH,),
}


# The source of a field a manager corrected (`child_field_source.source`).
CORRECTION: Final = "correction"


def as_of(record: FeedRecord, field: str) -> date:
    """The date the record's value of `field` is as of."""
    if field == "address" and record.address is not None and record.address.since is not None:
        return record.address.since
    return record.as_of


def may_set(record: FeedRecord, field: str, *, set_as_of: date | None, empty: bool) -> bool:
    """Whether `record` sets `field`, now set by a feed as of `set_as_of` (None: by no feed)
    and `empty` when the child has no value of it."""
    if record.source not in SOURCES[field]:
        return False
    if field == "gender" or set_as_of is None:
        # The authority's own value stands (and a known gender); an empty one is filled.
        return empty
    return as_of(record, field) >= set_as_of


def challenges_correction(record: FeedRecord, field: str, *, corrected_as_of: date) -> bool:
    """Whether `record` asks a manager to replace their correction of `field` (made as of
    `corrected_as_of`): only a newer record of a source trusted for the field does."""
    return record.source in SOURCES.get(field, ()) and as_of(record, field) > corrected_as_of
