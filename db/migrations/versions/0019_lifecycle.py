"""A record's life: archive at 18 (25 with an extension), destruction six years on, and an audit
that forgets a destroyed child.

Revision ID: 0019
Revises: 0018

- `child.archived_on`: the day a child was archived. A trigger fills it (with the current date)
  whenever the status becomes `archived` without one, so feeds' and loads' archiving dates it
  too, and clears it when the status leaves `archived`; the lifecycle job sets the run's date.
- `child_extension`: every recorded extension (a renewal is a new row): the young person's
  consent (the day given, who recorded it and when), a reason from a fixed list, a review date.
- `lifecycle_run`: the counts of each day's run, written in each batch's transaction, so a
  resumed run knows what the interrupted one did.
- The audit: `audit_event.salt` (new rows get a random one, hashed with the row by the sealer,
  so a seal entry cannot be brute-forced back to a forgotten identifier), `audit_redaction` (the
  hash of each row as forgotten, attested by the lifecycle run's own audit row), and
  `cp_audit_forget`, the one way an audit row changes: it drops a destroyed child's identifier
  and personal details from the rows that concern it, and nothing else.
- The audit's events gain `lifecycle_run` and `extension_recorded`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_OLD_EVENTS = (
    "'sign_in', 'sign_out', 'access_denied', 'search', 'view', 'shield_applied', "
    "'shield_removed', 'consent_override', 'contact_brokered', 'user_created', "
    "'user_suspended', 'user_reinstated', 'user_reset', 'client_created', 'client_revoked', "
    "'audit_read', 'audit_exported', 'misuse_report', 'load', 'reindex', "
    "'shield_access_granted', 'shield_access_revoked', 'consent_recorded', "
    "'break_glass_reviewed', 'request_refused', 'feed_review_viewed', 'feed_review_decided', "
    "'children_merged', 'children_unmerged', 'shield_list_read', "
    "'shield_requested', 'shield_request_decided', 'contact_requested', "
    "'involvement_started', 'involvement_changed', 'address_changed', "
    "'inbox_read', 'child_subscribed', 'child_unsubscribed', 'client_webhook_set'"
)
_NEW_EVENTS = f"{_OLD_EVENTS}, 'lifecycle_run', 'extension_recorded'"

# The reasons an extension may be recorded for (lifecycle/rules.py lists the same).
EXTENSION_REASONS = (
    "care_leaver",
    "special_educational_needs",
    "youth_justice",
    "disability_transition",
    "young_carer",
)

# Detail keys whose string values are the service's own vocabulary, never a person's words or
# details: they stay when a row is forgotten. Every other string goes.
_KEPT_DETAIL_KEYS = (
    "shown_fields",
    "withheld_fields",
    "changed_fields",
    "review_kind",
    "decision",
    "source",
    "outcome",
    "error",
)

_STATEMENTS = [
    "ALTER TABLE child ADD COLUMN archived_on date",
    r"""
    CREATE FUNCTION cp_child_archived_on() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.status = 'archived' THEN
        NEW.archived_on := coalesce(NEW.archived_on, current_date);
      ELSE
        NEW.archived_on := NULL;
      END IF;
      RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER tg_child_archived_on BEFORE INSERT OR UPDATE OF status, archived_on ON child
      FOR EACH ROW EXECUTE FUNCTION cp_child_archived_on()
    """,
    "UPDATE child SET archived_on = updated_at::date WHERE status = 'archived'",
    """
    ALTER TABLE child ADD CONSTRAINT ck_child_archived_on
      CHECK ((status = 'archived') = (archived_on IS NOT NULL))
    """,
    # The job's two scans: who turns 18, and who was archived six years ago.
    """
    CREATE INDEX ix_child_active_date_of_birth ON child (date_of_birth, id)
      WHERE status = 'active'
    """,
    "CREATE INDEX ix_child_archived_on ON child (archived_on, id) WHERE status = 'archived'",
    # Ended involvements leave the record after a configured time.
    """
    CREATE INDEX ix_involvement_end_date ON involvement (end_date, id)
      WHERE end_date IS NOT NULL
    """,
    f"""
    CREATE TABLE child_extension (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      reason text NOT NULL,
      consent_given_on date NOT NULL,
      consent_recorded_by text NOT NULL,
      consent_recorded_by_user_id bigint,
      consent_recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      review_on date NOT NULL,
      CONSTRAINT pk_child_extension PRIMARY KEY (id),
      CONSTRAINT fk_child_extension_child_id FOREIGN KEY (child_id)
        REFERENCES child (id) ON DELETE CASCADE,
      CONSTRAINT fk_child_extension_consent_recorded_by_user_id
        FOREIGN KEY (consent_recorded_by_user_id) REFERENCES app_user (id),
      CONSTRAINT ck_child_extension_reason CHECK (reason IN ({
        ", ".join(f"'{reason}'" for reason in EXTENSION_REASONS)
    })),
      CONSTRAINT ck_child_extension_review_on CHECK (review_on > consent_given_on),
      CONSTRAINT ck_child_extension_consent_recorded_by
        CHECK (cp_is_clean_text(consent_recorded_by, 200))
    )
    """,
    "CREATE INDEX ix_child_extension_child_id ON child_extension (child_id, review_on)",
    """
    CREATE TABLE lifecycle_run (
      run_on date NOT NULL,
      started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      finished_at timestamptz,
      runs integer NOT NULL DEFAULT 1,
      archived bigint NOT NULL DEFAULT 0,
      destroyed bigint NOT NULL DEFAULT 0,
      involvements_expired bigint NOT NULL DEFAULT 0,
      audit_rows_forgotten bigint NOT NULL DEFAULT 0,
      CONSTRAINT pk_lifecycle_run PRIMARY KEY (run_on)
    )
    """,
    # A random salt per new audit row, hashed with it: see db/audit/seal.py.
    "ALTER TABLE audit_event ADD COLUMN salt uuid",
    "ALTER TABLE audit_event ALTER COLUMN salt SET DEFAULT gen_random_uuid()",
    # The rows that show a child, found without reading the whole audit.
    """
    CREATE INDEX ix_audit_event_identifiers_shown ON audit_event
      USING gin ((details -> 'identifiers_shown'))
    """,
    """
    CREATE TABLE audit_redaction (
      event_id bigint NOT NULL,
      redacted_hash bytea NOT NULL,
      redacted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      attested_by bigint,
      CONSTRAINT pk_audit_redaction PRIMARY KEY (event_id)
    )
    """,
    "CREATE INDEX ix_audit_redaction_attested_by ON audit_redaction (attested_by)",
    # The audit is append-only, but for one change: forgetting, made by cp_audit_forget as the
    # table's owner, which may only clear the subject and salt and rewrite the details.
    r"""
    CREATE OR REPLACE FUNCTION cp_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      -- Nested: NEW has the audit row's columns only on audit_event (the seals share this).
      IF TG_OP = 'UPDATE' AND TG_TABLE_NAME LIKE 'audit_event%'
         AND current_setting('cp.audit_forgetting', true) = 'on'
         AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID)
      THEN
        IF NEW.subject IS NULL AND NEW.salt IS NULL
           AND (NEW.id, NEW.occurred_at, NEW.event, NEW.outcome, NEW.user_id, NEW.username,
                NEW.client_id, NEW.client_name, NEW.authorities, NEW.request_id,
                NEW.client_address)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.occurred_at, OLD.event, OLD.outcome, OLD.user_id, OLD.username,
                OLD.client_id, OLD.client_name, OLD.authorities, OLD.request_id,
                OLD.client_address) THEN
          RETURN NEW;
        END IF;
      END IF;
      RAISE EXCEPTION 'the audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tg_audit_event_append_only';
    END
    $$
    """,
    f"""
    CREATE FUNCTION cp_audit_forget_details(details jsonb, forgotten text[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
      SELECT coalesce(jsonb_object_agg(d.key, CASE
          WHEN d.key = 'identifiers_shown' AND jsonb_typeof(d.value) = 'array' THEN
            (SELECT coalesce(jsonb_agg(e.value ORDER BY e.ordinality), '[]'::jsonb)
             FROM jsonb_array_elements(d.value) WITH ORDINALITY AS e(value, ordinality)
             WHERE NOT (e.value #>> '{{}}') = ANY (forgotten))
          WHEN jsonb_typeof(d.value) IN ('boolean', 'number', 'null') THEN d.value
          WHEN d.key IN ({", ".join(f"'{key}'" for key in _KEPT_DETAIL_KEYS)}) THEN d.value
          WHEN jsonb_typeof(d.value) = 'object' THEN
            (SELECT coalesce(jsonb_object_agg(o.key, CASE
                WHEN jsonb_typeof(o.value) IN ('boolean', 'number', 'null') THEN o.value
                ELSE '"[forgotten]"'::jsonb END), '{{}}'::jsonb)
             FROM jsonb_each(d.value) AS o)
          ELSE '"[forgotten]"'::jsonb
        END), '{{}}'::jsonb)
      FROM jsonb_each(details) AS d
    $$
    """,
    # SECURITY DEFINER pins its search path: to the schema migrated (see upgrade below).
    r"""
    CREATE FUNCTION cp_audit_forget(forgotten text[]) RETURNS SETOF bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM child WHERE identifier = ANY (forgotten)) THEN
        RAISE EXCEPTION 'only a destroyed child is forgotten by the audit'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      PERFORM set_config('cp.audit_forgetting', 'on', true);
      RETURN QUERY
        UPDATE audit_event
        SET subject = NULL, salt = NULL,
            details = cp_audit_forget_details(details, forgotten)
        WHERE subject = ANY (forgotten) OR (details -> 'identifiers_shown') ?| forgotten
        RETURNING id;
      PERFORM set_config('cp.audit_forgetting', 'off', true);
    END
    $$
    """,
    "REVOKE ALL ON FUNCTION cp_audit_forget(text[]) FROM PUBLIC",
    "ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event",
    f"ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS}))",
]


def upgrade() -> None:
    schema = op.get_bind().execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one()
    for statement in _STATEMENTS:
        op.execute(statement.replace("{schema}", schema))
    # The application role may call it (db/migrate.py grants it the tables).
    op.execute(
        """
        DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'contactpoint_app') THEN
            GRANT EXECUTE ON FUNCTION cp_audit_forget(text[]) TO contactpoint_app;
          END IF;
        END $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION cp_audit_forget(text[])")
    op.execute("DROP FUNCTION cp_audit_forget_details(jsonb, text[])")
    op.execute(
        r"""
        CREATE OR REPLACE FUNCTION cp_audit_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'the audit is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tg_audit_event_append_only';
        END
        $$
        """
    )
    op.execute("DROP TABLE audit_redaction")
    op.execute("DROP INDEX ix_audit_event_identifiers_shown")
    op.execute("ALTER TABLE audit_event DROP COLUMN salt")
    op.execute("DROP TABLE lifecycle_run")
    op.execute("DROP TABLE child_extension")
    op.execute("DROP INDEX ix_involvement_end_date")
    op.execute("DROP INDEX ix_child_archived_on")
    op.execute("DROP INDEX ix_child_active_date_of_birth")
    op.execute("ALTER TABLE child DROP CONSTRAINT ck_child_archived_on")
    op.execute("DROP TRIGGER tg_child_archived_on ON child")
    op.execute("DROP FUNCTION cp_child_archived_on()")
    op.execute("ALTER TABLE child DROP COLUMN archived_on")
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    # NOT VALID: audit rows of the newer events stay (the audit is append-only).
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_OLD_EVENTS})) NOT VALID"
    )
