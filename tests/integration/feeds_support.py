"""Helpers of the feeds' integration tests: an import as the command runs it, census rows."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from db.ranker import load_ranker
from feeds import Source
from feeds.importer import ImportResult, import_feed
from feeds.linking import Thresholds
from tests.integration.search_support import Kid, Population

TODAY = date(2026, 12, 2)
THRESHOLDS = Thresholds(link=0.99, review=0.2, hold=0.01)
CENSUS_HEADER = (
    "upn,school_urn,census_date,legal_surname,forename,preferred_surname,preferred_forename,"
    "gender,date_of_birth,address_line_1,address_line_2,town,postcode,school_name,school_phone\n"
)


def import_file(
    population: Population, source: Source, path: Path, *, batch_size: int = 2
) -> ImportResult:
    """Import one feed file as `contactpoint feed import` does, then bring the index up."""
    ranker = load_ranker(None)
    ranker.refresh(sessionmaker(population.engine))
    result = import_feed(
        engine=population.engine,
        es=population.es,
        alias=population.settings.index_alias,
        source=source,
        path=path,
        model=ranker.model,
        thresholds=THRESHOLDS,
        batch_size=batch_size,
        today=TODAY,
    )
    population.sync()
    return result


def rows(population: Population, sql: str, **params: Any) -> list[Any]:
    with population.engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def shielded_kid(population: Population, *, skip: int = 0) -> Kid:
    """A shielded child whom no other child shares name and date of birth with."""
    kids = population.unique(
        lambda k: (k.given_names, k.family_name, k.date_of_birth),
        where=lambda k: k.shielded and k.status == "active",
    )
    assert len(kids) > skip, "too few shielded children in the demo data"
    return kids[skip]


def census_row(
    kid: Kid, upn: str, *, postcode: str | None = None, forename: str | None = None
) -> str:
    """A school census row of `kid` (another postcode or forename if given)."""
    cells = [
        upn,
        "100001",
        "2026-10-01",
        kid.family_name,
        forename or kid.given_names.split()[0],
        "",
        "",
        kid.gender[0].upper(),
        kid.date_of_birth.isoformat(),
        kid.address_lines[0],
        "",
        kid.town,
        postcode or kid.postcode,
        "A School",
        "",
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()
