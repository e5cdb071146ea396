"""Turn a batch of valid lines into rows and COPY them into the loader's TEMP staging tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from psycopg2.extensions import connection as Psycopg2Connection
from sqlalchemy import Connection, text

from db.load.import_line import (
    ImportedAddress,
    ImportedChild,
    ImportedLocalAuthority,
    ImportedOrganisation,
)
from db.load.validation import ValidLine
from db.vocabulary import SENSITIVE_KINDS

_ADDRESS: Final = "line1 text, line2 text, line3 text, line4 text, town text, postcode text"
# Column lists of the staging tables, in the order the rows below are built.
STAGING_TABLES: Final[dict[str, str]] = {
    "stage_child": (
        "seq int, identifier text, given_names text, family_name text, gender text,"
        f" date_of_birth date, {_ADDRESS}, local_authority_code text, education_code text,"
        " gp_practice_code text, status text, source_hash bytea"
    ),
    "stage_local_authority": "code text, name text, team_phone text, team_email text",
    "stage_organisation": (
        f"kind text, code text, name text, phone text, email text, {_ADDRESS},"
        " local_authority_code text, default_local_authority_code text, sensitive boolean"
    ),
    "stage_practitioner": (
        "email text, name text, phone text, job_title text, organisation_kind text,"
        " organisation_code text"
    ),
    "stage_carer": (
        "seq int, position int, name text, relationship text, parental_responsibility boolean,"
        f" phone text, email text, {_ADDRESS}"
    ),
    "stage_involvement": (
        "seq int, position int, organisation_kind text, organisation_code text,"
        " practitioner_email text, start_date date, end_date date, lead_professional boolean,"
        " assessment_completed boolean, sensitive boolean, consent_given_by text,"
        " consent_recorded_by text, consent_recorded_at timestamptz, override_by text,"
        " override_reason text, override_at timestamptz"
    ),
    "stage_shield": "seq int, applied_by text, applied_at timestamptz, reason text",
    "stage_other_name": ("seq int, position int, family_name text, given_names text, kind text"),
    "stage_previous_address": (
        "seq int, position int, postcode text, town text, from_date date, to_date date"
    ),
    # Filled by the child upsert: the children this batch inserted or changed.
    "stage_written": "seq int, child_id bigint, inserted boolean",
}

Row = tuple[Any, ...]
_NONE3: Final = (None, None, None)


@dataclass
class StagedRows:
    """The rows of one batch, one list per staging table (shared records deduplicated)."""

    child: list[Row] = field(default_factory=list)
    carer: list[Row] = field(default_factory=list)
    involvement: list[Row] = field(default_factory=list)
    shield: list[Row] = field(default_factory=list)
    other_name: list[Row] = field(default_factory=list)
    previous_address: list[Row] = field(default_factory=list)
    # Shared by many children: keyed so that the last line of the batch wins.
    local_authority: dict[str, Row] = field(default_factory=dict)
    organisation: dict[tuple[str, str], Row] = field(default_factory=dict)
    practitioner: dict[str, Row] = field(default_factory=dict)

    def tables(self) -> Iterable[tuple[str, Iterable[Row]]]:
        """(staging table, rows); shared records sorted so concurrent loads lock alike."""
        yield "stage_local_authority", (r for _, r in sorted(self.local_authority.items()))
        yield "stage_organisation", (r for _, r in sorted(self.organisation.items()))
        yield "stage_practitioner", (r for _, r in sorted(self.practitioner.items()))
        yield "stage_child", self.child
        yield "stage_carer", self.carer
        yield "stage_involvement", self.involvement
        yield "stage_shield", self.shield
        yield "stage_other_name", self.other_name
        yield "stage_previous_address", self.previous_address


def _address(address: ImportedAddress | None) -> Row:
    if address is None:
        return (None,) * 6
    lines = [*address.lines, None, None, None][:4]
    return (*lines, address.town, address.postcode)


def _add_organisation(
    rows: StagedRows, kind: str, organisation: ImportedOrganisation, child_la: str | None
) -> None:
    rows.organisation[(kind, organisation.code)] = (
        kind,
        organisation.code,
        organisation.name,
        organisation.phone,
        organisation.email,
        *_address(organisation.address),
        organisation.local_authority_code,
        child_la,
        kind in SENSITIVE_KINDS,
    )


def _add_local_authority(rows: StagedRows, authority: ImportedLocalAuthority) -> None:
    rows.local_authority[authority.code] = (
        authority.code,
        authority.name,
        authority.team_phone,
        authority.team_email,
    )


def _add_child(rows: StagedRows, seq: int, record: ImportedChild, digest: bytes) -> None:
    la = record.local_authority.code if record.local_authority is not None else None
    if record.local_authority is not None:
        _add_local_authority(rows, record.local_authority)
    if record.education_setting is not None:
        _add_organisation(rows, "education", record.education_setting, la)
    if record.gp_practice is not None:
        _add_organisation(rows, "gp_practice", record.gp_practice, la)
    rows.child.append(
        (
            seq,
            record.identifier,
            record.given_names,
            record.family_name,
            record.gender,
            record.date_of_birth,
            *_address(record.address),
            la,
            record.education_setting.code if record.education_setting else None,
            record.gp_practice.code if record.gp_practice else None,
            record.status,
            "\\x" + digest.hex(),
        )
    )
    for position, carer in enumerate(record.carers):
        rows.carer.append(
            (
                seq,
                position,
                carer.name,
                carer.relationship,
                carer.parental_responsibility,
                carer.phone,
                carer.email,
                *_address(carer.address),
            )
        )
    for position, involvement in enumerate(record.involvements):
        service = involvement.service
        _add_organisation(rows, service.kind, service, la)
        practitioner = involvement.practitioner
        if practitioner is not None:
            rows.practitioner[practitioner.email] = (
                practitioner.email,
                practitioner.name,
                practitioner.phone,
                practitioner.job_title,
                service.kind,
                service.code,
            )
        consent, override = involvement.consent, involvement.override
        consent_values = (
            (consent.given_by, consent.recorded_by, consent.recorded_at) if consent else _NONE3
        )
        override_values = (override.by, override.reason, override.at) if override else _NONE3
        rows.involvement.append(
            (
                seq,
                position,
                service.kind,
                service.code,
                practitioner.email if practitioner is not None else None,
                involvement.start_date,
                involvement.end_date,
                involvement.lead_professional,
                involvement.assessment_completed,
                involvement.sensitive,
                *consent_values,
                *override_values,
            )
        )
    for position, name in enumerate(record.other_names):
        rows.other_name.append((seq, position, name.family_name, name.given_names, name.kind))
    for position, previous in enumerate(record.previous_addresses):
        rows.previous_address.append(
            (seq, position, previous.postcode, previous.town, previous.from_, previous.to)
        )
    if record.shield is not None:
        shield = record.shield
        rows.shield.append((seq, shield.applied_by, shield.applied_at, shield.reason))


def build_rows(lines: Sequence[ValidLine]) -> StagedRows:
    """The staging rows of `lines`; a line's position in the batch is its `seq`."""
    rows = StagedRows()
    for seq, line in enumerate(lines):
        _add_child(rows, seq, line.record, line.source_hash)
    return rows


def create_staging_tables(conn: Connection) -> None:
    """Create the TEMP staging tables of this connection (emptied at every commit)."""
    for table, columns in STAGING_TABLES.items():
        conn.execute(
            text(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns}) ON COMMIT DELETE ROWS")
        )


def drop_staging_tables(conn: Connection) -> None:
    """Drop the staging tables, so that the pooled connection goes back clean."""
    conn.execute(text(f"DROP TABLE IF EXISTS {', '.join(STAGING_TABLES)}"))


def empty_staging_tables(conn: Connection) -> None:
    """Delete every staged row (between children when a batch is retried one by one)."""
    conn.execute(text("; ".join(f"DELETE FROM {table}" for table in STAGING_TABLES)))


def encode_rows(rows: StagedRows) -> list[tuple[str, str]]:
    """(staging table, CSV text) of every non-empty table: the COPY input, built up front."""
    encoded: list[tuple[str, str]] = []
    for table, table_rows in rows.tables():
        buffer = io.StringIO()
        # Validation leaves no empty strings, so an empty CSV field can only mean NULL.
        csv.writer(buffer, lineterminator="\n").writerows(table_rows)
        if buffer.tell():
            encoded.append((table, buffer.getvalue()))
    return encoded


def copy_rows(conn: Connection, encoded: list[tuple[str, str]]) -> None:
    """COPY the encoded rows in, in the connection's current transaction."""
    driver = cast(Psycopg2Connection, conn.connection.driver_connection)
    with driver.cursor() as cursor:
        for table, data in encoded:
            # One read of the whole buffer rather than 8 kB chunks: fewer trips through the GIL.
            sql = f"COPY {table} FROM STDIN WITH (FORMAT csv)"
            cursor.copy_expert(sql, io.StringIO(data), size=len(data) + 1)
