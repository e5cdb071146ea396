"""Turn a database error about one child into the field and reason of its rejection."""

from __future__ import annotations

from typing import Final

import psycopg2
from sqlalchemy.exc import DBAPIError

from db.load.import_line import ImportedChild

# SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation): the data is
# wrong, so the child is rejected. Anything else (connection lost, ...) aborts the load.
_DATA_ERROR_CLASSES: Final = ("22", "23")
# SQLSTATE class 40 (deadlock, serialization failure): the batch may succeed when retried.
RETRYABLE_CLASS: Final = "40"

_CONSTRAINT_FIELDS: Final[dict[str, str]] = {
    "ck_child_identifier": "identifier",
    "ck_child_given_names": "given_names",
    "ck_child_family_name": "family_name",
    "ck_child_gender": "gender",
    "ck_child_date_of_birth": "date_of_birth",
    "ck_child_address_lines": "address.lines",
    "ck_child_town": "address.town",
    "ck_child_postcode": "address.postcode",
    "ck_child_status": "status",
    "fk_child_local_authority_code": "local_authority.code",
    "ck_local_authority_code": "local_authority.code",
    "ck_local_authority_name": "local_authority.name",
    "ck_local_authority_team_phone": "local_authority.team_phone",
    "ck_local_authority_team_email": "local_authority.team_email",
    "uq_involvement_current_lead": "involvements",
    "ck_involvement_dates": "involvements",
    "ck_shield_applied_by": "shield.applied_by",
    "ck_shield_reason": "shield.reason",
    "ck_other_name_family_name": "other_names",
    "ck_other_name_given_names": "other_names",
    "ck_other_name_kind": "other_names",
    "ck_previous_address_postcode": "previous_addresses",
    "ck_previous_address_town": "previous_addresses",
    "ck_previous_address_dates": "previous_addresses",
}
DATABASE_FIELD: Final = "(database)"


def _driver_error(exc: BaseException) -> psycopg2.Error | None:
    if isinstance(exc, DBAPIError):
        exc = exc.orig if exc.orig is not None else exc
    return exc if isinstance(exc, psycopg2.Error) else None


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL error (raw or wrapped by SQLAlchemy), else None."""
    error = _driver_error(exc)
    return error.pgcode if error is not None else None


def is_data_error(exc: BaseException) -> bool:
    """Whether the error is about the data written (and the child can be rejected)."""
    code = sqlstate(exc)
    return code is not None and code[:2] in _DATA_ERROR_CLASSES


def _unknown_authority_field(record: ImportedChild) -> str:
    """The organisation of the line that names a local authority of its own."""
    known = record.local_authority.code if record.local_authority is not None else None
    candidates = [
        ("education_setting", record.education_setting),
        ("gp_practice", record.gp_practice),
        *((f"involvements[{i}].service", inv.service) for i, inv in enumerate(record.involvements)),
    ]
    for path, organisation in candidates:
        code = organisation.local_authority_code if organisation is not None else None
        if code is not None and code != known:
            return f"{path}.local_authority_code"
    return "local_authority_code"


def describe(exc: BaseException, record: ImportedChild) -> tuple[str, str]:
    """(field, reason) of a data error raised while writing `record`; no personal data."""
    error = _driver_error(exc)
    diag = error.diag if error is not None else None
    constraint = diag.constraint_name if diag is not None else None
    # The primary message names the table and constraint; the detail would hold the values.
    message = (diag.message_primary if diag is not None else None) or type(exc).__name__
    reason = f"rejected by the database: {message}"
    if constraint == "fk_organisation_local_authority_code":
        return (
            _unknown_authority_field(record),
            "names a local authority that is not known (no line has given it as "
            "a child's local_authority)",
        )
    if constraint == "ck_child_merged_into":
        return (
            "identifier",
            "names a child merged into another: load the line under the survivor's identifier",
        )
    if constraint is None:
        return DATABASE_FIELD, reason
    return _CONSTRAINT_FIELDS.get(constraint, DATABASE_FIELD), reason
