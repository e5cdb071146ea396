"""The initial schema: contacts of children, with the rules of the import format as constraints.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Hand-written DDL. Every rule the loader validates is repeated here as a CHECK, FOREIGN KEY,
UNIQUE or NOT NULL, so that the database rejects bad data whichever program writes it.
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_FUNCTIONS = [
    # Ten digits whose tenth is the modulus-11 check digit of the first nine (NHS-number style).
    # CASE guarantees that the casts only run on ten digits. The SQL functions are not STRICT
    # so that PostgreSQL inlines them into the CHECKs (several times faster on bulk loads).
    r"""
    CREATE FUNCTION cp_is_nhs_number(value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT CASE WHEN value IS NULL THEN NULL WHEN value ~ '^[0-9]{10}$' THEN
        (11 - (substr(value, 1, 1)::int * 10 + substr(value, 2, 1)::int * 9
             + substr(value, 3, 1)::int * 8 + substr(value, 4, 1)::int * 7
             + substr(value, 5, 1)::int * 6 + substr(value, 6, 1)::int * 5
             + substr(value, 7, 1)::int * 4 + substr(value, 8, 1)::int * 3
             + substr(value, 9, 1)::int * 2) % 11) % 11 = substr(value, 10, 1)::int
      ELSE false END
    $$
    """,
    # Non-empty, trimmed, no control characters, at most max_length characters.
    r"""
    CREATE FUNCTION cp_is_clean_text(value text, max_length int) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT value <> '' AND length(value) <= max_length AND value = btrim(value)
        AND value !~ '[[:cntrl:]]'
    $$
    """,
    r"""
    CREATE FUNCTION cp_is_postcode(value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT value ~ '^(GIR 0AA|[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2})$'
    $$
    """,
    r"""
    CREATE FUNCTION cp_is_phone(value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT value = btrim(value) AND replace(value, ' ', '') ~ '^(\+44|0)[0-9]{9,10}$'
    $$
    """,
    r"""
    CREATE FUNCTION cp_is_email(value text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT length(value) <= 254 AND value = lower(value)
        AND value ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'
    $$
    """,
    # One to four lines, each clean text of at most 100 characters (PL/pgSQL: a loop is
    # cheaper here than SQL with a subquery, which cannot be inlined).
    r"""
    CREATE FUNCTION cp_is_address_lines(value text[]) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
    DECLARE
      line text;
    BEGIN
      IF array_ndims(value) IS DISTINCT FROM 1 OR cardinality(value) NOT BETWEEN 1 AND 4 THEN
        RETURN false;
      END IF;
      FOREACH line IN ARRAY value LOOP
        IF line IS NULL OR line = '' OR length(line) > 100 OR line <> btrim(line)
           OR line ~ '[[:cntrl:]]' THEN
          RETURN false;
        END IF;
      END LOOP;
      RETURN true;
    END
    $$
    """,
    # A real change to a child bumps its version; created_at and the version cannot be forged.
    r"""
    CREATE FUNCTION cp_child_versioning() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      NEW.record_version := OLD.record_version + 1;
      NEW.created_at := OLD.created_at;
      NEW.updated_at := now();
      RETURN NEW;
    END
    $$
    """,
    # Shields are history: a shield can be removed once, and nothing else about it changes.
    r"""
    CREATE FUNCTION cp_shield_history() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.removed_at IS NOT NULL THEN
        RAISE EXCEPTION 'a removed shield cannot be changed'
          USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'tg_shield_history';
      END IF;
      IF (NEW.child_id, NEW.applied_by, NEW.applied_at, NEW.reason)
         IS DISTINCT FROM (OLD.child_id, OLD.applied_by, OLD.applied_at, OLD.reason) THEN
        RAISE EXCEPTION 'only the removal of a shield can be recorded'
          USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'tg_shield_history';
      END IF;
      RETURN NEW;
    END
    $$
    """,
]

_ADDRESS_CHECKS = """
    CONSTRAINT ck_{table}_address CHECK (num_nonnulls(address_lines, town, postcode) IN (0, 3)),
    CONSTRAINT ck_{table}_address_lines CHECK (cp_is_address_lines(address_lines)),
    CONSTRAINT ck_{table}_town CHECK (cp_is_clean_text(town, 60)),
    CONSTRAINT ck_{table}_postcode CHECK (cp_is_postcode(postcode))
"""

_KINDS = (
    "'education', 'gp_practice', 'health_visiting', 'social_care', 'youth_service', "
    "'early_help', 'sexual_health', 'mental_health', 'substance_misuse', 'other'"
)
_RELATIONSHIPS = (
    "'mother', 'father', 'step_parent', 'grandparent', 'foster_carer', 'guardian', "
    "'other_relative', 'other'"
)

_TABLES = [
    """
    CREATE TABLE local_authority (
      code text NOT NULL,
      name text NOT NULL,
      team_phone text,
      team_email text,
      CONSTRAINT pk_local_authority PRIMARY KEY (code),
      CONSTRAINT ck_local_authority_code CHECK (code ~ '^[EWSN][0-9]{8}$'),
      CONSTRAINT ck_local_authority_name CHECK (cp_is_clean_text(name, 100)),
      CONSTRAINT ck_local_authority_team_phone CHECK (cp_is_phone(team_phone)),
      CONSTRAINT ck_local_authority_team_email CHECK (cp_is_email(team_email))
    )
    """,
    f"""
    CREATE TABLE organisation (
      id bigint GENERATED ALWAYS AS IDENTITY,
      kind text NOT NULL,
      code text NOT NULL,
      name text NOT NULL,
      phone text,
      email text,
      address_lines text[],
      town text,
      postcode text,
      local_authority_code text,
      sensitive boolean NOT NULL DEFAULT false,
      CONSTRAINT pk_organisation PRIMARY KEY (id),
      CONSTRAINT uq_organisation_kind_code UNIQUE (kind, code),
      CONSTRAINT fk_organisation_local_authority_code FOREIGN KEY (local_authority_code)
        REFERENCES local_authority (code),
      CONSTRAINT ck_organisation_kind CHECK (kind IN ({_KINDS})),
      CONSTRAINT ck_organisation_code CHECK (
        cp_is_clean_text(code, 50)
        AND (kind <> 'education' OR code ~ '^[0-9]{{6}}$')
        AND (kind <> 'gp_practice' OR code ~ '^[A-Z][0-9]{{5}}$')
      ),
      CONSTRAINT ck_organisation_name CHECK (cp_is_clean_text(name, 200)),
      CONSTRAINT ck_organisation_phone CHECK (cp_is_phone(phone)),
      CONSTRAINT ck_organisation_email CHECK (cp_is_email(email)),
      {_ADDRESS_CHECKS.format(table="organisation")}
    )
    """,
    """
    CREATE TABLE practitioner (
      id bigint GENERATED ALWAYS AS IDENTITY,
      email text NOT NULL,
      name text NOT NULL,
      phone text,
      job_title text,
      organisation_id bigint NOT NULL,
      CONSTRAINT pk_practitioner PRIMARY KEY (id),
      CONSTRAINT uq_practitioner_email UNIQUE (email),
      CONSTRAINT fk_practitioner_organisation_id FOREIGN KEY (organisation_id)
        REFERENCES organisation (id),
      CONSTRAINT ck_practitioner_email CHECK (cp_is_email(email)),
      CONSTRAINT ck_practitioner_name CHECK (cp_is_clean_text(name, 200)),
      CONSTRAINT ck_practitioner_phone CHECK (cp_is_phone(phone)),
      CONSTRAINT ck_practitioner_job_title CHECK (cp_is_clean_text(job_title, 100))
    )
    """,
    """
    CREATE TABLE child (
      id bigint GENERATED ALWAYS AS IDENTITY,
      identifier text NOT NULL,
      given_names text NOT NULL,
      family_name text NOT NULL,
      gender text NOT NULL,
      date_of_birth date NOT NULL,
      address_lines text[] NOT NULL,
      town text NOT NULL,
      postcode text NOT NULL,
      local_authority_code text,
      education_setting_id bigint,
      gp_practice_id bigint,
      status text NOT NULL DEFAULT 'active',
      record_version bigint NOT NULL DEFAULT 1,
      source_hash bytea,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT pk_child PRIMARY KEY (id),
      CONSTRAINT uq_child_identifier UNIQUE (identifier),
      CONSTRAINT fk_child_local_authority_code FOREIGN KEY (local_authority_code)
        REFERENCES local_authority (code),
      CONSTRAINT fk_child_education_setting_id FOREIGN KEY (education_setting_id)
        REFERENCES organisation (id),
      CONSTRAINT fk_child_gp_practice_id FOREIGN KEY (gp_practice_id)
        REFERENCES organisation (id),
      CONSTRAINT ck_child_identifier CHECK (cp_is_nhs_number(identifier)),
      CONSTRAINT ck_child_given_names CHECK (cp_is_clean_text(given_names, 100)),
      CONSTRAINT ck_child_family_name CHECK (cp_is_clean_text(family_name, 100)),
      CONSTRAINT ck_child_gender CHECK (gender IN ('male', 'female', 'other', 'unknown')),
      -- "Not in the future, at most 25 years ago" needs now(): the loader checks it.
      CONSTRAINT ck_child_date_of_birth CHECK (date_of_birth >= DATE '1990-01-01'),
      CONSTRAINT ck_child_address_lines CHECK (cp_is_address_lines(address_lines)),
      CONSTRAINT ck_child_town CHECK (cp_is_clean_text(town, 60)),
      CONSTRAINT ck_child_postcode CHECK (cp_is_postcode(postcode)),
      CONSTRAINT ck_child_status CHECK (status IN ('active', 'archived')),
      CONSTRAINT ck_child_record_version CHECK (record_version >= 1),
      CONSTRAINT ck_child_source_hash CHECK (octet_length(source_hash) BETWEEN 16 AND 64),
      CONSTRAINT ck_child_updated_at CHECK (updated_at >= created_at)
    )
    """,
    f"""
    CREATE TABLE carer (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      position smallint NOT NULL,
      name text NOT NULL,
      relationship text NOT NULL,
      parental_responsibility boolean NOT NULL DEFAULT false,
      phone text,
      email text,
      address_lines text[],
      town text,
      postcode text,
      CONSTRAINT pk_carer PRIMARY KEY (id),
      CONSTRAINT uq_carer_child_id_position UNIQUE (child_id, position),
      CONSTRAINT fk_carer_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT ck_carer_position CHECK (position >= 0),
      CONSTRAINT ck_carer_name CHECK (cp_is_clean_text(name, 200)),
      CONSTRAINT ck_carer_relationship CHECK (relationship IN ({_RELATIONSHIPS})),
      CONSTRAINT ck_carer_phone CHECK (cp_is_phone(phone)),
      CONSTRAINT ck_carer_email CHECK (cp_is_email(email)),
      {_ADDRESS_CHECKS.format(table="carer")}
    )
    """,
    """
    CREATE TABLE involvement (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      position smallint NOT NULL,
      organisation_id bigint NOT NULL,
      practitioner_id bigint,
      start_date date NOT NULL,
      end_date date,
      lead_professional boolean NOT NULL DEFAULT false,
      assessment_completed boolean NOT NULL DEFAULT false,
      sensitive boolean NOT NULL DEFAULT false,
      consent_given_by text,
      consent_recorded_by text,
      consent_recorded_at timestamptz,
      override_by text,
      override_reason text,
      override_at timestamptz,
      CONSTRAINT pk_involvement PRIMARY KEY (id),
      CONSTRAINT uq_involvement_child_id_position UNIQUE (child_id, position),
      CONSTRAINT fk_involvement_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT fk_involvement_organisation_id FOREIGN KEY (organisation_id)
        REFERENCES organisation (id),
      CONSTRAINT fk_involvement_practitioner_id FOREIGN KEY (practitioner_id)
        REFERENCES practitioner (id),
      CONSTRAINT ck_involvement_position CHECK (position >= 0),
      CONSTRAINT ck_involvement_dates CHECK (end_date >= start_date),
      CONSTRAINT ck_involvement_consent CHECK (
        num_nonnulls(consent_given_by, consent_recorded_by, consent_recorded_at) IN (0, 3)
        AND cp_is_clean_text(consent_given_by, 200)
        AND cp_is_clean_text(consent_recorded_by, 200)
      ),
      CONSTRAINT ck_involvement_override CHECK (
        num_nonnulls(override_by, override_reason, override_at) IN (0, 3)
        AND cp_is_clean_text(override_by, 200)
        AND cp_is_clean_text(override_reason, 200)
      )
    )
    """,
    """
    CREATE TABLE shield (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      applied_by text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      reason text NOT NULL,
      removed_by text,
      removed_at timestamptz,
      removal_reason text,
      CONSTRAINT pk_shield PRIMARY KEY (id),
      CONSTRAINT fk_shield_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT ck_shield_applied_by CHECK (cp_is_clean_text(applied_by, 200)),
      CONSTRAINT ck_shield_reason CHECK (cp_is_clean_text(reason, 200)),
      CONSTRAINT ck_shield_removal CHECK (
        num_nonnulls(removed_by, removed_at, removal_reason) IN (0, 3)
        AND cp_is_clean_text(removed_by, 200)
        AND cp_is_clean_text(removal_reason, 200)
      ),
      CONSTRAINT ck_shield_removed_after_applied CHECK (removed_at >= applied_at)
    )
    """,
]

_INDEXES_AND_TRIGGERS = [
    # At most one current lead professional, and at most one active shield, per child.
    """
    CREATE UNIQUE INDEX uq_involvement_current_lead ON involvement (child_id)
      WHERE lead_professional AND end_date IS NULL
    """,
    "CREATE UNIQUE INDEX uq_shield_active ON shield (child_id) WHERE removed_at IS NULL",
    "CREATE INDEX ix_shield_child_id ON shield (child_id)",
    # Foreign keys that are followed backwards: deleting or changing an organisation or a
    # practitioner finds the children that name it.
    "CREATE INDEX ix_child_education_setting_id ON child (education_setting_id)",
    "CREATE INDEX ix_child_gp_practice_id ON child (gp_practice_id)",
    "CREATE INDEX ix_involvement_organisation_id ON involvement (organisation_id)",
    "CREATE INDEX ix_involvement_practitioner_id ON involvement (practitioner_id)",
    """
    CREATE TRIGGER tg_child_versioning BEFORE UPDATE ON child
      FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
      EXECUTE FUNCTION cp_child_versioning()
    """,
    """
    CREATE TRIGGER tg_shield_history BEFORE UPDATE ON shield
      FOR EACH ROW EXECUTE FUNCTION cp_shield_history()
    """,
]


def upgrade() -> None:
    for statement in [*_FUNCTIONS, *_TABLES, *_INDEXES_AND_TRIGGERS]:
        op.execute(statement)


def downgrade() -> None:
    for table in ("shield", "involvement", "carer", "child", "practitioner", "organisation"):
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP TABLE local_authority")
    for function in (
        "cp_shield_history()",
        "cp_child_versioning()",
        "cp_is_address_lines(text[])",
        "cp_is_email(text)",
        "cp_is_phone(text)",
        "cp_is_postcode(text)",
        "cp_is_clean_text(text, int)",
        "cp_is_nhs_number(text)",
    ):
        op.execute(f"DROP FUNCTION {function}")
