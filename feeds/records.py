"""What every national feed says of one child, whatever its source's own shape.

A source's reader (`feeds.sources`) turns each line or row into a `FeedRecord`, or into a
`Rejection` naming the line, the field and the reason. The record keeps the source's own
identifiers and dates, so that linking can use them first and provenance can say which source
said what, in which record, and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final

from db.vocabulary import Gender


class Source(StrEnum):
    """The national sources, by the names the command line takes."""

    BIRTHS = "births"
    SCHOOL_CENSUS = "school-census"
    CHILD_BENEFIT = "child-benefit"
    HEALTH = "health"


class IdentifierKind(StrEnum):
    """A source's own identifier of a child (a child keeps every one it was given)."""

    # The General Register Office's birth entry: district, year and entry number.
    BIRTH_ENTRY = "birth_entry"
    # The Department for Education's unique pupil number (13 characters, a check letter first).
    UPN = "upn"
    # HM Revenue and Customs' child benefit claim reference with the child's number on the claim.
    BENEFIT_CHILD = "benefit_child"
    # The NHS number (10 digits, a modulus-11 check digit last).
    NHS_NUMBER = "nhs_number"


# Identifiers that name one child for life, whoever holds them: one already on a child links an
# incoming record at once. A benefit claim's child number and a birth entry are the source's own
# bookkeeping, kept but never trusted alone to link.
LINKING_IDENTIFIERS: Final = frozenset({IdentifierKind.UPN, IdentifierKind.NHS_NUMBER})


@dataclass(frozen=True, slots=True)
class FeedAddress:
    """Where the source says the child lives, normalised as the import normalises it."""

    lines: tuple[str, ...]
    town: str
    postcode: str
    # Since when the source has the child there (None when the source does not say).
    since: date | None = None


@dataclass(frozen=True, slots=True)
class FeedOrganisation:
    """A school (by its URN) or a GP practice (by its ODS code), with its name and phone."""

    code: str
    name: str
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """One child as one source's record gives it."""

    source: Source
    # The source's id of this record, and its version: a record seen again at the same or an
    # older version changes nothing (re-importing a file is idempotent).
    record_id: str
    version: int
    # The date the source says this version is as of (registration, census, award, update).
    as_of: date
    given_names: str
    family_name: str
    date_of_birth: date
    gender: Gender | None = None
    # A name the child is known by that differs from the legal one (the census's preferred
    # names): searchable, never the record's own name.
    preferred_given_names: str | None = None
    preferred_family_name: str | None = None
    address: FeedAddress | None = None
    identifiers: tuple[tuple[IdentifierKind, str], ...] = ()
    school: FeedOrganisation | None = None
    gp_practice: FeedOrganisation | None = None
    date_of_death: date | None = None
    # Only in generated test feeds (`contactpoint demo-feeds`): which child the line truly is.
    truth: str | None = None

    def identifier(self, kind: IdentifierKind) -> str | None:
        """This record's identifier of `kind`, if it has one."""
        return next((value for k, value in self.identifiers if k == kind), None)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A line that cannot be read: where, which field (as the source names it) and why."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class Parsed:
    """One line of a feed: its number and what it gave."""

    line: int
    record: FeedRecord | None = None
    rejections: tuple[Rejection, ...] = field(default=())
