"""The schema itself rejects bad data, whichever program writes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

_CHILD = {
    "identifier": "9434765919",
    "given_names": "Zoë Mae",
    "family_name": "O'Brien-Smith",
    "gender": "female",
    "date_of_birth": "2019-03-14",
    "address_lines": ["12 Mill Lane"],
    "town": "Leeds",
    "postcode": "LS6 2AB",
}


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection of the application role in a transaction that is rolled back."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


def _insert_child(conn: Connection, **changes: Any) -> int:
    values = {**_CHILD, **changes}
    columns = ", ".join(values)
    params = ", ".join(f":{key}" for key in values)
    sql = f"INSERT INTO child ({columns}) VALUES ({params}) RETURNING id"
    return int(conn.execute(text(sql), values).scalar_one())


def _organisation(conn: Connection, kind: str = "health_visiting", code: str = "HV-1") -> int:
    sql = "INSERT INTO organisation (kind, code, name) VALUES (:kind, :code, 'A service')"
    sql += " RETURNING id"
    return int(conn.execute(text(sql), {"kind": kind, "code": code}).scalar_one())


def _violated(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> str | None:
    """The constraint that rejects `sql` (rolled back to a savepoint), or None if it passes."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(text(sql), params or {})
    except IntegrityError as exc:
        savepoint.rollback()
        return str(getattr(getattr(exc.orig, "diag", None), "constraint_name", None))
    savepoint.rollback()
    return None


@pytest.mark.parametrize(
    ("changes", "constraint"),
    [
        ({"postcode": "XX1"}, "ck_child_postcode"),
        ({"postcode": "ls6 2ab"}, "ck_child_postcode"),
        ({"identifier": "9434765918"}, "ck_child_identifier"),
        ({"identifier": "94347659"}, "ck_child_identifier"),
        ({"gender": "bloke"}, "ck_child_gender"),
        ({"date_of_birth": "1989-12-31"}, "ck_child_date_of_birth"),
        ({"address_lines": []}, "ck_child_address_lines"),
        ({"address_lines": ["1 Road", " "]}, "ck_child_address_lines"),
        ({"address_lines": ["a", "b", "c", "d", "e"]}, "ck_child_address_lines"),
        ({"given_names": " Zoë"}, "ck_child_given_names"),
        ({"family_name": ""}, "ck_child_family_name"),
        ({"status": "deleted"}, "ck_child_status"),
        ({"local_authority_code": "E08999999"}, "fk_child_local_authority_code"),
    ],
    ids=[
        "bad-postcode",
        "unnormalised-postcode",
        "bad-check-digit",
        "short-identifier",
        "bad-gender",
        "absurd-birth-date",
        "no-address-lines",
        "blank-address-line",
        "five-address-lines",
        "untrimmed-name",
        "empty-family-name",
        "unknown-status",
        "unknown-local-authority",
    ],
)
def test_the_database_rejects_a_bad_child(
    conn: Connection, changes: dict[str, Any], constraint: str
) -> None:
    values = {**_CHILD, **changes}
    columns = ", ".join(values)
    params = ", ".join(f":{key}" for key in values)
    assert _violated(conn, f"INSERT INTO child ({columns}) VALUES ({params})", values) == constraint


def test_the_database_accepts_a_good_child(conn: Connection) -> None:
    child_id = _insert_child(conn)
    row = conn.execute(
        text("SELECT record_version, status FROM child WHERE id = :id"), {"id": child_id}
    ).one()
    assert tuple(row) == (1, "active")


def test_the_database_rejects_a_second_child_with_the_same_identifier(conn: Connection) -> None:
    _insert_child(conn)
    sql = "INSERT INTO child (identifier, given_names, family_name, gender, date_of_birth, "
    sql += "address_lines, town, postcode) SELECT identifier, given_names, family_name, gender, "
    sql += "date_of_birth, address_lines, town, postcode FROM child"
    assert _violated(conn, sql) == "uq_child_identifier"


def test_the_database_rejects_a_second_active_shield(conn: Connection) -> None:
    child_id = _insert_child(conn)
    shield = "INSERT INTO shield (child_id, applied_by, reason) VALUES (:id, 'LA team', 'risk')"
    assert _violated(conn, shield, {"id": child_id}) is None
    conn.execute(text(shield), {"id": child_id})
    assert _violated(conn, shield, {"id": child_id}) == "uq_shield_active"


def test_a_removed_shield_is_kept_and_another_can_be_applied(conn: Connection) -> None:
    child_id = _insert_child(conn)
    conn.execute(
        text("INSERT INTO shield (child_id, applied_by, reason) VALUES (:id, 'LA', 'risk')"),
        {"id": child_id},
    )
    half_removal = "UPDATE shield SET removed_at = now() WHERE child_id = :id"
    assert _violated(conn, half_removal, {"id": child_id}) == "ck_shield_removal"
    conn.execute(
        text(
            "UPDATE shield SET removed_by = 'LA manager', removed_at = now(), "
            "removal_reason = 'reviewed' WHERE child_id = :id"
        ),
        {"id": child_id},
    )
    again = "INSERT INTO shield (child_id, applied_by, reason) VALUES (:id, 'LA', 'new risk')"
    assert _violated(conn, again, {"id": child_id}) is None
    rewrite = "UPDATE shield SET reason = 'other' WHERE removed_at IS NOT NULL AND child_id = :id"
    assert _violated(conn, rewrite, {"id": child_id}) == "tg_shield_history"


def test_the_application_role_cannot_delete_a_shield(conn: Connection) -> None:
    child_id = _insert_child(conn)
    conn.execute(
        text("INSERT INTO shield (child_id, applied_by, reason) VALUES (:id, 'LA', 'risk')"),
        {"id": child_id},
    )
    savepoint = conn.begin_nested()
    with pytest.raises(DBAPIError, match="permission denied"):
        conn.execute(text("DELETE FROM shield WHERE child_id = :id"), {"id": child_id})
    savepoint.rollback()
    # Deleting the child still removes its shields (ON DELETE CASCADE runs as the owner).
    conn.execute(text("DELETE FROM child WHERE id = :id"), {"id": child_id})
    left = conn.execute(text("SELECT count(*) FROM shield WHERE child_id = :id"), {"id": child_id})
    assert left.scalar_one() == 0


def test_the_database_rejects_an_involvement_that_ends_before_it_starts(conn: Connection) -> None:
    params = {"child": _insert_child(conn), "org": _organisation(conn)}
    sql = (
        "INSERT INTO involvement (child_id, position, organisation_id, start_date, end_date) "
        "VALUES (:child, 0, :org, '2024-05-01', '2024-04-30')"
    )
    assert _violated(conn, sql, params) == "ck_involvement_dates"


def test_the_database_rejects_two_current_lead_professionals(conn: Connection) -> None:
    params = {"child": _insert_child(conn), "org": _organisation(conn)}
    lead = (
        "INSERT INTO involvement (child_id, position, organisation_id, start_date, "
        "end_date, lead_professional) VALUES (:child, :position, :org, '2024-01-01', :end, true)"
    )
    conn.execute(text(lead), {**params, "position": 0, "end": None})
    assert _violated(conn, lead, {**params, "position": 1, "end": "2024-06-01"}) is None
    assert (
        _violated(conn, lead, {**params, "position": 2, "end": None})
        == "uq_involvement_current_lead"
    )


@pytest.mark.parametrize(
    ("columns", "values", "constraint"),
    [
        ("consent_given_by", "'Mother'", "ck_involvement_consent"),
        ("override_by, override_at", "'Team manager', now()", "ck_involvement_override"),
        (
            "override_by, override_reason, override_at",
            "'Team manager', '', now()",
            "ck_involvement_override",
        ),
    ],
    ids=["consent-without-recorder", "override-without-reason", "override-with-empty-reason"],
)
def test_the_database_rejects_half_recorded_consent_or_override(
    conn: Connection, columns: str, values: str, constraint: str
) -> None:
    params = {"child": _insert_child(conn), "org": _organisation(conn)}
    sql = (
        f"INSERT INTO involvement (child_id, position, organisation_id, start_date, {columns}) "
        f"VALUES (:child, 0, :org, '2024-01-01', {values})"
    )
    assert _violated(conn, sql, params) == constraint


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        (
            "INSERT INTO carer (child_id, position, name, relationship) "
            "VALUES (:child, 0, 'Pat', 'uncle')",
            "ck_carer_relationship",
        ),
        (
            "INSERT INTO carer (child_id, position, name, relationship, town) "
            "VALUES (:child, 0, 'Pat', 'mother', 'Leeds')",
            "ck_carer_address",
        ),
        (
            "INSERT INTO carer (child_id, position, name, relationship, phone) "
            "VALUES (:child, 0, 'Pat', 'mother', '12345')",
            "ck_carer_phone",
        ),
        (
            "INSERT INTO carer (child_id, position, name, relationship) "
            "VALUES (-1, 0, 'Pat', 'mother')",
            "fk_carer_child_id",
        ),
        (
            "INSERT INTO organisation (kind, code, name) VALUES ('police', 'P1', 'Police')",
            "ck_organisation_kind",
        ),
        (
            "INSERT INTO organisation (kind, code, name) VALUES ('education', 'SCH', 'School')",
            "ck_organisation_code",
        ),
        (
            "INSERT INTO practitioner (email, name, organisation_id) "
            "VALUES ('Amara@Example.org', 'Amara', (SELECT min(id) FROM organisation))",
            "ck_practitioner_email",
        ),
        (
            "INSERT INTO local_authority (code, name) VALUES ('Leeds', 'Leeds')",
            "ck_local_authority_code",
        ),
    ],
    ids=[
        "carer-relationship",
        "carer-half-address",
        "carer-phone",
        "carer-of-no-child",
        "organisation-kind",
        "school-without-urn",
        "practitioner-email-case",
        "local-authority-code",
    ],
)
def test_the_database_rejects_bad_contacts(conn: Connection, sql: str, constraint: str) -> None:
    params = {"child": _insert_child(conn)}
    _organisation(conn)
    assert _violated(conn, sql, params) == constraint


def test_a_real_update_bumps_the_record_version_and_a_no_op_does_not(conn: Connection) -> None:
    child_id = _insert_child(conn)
    version = text("SELECT record_version FROM child WHERE id = :id")
    conn.execute(text("UPDATE child SET town = 'Bradford' WHERE id = :id"), {"id": child_id})
    assert conn.execute(version, {"id": child_id}).scalar_one() == 2
    conn.execute(text("UPDATE child SET town = 'Bradford' WHERE id = :id"), {"id": child_id})
    assert conn.execute(version, {"id": child_id}).scalar_one() == 2
    conn.execute(text("UPDATE child SET record_version = 99 WHERE id = :id"), {"id": child_id})
    assert conn.execute(version, {"id": child_id}).scalar_one() == 3
