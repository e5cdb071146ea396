"""The four national feeds' formats, each read line by line into `FeedRecord`s or rejections.

Births, the school census and child benefit are CSV with a header row (UTF-8); health
demographics are JSON Lines of FHIR R4 Patient resources, as the NHS Personal Demographics
Service gives them (`feeds.health`). docs/feeds/<source>.md documents each, with a sample file
in docs/feeds/samples/ that the tests read.
"""

from __future__ import annotations

import csv
import io
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from db.load.import_line import PersonName, Phone, Postcode, Text60, Text100, Text200
from feeds.checks import BirthDayText, BirthEntry, ClaimReference, PastDayText, Upn, Urn
from feeds.records import (
    FeedAddress,
    FeedOrganisation,
    FeedRecord,
    IdentifierKind,
    Parsed,
    Rejection,
    Source,
)

# Longer lines are refused before parsing (a CSV row of this format is well under 2 KB).
MAX_LINE_CHARACTERS: Final = 20_000
_SEXES: Final = {
    "m": "male",
    "male": "male",
    "1": "male",
    "f": "female",
    "female": "female",
    "2": "female",
    "i": "other",
    "x": "other",
    "u": "unknown",
    "0": "unknown",
    "9": "unknown",
}


def _sex(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in _SEXES:
        return _SEXES[value.strip().lower()]
    raise ValueError("is not a sex code: M, F, I, U (or 1, 2, 0, 9)")


def _whole_number(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
        if 1 <= number <= 1_000_000_000:
            return number
    raise ValueError("is not a whole number from 1")


Sex = Annotated[str, BeforeValidator(_sex)]
Version = Annotated[int, BeforeValidator(_whole_number)]


class _Row(BaseModel, ABC):
    """A CSV row: every column a string, an empty cell the same as a missing one."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    columns: ClassVar[tuple[str, ...]]
    required: ClassVar[tuple[str, ...]]

    truth: Text60 | None = None

    @classmethod
    def from_cells(cls, cells: dict[str, str], today: date) -> _Row:
        present = {key: value for key, value in cells.items() if value.strip()}
        return cls.model_validate(present, context={"today": today})

    @abstractmethod
    def record(self) -> FeedRecord:
        """The record this row gives."""

    @staticmethod
    def _address(
        lines: Iterable[str | None], town: str | None, postcode: str | None, since: date | None
    ) -> FeedAddress | None:
        kept = tuple(line for line in lines if line)
        if not kept or town is None or postcode is None:
            return None
        return FeedAddress(lines=kept, town=town, postcode=postcode, since=since)


class BirthRow(_Row):
    """One birth registration entry (docs/feeds/births.md)."""

    columns = (
        "entry",
        "version",
        "registered_on",
        "forenames",
        "surname",
        "sex",
        "date_of_birth",
        "address_line_1",
        "address_line_2",
        "town",
        "postcode",
        "truth",
    )
    required = ("entry", "version", "registered_on", "forenames", "surname", "sex", "date_of_birth")

    entry: BirthEntry
    version: Version
    registered_on: PastDayText
    forenames: PersonName
    surname: PersonName
    sex: Sex
    date_of_birth: BirthDayText
    address_line_1: Text100 | None = None
    address_line_2: Text100 | None = None
    town: Text60 | None = None
    postcode: Postcode | None = None

    def record(self) -> FeedRecord:
        return FeedRecord(
            source=Source.BIRTHS,
            record_id=self.entry,
            version=self.version,
            as_of=self.registered_on,
            given_names=self.forenames,
            family_name=self.surname,
            date_of_birth=self.date_of_birth,
            gender=self.sex,  # type: ignore[arg-type]
            # The usual address of the mother when registered: as of then, never since when.
            address=self._address(
                (self.address_line_1, self.address_line_2), self.town, self.postcode, None
            ),
            identifiers=((IdentifierKind.BIRTH_ENTRY, self.entry),),
            truth=self.truth,
        )


class SchoolCensusRow(_Row):
    """One pupil of one school on one census day (docs/feeds/school-census.md)."""

    columns = (
        "upn",
        "school_urn",
        "census_date",
        "legal_surname",
        "forename",
        "preferred_surname",
        "preferred_forename",
        "gender",
        "date_of_birth",
        "address_line_1",
        "address_line_2",
        "town",
        "postcode",
        "school_name",
        "school_phone",
        "truth",
    )
    required = (
        "upn",
        "school_urn",
        "census_date",
        "legal_surname",
        "forename",
        "gender",
        "date_of_birth",
        "school_name",
    )

    upn: Upn
    school_urn: Urn
    census_date: PastDayText
    legal_surname: PersonName
    forename: PersonName
    preferred_surname: PersonName | None = None
    preferred_forename: PersonName | None = None
    gender: Sex
    date_of_birth: BirthDayText
    address_line_1: Text100 | None = None
    address_line_2: Text100 | None = None
    town: Text60 | None = None
    postcode: Postcode | None = None
    school_name: Text200
    school_phone: Phone | None = None

    def record(self) -> FeedRecord:
        return FeedRecord(
            source=Source.SCHOOL_CENSUS,
            # A pupil registered at two schools is two rows, one per school.
            record_id=f"{self.school_urn}/{self.upn}",
            # Each census supersedes the last: its date is the version (20260115).
            version=int(self.census_date.strftime("%Y%m%d")),
            as_of=self.census_date,
            given_names=self.forename,
            family_name=self.legal_surname,
            preferred_given_names=(
                self.preferred_forename if self.preferred_forename != self.forename else None
            ),
            preferred_family_name=(
                self.preferred_surname if self.preferred_surname != self.legal_surname else None
            ),
            date_of_birth=self.date_of_birth,
            gender=self.gender,  # type: ignore[arg-type]
            address=self._address(
                (self.address_line_1, self.address_line_2), self.town, self.postcode, None
            ),
            identifiers=((IdentifierKind.UPN, self.upn),),
            school=FeedOrganisation(
                code=self.school_urn, name=self.school_name, phone=self.school_phone
            ),
            truth=self.truth,
        )


class ChildBenefitRow(_Row):
    """One child on one child benefit claim (docs/feeds/child-benefit.md)."""

    columns = (
        "claim_reference",
        "child_number",
        "version",
        "updated_on",
        "child_forenames",
        "child_surname",
        "child_sex",
        "child_date_of_birth",
        "address_line_1",
        "address_line_2",
        "town",
        "postcode",
        "address_since",
        "truth",
    )
    required = (
        "claim_reference",
        "child_number",
        "version",
        "updated_on",
        "child_forenames",
        "child_surname",
        "child_date_of_birth",
        "address_line_1",
        "town",
        "postcode",
    )

    claim_reference: ClaimReference
    child_number: Version
    version: Version
    updated_on: PastDayText
    child_forenames: PersonName
    child_surname: PersonName
    child_sex: Sex | None = None
    child_date_of_birth: BirthDayText
    address_line_1: Text100
    address_line_2: Text100 | None = None
    town: Text60
    postcode: Postcode
    address_since: PastDayText | None = None

    def record(self) -> FeedRecord:
        reference = f"{self.claim_reference}/{self.child_number}"
        return FeedRecord(
            source=Source.CHILD_BENEFIT,
            record_id=reference,
            version=self.version,
            as_of=self.updated_on,
            given_names=self.child_forenames,
            family_name=self.child_surname,
            date_of_birth=self.child_date_of_birth,
            gender=self.child_sex,  # type: ignore[arg-type]
            address=self._address(
                (self.address_line_1, self.address_line_2),
                self.town,
                self.postcode,
                self.address_since,
            ),
            identifiers=((IdentifierKind.BENEFIT_CHILD, reference),),
            truth=self.truth,
        )


CSV_ROWS: Final[dict[Source, type[_Row]]] = {
    Source.BIRTHS: BirthRow,
    Source.SCHOOL_CENSUS: SchoolCensusRow,
    Source.CHILD_BENEFIT: ChildBenefitRow,
}


def rejections_of(line: int, error: ValidationError) -> tuple[Rejection, ...]:
    """One rejection per problem, naming the field as the source names it."""
    found = []
    for problem in error.errors(include_url=False):
        location = ".".join(str(part) for part in problem["loc"]) or "(line)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "is required"
        elif problem["type"] == "extra_forbidden":
            message = "is not a column of this feed"
        found.append(Rejection(line=line, field=location, reason=message))
    return tuple(found)


def _header_problems(source: Source, header: list[str]) -> tuple[Rejection, ...]:
    row = CSV_ROWS[source]
    seen = [name.strip() for name in header]
    problems = [
        Rejection(line=1, field=name, reason="is not a column of this feed")
        for name in seen
        if name not in row.columns
    ]
    problems += [
        Rejection(line=1, field=name, reason="is a required column, missing from the header")
        for name in row.required
        if name not in seen
    ]
    duplicated = sorted({name for name in seen if seen.count(name) > 1})
    problems += [Rejection(line=1, field=name, reason="appears twice") for name in duplicated]
    return tuple(problems)


def read_csv(source: Source, text: io.TextIOBase, *, today: date) -> Iterator[Parsed]:
    """Each row of a CSV feed; a bad header rejects the file at line 1 and reads nothing."""
    row_model = CSV_ROWS[source]
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield Parsed(line=1, rejections=(Rejection(1, "(header)", f"is not CSV: {exc}"),))
        return
    header_problems = _header_problems(source, header)
    if header_problems:
        yield Parsed(line=1, rejections=header_problems)
        return
    names = [name.strip() for name in header]
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A broken quote swallows the rest: the file cannot be read on from here.
            line = reader.line_num
            yield Parsed(line=line, rejections=(Rejection(line, "(line)", f"is not CSV: {exc}"),))
            return
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(names):
            reason = f"has {len(cells)} cells where the header has {len(names)}"
            yield Parsed(line=line, rejections=(Rejection(line, "(line)", reason),))
            continue
        if sum(len(cell) for cell in cells) > MAX_LINE_CHARACTERS:
            reason = f"is longer than {MAX_LINE_CHARACTERS} characters"
            yield Parsed(line=line, rejections=(Rejection(line, "(line)", reason),))
            continue
        try:
            row = row_model.from_cells(dict(zip(names, cells, strict=True)), today)
        except ValidationError as exc:
            yield Parsed(line=line, rejections=rejections_of(line, exc))
            continue
        yield Parsed(line=line, record=row.record())


def read_feed(source: Source, path: Path, *, today: date | None = None) -> Iterator[Parsed]:
    """Every line of the feed file at `path`, read as `source`'s format."""
    when = today or date.today()
    # newline="" as the csv module asks; a byte that is not UTF-8 is a rejection, not a crash.
    with path.open(encoding="utf-8", errors="strict", newline="") as handle:
        try:
            if source is Source.HEALTH:
                from feeds.health import read_health

                yield from read_health(handle, today=when)
            else:
                yield from read_csv(source, handle, today=when)
        except UnicodeDecodeError as exc:
            yield Parsed(line=0, rejections=(Rejection(0, "(file)", f"is not UTF-8: {exc}"),))
