"""Which local authority a postcode lies in: the lookup a move between areas uses, and its load.

The table holds full postcodes and postcode districts (outward codes). A full postcode's row
wins over its district's, because a district can straddle two authorities; a postcode that
neither names has no known authority, and the child stays with its own.

The source is the ONS Postcode Directory (ONSPD, open data): its CSV's `pcds` (the postcode)
and `oslaua` (the local authority's ONS code) columns. A two-column file (`postcode`,
`local_authority_code`), whose postcodes may be districts, is read too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.errors import InvalidInput
from db.models import LocalAuthority, PostcodeAuthority
from mappings.postcodes import normalise_outward_code, normalise_postcode

_COLUMNS: Final = (("pcds", "oslaua"), ("postcode", "local_authority_code"))
_BATCH: Final = 5_000


def authority_of_postcode(*, session: Session, postcode: str) -> str | None:
    """The code of the authority the postcode lies in (its own row, else its district's)."""
    full = normalise_postcode(postcode)
    if full is None:
        return None
    district = full.split(" ")[0]
    statement = select(PostcodeAuthority).where(PostcodeAuthority.postcode.in_([full, district]))
    rows = {row.postcode: row.local_authority_code for row in session.scalars(statement)}
    return rows.get(full) or rows.get(district)


@dataclass(frozen=True, slots=True)
class PostcodeLoad:
    """What a load did: rows written, and rows skipped (no authority known, or not a postcode)."""

    written: int
    skipped_unknown_authority: int
    skipped_not_a_postcode: int


def _rows(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = set(reader.fieldnames or ())
        columns = next((pair for pair in _COLUMNS if set(pair) <= header), None)
        if columns is None:
            raise InvalidInput(
                f"{path.name}: expected the ONSPD's pcds and oslaua columns, or postcode and "
                "local_authority_code."
            )
        postcode, authority = columns
        for row in reader:
            yield (row[postcode] or "").strip(), (row[authority] or "").strip()


def _normalised(text: str) -> str | None:
    return normalise_postcode(text) or normalise_outward_code(text)


def load_postcode_authorities(
    *, session: Session, rows: Iterable[tuple[str, str]], replace: bool = False
) -> PostcodeLoad:
    """Upsert (postcode or district, authority code) rows; with `replace`, the table is
    emptied first, in the same transaction (a refresh never leaves it half-empty)."""
    known = set(session.scalars(select(LocalAuthority.code)))
    if replace:
        session.execute(delete(PostcodeAuthority))
    written = unknown = invalid = 0
    batch: dict[str, str] = {}

    def flush() -> None:
        if batch:
            statement = insert(PostcodeAuthority).values(
                [{"postcode": p, "local_authority_code": c} for p, c in batch.items()]
            )
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["postcode"],
                    set_={"local_authority_code": statement.excluded.local_authority_code},
                )
            )
            batch.clear()

    for text, code in rows:
        postcode = _normalised(text)
        if postcode is None:
            invalid += 1
        elif code not in known:
            # ONSPD covers the UK; only England's authorities are ContactPoint's.
            unknown += 1
        else:
            batch[postcode] = code
            written += 1
            if len(batch) >= _BATCH:
                flush()
    flush()
    return PostcodeLoad(written, unknown, invalid)


def load_postcode_file(*, session: Session, path: Path, replace: bool = False) -> PostcodeLoad:
    """Load an ONSPD CSV (or a two-column one) into the table."""
    return load_postcode_authorities(session=session, rows=_rows(path), replace=replace)
