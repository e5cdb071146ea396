"""The set-based SQL that moves one staged batch into the schema, in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, text

_LINES: Final = "array_remove(ARRAY[s.line1, s.line2, s.line3, s.line4], NULL)"
_OPTIONAL_LINES: Final = f"CASE WHEN s.town IS NULL THEN NULL ELSE {_LINES} END"

# Shared records: a line updates the details it gives and keeps those it omits. Only new or
# different rows reach INSERT ... ON CONFLICT, so that an unchanged row is neither rewritten
# nor even locked (loading a file again writes nothing). The ON CONFLICT branch only runs when
# a concurrent load inserted the row first, and then only writes a difference. Rows go in key
# order, so that concurrent loads lock shared rows in the same order (no deadlock).
_UPSERT_LOCAL_AUTHORITIES: Final = """
INSERT INTO local_authority AS t (code, name, team_phone, team_email)
SELECT n.code, n.name, n.team_phone, n.team_email
FROM (
  SELECT s.code, s.name, coalesce(s.team_phone, o.team_phone) AS team_phone,
    coalesce(s.team_email, o.team_email) AS team_email, o.code IS NULL AS new,
    ROW(o.name, o.team_phone, o.team_email) AS old
  FROM stage_local_authority s LEFT JOIN local_authority o ON o.code = s.code
) n
WHERE n.new OR n.old IS DISTINCT FROM ROW(n.name, n.team_phone, n.team_email)
ORDER BY n.code
ON CONFLICT (code) DO UPDATE SET
  name = EXCLUDED.name,
  team_phone = coalesce(EXCLUDED.team_phone, t.team_phone),
  team_email = coalesce(EXCLUDED.team_email, t.team_email)
WHERE (t.name, t.team_phone, t.team_email) IS DISTINCT FROM
  (EXCLUDED.name, coalesce(EXCLUDED.team_phone, t.team_phone),
   coalesce(EXCLUDED.team_email, t.team_email))
"""

# An organisation keeps its local authority; one without takes the child's (first come).
_UPSERT_ORGANISATIONS: Final = f"""
INSERT INTO organisation AS t
  (kind, code, name, phone, email, address_lines, town, postcode, local_authority_code,
   sensitive)
SELECT n.kind, n.code, n.name, n.phone, n.email, n.address_lines, n.town, n.postcode,
  n.local_authority_code, n.sensitive
FROM (
  SELECT s.kind, s.code, s.name, coalesce(s.phone, o.phone) AS phone,
    coalesce(s.email, o.email) AS email,
    coalesce({_OPTIONAL_LINES}, o.address_lines) AS address_lines,
    coalesce(s.town, o.town) AS town, coalesce(s.postcode, o.postcode) AS postcode,
    coalesce(s.local_authority_code, o.local_authority_code, s.default_local_authority_code)
      AS local_authority_code,
    s.sensitive, o.id IS NULL AS new,
    ROW(o.name, o.phone, o.email, o.address_lines, o.town, o.postcode, o.local_authority_code)
      AS old
  FROM stage_organisation s LEFT JOIN organisation o ON o.kind = s.kind AND o.code = s.code
) n
WHERE n.new OR n.old IS DISTINCT FROM
  ROW(n.name, n.phone, n.email, n.address_lines, n.town, n.postcode, n.local_authority_code)
ORDER BY n.kind, n.code
ON CONFLICT (kind, code) DO UPDATE SET
  name = EXCLUDED.name,
  phone = coalesce(EXCLUDED.phone, t.phone),
  email = coalesce(EXCLUDED.email, t.email),
  address_lines = coalesce(EXCLUDED.address_lines, t.address_lines),
  town = coalesce(EXCLUDED.town, t.town),
  postcode = coalesce(EXCLUDED.postcode, t.postcode),
  local_authority_code = coalesce(EXCLUDED.local_authority_code, t.local_authority_code)
WHERE (t.name, t.phone, t.email, t.address_lines, t.town, t.postcode, t.local_authority_code)
  IS DISTINCT FROM
  (EXCLUDED.name, coalesce(EXCLUDED.phone, t.phone), coalesce(EXCLUDED.email, t.email),
   coalesce(EXCLUDED.address_lines, t.address_lines), coalesce(EXCLUDED.town, t.town),
   coalesce(EXCLUDED.postcode, t.postcode),
   coalesce(EXCLUDED.local_authority_code, t.local_authority_code))
"""

# A practitioner's organisation is the service of the first involvement they were met in.
_UPSERT_PRACTITIONERS: Final = """
INSERT INTO practitioner AS t (email, name, phone, job_title, organisation_id)
SELECT n.email, n.name, n.phone, n.job_title, n.organisation_id
FROM (
  SELECT s.email, s.name, coalesce(s.phone, p.phone) AS phone,
    coalesce(s.job_title, p.job_title) AS job_title,
    coalesce(p.organisation_id, o.id) AS organisation_id, p.id IS NULL AS new,
    ROW(p.name, p.phone, p.job_title) AS old
  FROM stage_practitioner s
  JOIN organisation o ON o.kind = s.organisation_kind AND o.code = s.organisation_code
  LEFT JOIN practitioner p ON p.email = s.email
) n
WHERE n.new OR n.old IS DISTINCT FROM ROW(n.name, n.phone, n.job_title)
ORDER BY n.email
ON CONFLICT (email) DO UPDATE SET
  name = EXCLUDED.name,
  phone = coalesce(EXCLUDED.phone, t.phone),
  job_title = coalesce(EXCLUDED.job_title, t.job_title)
WHERE (t.name, t.phone, t.job_title) IS DISTINCT FROM
  (EXCLUDED.name, coalesce(EXCLUDED.phone, t.phone), coalesce(EXCLUDED.job_title, t.job_title))
"""

# A child whose normalised line is unchanged (same source_hash) is not touched at all: not
# even locked. ON CONFLICT still guards against a concurrent load of the same child.
# (xmax = 0) tells an inserted row from an updated one.
_UPSERT_CHILDREN: Final = f"""
WITH written AS (
  INSERT INTO child AS t
    (identifier, given_names, family_name, gender, date_of_birth, address_lines, town,
     postcode, local_authority_code, education_setting_id, gp_practice_id, status, source_hash)
  SELECT s.identifier, s.given_names, s.family_name, s.gender, s.date_of_birth, {_LINES},
    s.town, s.postcode, s.local_authority_code, e.id, g.id, s.status, s.source_hash
  FROM stage_child s
  LEFT JOIN child c ON c.identifier = s.identifier
  LEFT JOIN organisation e ON e.kind = 'education' AND e.code = s.education_code
  LEFT JOIN organisation g ON g.kind = 'gp_practice' AND g.code = s.gp_practice_code
  WHERE c.source_hash IS DISTINCT FROM s.source_hash
  ORDER BY s.identifier
  ON CONFLICT (identifier) DO UPDATE SET
    given_names = EXCLUDED.given_names,
    family_name = EXCLUDED.family_name,
    gender = EXCLUDED.gender,
    date_of_birth = EXCLUDED.date_of_birth,
    address_lines = EXCLUDED.address_lines,
    town = EXCLUDED.town,
    postcode = EXCLUDED.postcode,
    local_authority_code = EXCLUDED.local_authority_code,
    education_setting_id = EXCLUDED.education_setting_id,
    gp_practice_id = EXCLUDED.gp_practice_id,
    status = EXCLUDED.status,
    source_hash = EXCLUDED.source_hash
  WHERE t.source_hash IS DISTINCT FROM EXCLUDED.source_hash
  RETURNING t.id, t.identifier, (t.xmax = 0) AS inserted
)
INSERT INTO stage_written (seq, child_id, inserted)
SELECT s.seq, w.id, w.inserted FROM written w JOIN stage_child s USING (identifier)
"""

# Carers, involvements, other names and previous addresses of a written child are replaced by
# the line's lists.
_DELETE_CARERS: Final = """
DELETE FROM carer c USING stage_written w WHERE c.child_id = w.child_id AND NOT w.inserted
"""
_DELETE_INVOLVEMENTS: Final = """
DELETE FROM involvement i USING stage_written w WHERE i.child_id = w.child_id AND NOT w.inserted
"""

_DELETE_OTHER_NAMES: Final = """
DELETE FROM other_name n USING stage_written w WHERE n.child_id = w.child_id AND NOT w.inserted
"""
_DELETE_PREVIOUS_ADDRESSES: Final = """
DELETE FROM previous_address a USING stage_written w
WHERE a.child_id = w.child_id AND NOT w.inserted
"""

_INSERT_OTHER_NAMES: Final = """
INSERT INTO other_name (child_id, position, family_name, given_names, kind)
SELECT w.child_id, s.position, s.family_name, s.given_names, s.kind
FROM stage_other_name s JOIN stage_written w USING (seq)
"""
_INSERT_PREVIOUS_ADDRESSES: Final = """
INSERT INTO previous_address (child_id, position, postcode, town, from_date, to_date)
SELECT w.child_id, s.position, s.postcode, s.town, s.from_date, s.to_date
FROM stage_previous_address s JOIN stage_written w USING (seq)
"""

_INSERT_CARERS: Final = f"""
INSERT INTO carer
  (child_id, position, name, relationship, parental_responsibility, phone, email,
   address_lines, town, postcode)
SELECT w.child_id, s.position, s.name, s.relationship, s.parental_responsibility, s.phone,
  s.email, {_OPTIONAL_LINES}, s.town, s.postcode
FROM stage_carer s JOIN stage_written w USING (seq)
"""

# LEFT JOIN: a service that is somehow missing fails organisation_id's NOT NULL instead of
# silently dropping the involvement. (Practitioners were upserted from the same staged lines.)
_INSERT_INVOLVEMENTS: Final = """
INSERT INTO involvement
  (child_id, position, organisation_id, practitioner_id, start_date, end_date,
   lead_professional, assessment_completed, sensitive, consent_given_by, consent_recorded_by,
   consent_recorded_at, override_by, override_reason, override_at)
SELECT w.child_id, s.position, o.id, p.id, s.start_date, s.end_date, s.lead_professional,
  s.assessment_completed, s.sensitive, s.consent_given_by, s.consent_recorded_by,
  s.consent_recorded_at, s.override_by, s.override_reason, s.override_at
FROM stage_involvement s
JOIN stage_written w USING (seq)
LEFT JOIN organisation o ON o.kind = s.organisation_kind AND o.code = s.organisation_code
LEFT JOIN practitioner p ON p.email = s.practitioner_email
"""

# A line's shield applies when the child has no active shield; nothing here removes one.
_APPLY_SHIELDS: Final = """
INSERT INTO shield (child_id, applied_by, applied_at, reason)
SELECT w.child_id, s.applied_by, coalesce(s.applied_at, now()), s.reason
FROM stage_shield s JOIN stage_written w USING (seq)
ON CONFLICT (child_id) WHERE removed_at IS NULL DO NOTHING
"""

_COUNT_WRITTEN: Final = """
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
FROM stage_written
"""

_STATEMENTS: Final = (
    _UPSERT_LOCAL_AUTHORITIES,
    _UPSERT_ORGANISATIONS,
    _UPSERT_PRACTITIONERS,
    _UPSERT_CHILDREN,
    _DELETE_CARERS,
    _DELETE_INVOLVEMENTS,
    _DELETE_OTHER_NAMES,
    _DELETE_PREVIOUS_ADDRESSES,
    _INSERT_CARERS,
    _INSERT_INVOLVEMENTS,
    _INSERT_OTHER_NAMES,
    _INSERT_PREVIOUS_ADDRESSES,
    _APPLY_SHIELDS,
)


@dataclass(frozen=True, slots=True)
class Written:
    """How many children of a batch were inserted and updated (the rest were unchanged)."""

    inserted: int
    updated: int


def apply_staged(conn: Connection) -> Written:
    """Upsert everything staged; the caller commits, or rolls back on error."""
    # Staged keys are few and the tables they are looked up in are cached: index lookups
    # beat hashing whole tables, which the default cost of a random read hides.
    conn.execute(text("SET LOCAL random_page_cost = 1.1"))
    for statement in _STATEMENTS:
        conn.execute(text(statement))
    inserted, updated = conn.execute(text(_COUNT_WRITTEN)).one()
    return Written(inserted=int(inserted), updated=int(updated))
