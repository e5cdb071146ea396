"""Corrections with history, the feeds' changes that wait for a manager, and subject access.

Revision ID: 0020
Revises: 0019

- `child_correction`: every change a manager of the child's authority made to a field (a name's
  spelling, a date of birth, an address), with the value before and after, who, when and why;
  and every change of a national feed a manager confirmed over a correction (`kind`
  `feed_confirmed`). The record's history: rows are never changed.
- `correction_confirmation`: a newer record of a national feed that changes a corrected field
  waits here for a manager of the child's authority to confirm (the change is applied) or
  reject it (the correction stands). A record already queued is not queued again.
- `child_field_source` may name a `correction` (a manager's correction outranks the feeds until a
  newer source record changes that field, feeds/survivorship.py) and the `date_of_birth` field.
- Both tables touch the child (the dependent outbox triggers of migration 0002): every
  correction and decision moves the child's version and reaches the index.
- `notification.kind` gains `correction_challenged` (the team is told of a queued change), and
  the audit's events `child_corrected`, `correction_decided`, `corrections_read` and
  `subject_access_report`.
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
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
    "'inbox_read', 'child_subscribed', 'child_unsubscribed', 'client_webhook_set', "
    "'lifecycle_run', 'extension_recorded'"
)
_NEW_EVENTS = (
    f"{_OLD_EVENTS}, 'child_corrected', 'correction_decided', 'corrections_read', "
    "'subject_access_report'"
)
_OLD_KINDS = "'involvement_started', 'lead_professional_changed', 'child_moved_in'"
_NEW_KINDS = f"{_OLD_KINDS}, 'correction_challenged'"
_OLD_SOURCES = "'births', 'school-census', 'child-benefit', 'health'"
_NEW_SOURCES = f"{_OLD_SOURCES}, 'correction'"
_OLD_FIELDS = "'name', 'gender', 'address', 'education_setting', 'gp_practice', 'status'"
_NEW_FIELDS = f"{_OLD_FIELDS}, 'date_of_birth'"
_CORRECTED_FIELDS = "'name', 'date_of_birth', 'address'"
_TABLES = ("child_correction", "correction_confirmation")

_STATEMENTS = [
    f"""
    CREATE TABLE child_correction (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      field text NOT NULL,
      kind text NOT NULL DEFAULT 'correction',
      previous jsonb NOT NULL,
      value jsonb NOT NULL,
      reason text NOT NULL,
      corrected_by text NOT NULL,
      organisation text,
      corrected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      -- A confirmed feed change: the source record it came from.
      source text,
      record_id text,
      CONSTRAINT pk_child_correction PRIMARY KEY (id),
      CONSTRAINT fk_child_correction_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT ck_child_correction_field CHECK (field IN ({_CORRECTED_FIELDS})),
      CONSTRAINT ck_child_correction_kind CHECK (kind IN ('correction', 'feed_confirmed')),
      CONSTRAINT ck_child_correction_reason CHECK (length(btrim(reason)) BETWEEN 1 AND 1000),
      CONSTRAINT ck_child_correction_source CHECK (
        (kind = 'feed_confirmed') = (source IS NOT NULL AND record_id IS NOT NULL)
      ),
      CONSTRAINT ck_child_correction_values CHECK (
        jsonb_typeof(previous) = 'object' AND jsonb_typeof(value) = 'object'
      )
    )
    """,
    "CREATE INDEX ix_child_correction_child_id ON child_correction (child_id, corrected_at)",
    f"""
    CREATE TABLE correction_confirmation (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      field text NOT NULL,
      value jsonb NOT NULL,
      source text NOT NULL,
      record_id text NOT NULL,
      as_of date NOT NULL,
      local_authority_code text,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      decided_at timestamptz,
      decision text,
      decided_by text,
      CONSTRAINT pk_correction_confirmation PRIMARY KEY (id),
      CONSTRAINT fk_correction_confirmation_child_id FOREIGN KEY (child_id)
        REFERENCES child (id) ON DELETE CASCADE,
      CONSTRAINT fk_correction_confirmation_local_authority_code
        FOREIGN KEY (local_authority_code) REFERENCES local_authority (code),
      CONSTRAINT uq_correction_confirmation_record
        UNIQUE (child_id, field, source, record_id, as_of),
      CONSTRAINT ck_correction_confirmation_field CHECK (field IN ({_CORRECTED_FIELDS})),
      CONSTRAINT ck_correction_confirmation_source CHECK (source IN ({_OLD_SOURCES})),
      CONSTRAINT ck_correction_confirmation_value CHECK (jsonb_typeof(value) = 'object'),
      CONSTRAINT ck_correction_confirmation_decision CHECK (
        (decision IS NULL) = (decided_at IS NULL)
        AND (decision IS NULL OR decision IN ('confirmed', 'rejected', 'superseded'))
      )
    )
    """,
    """
    CREATE INDEX ix_correction_confirmation_open
      ON correction_confirmation (local_authority_code, created_at) WHERE decided_at IS NULL
    """,
    "CREATE INDEX ix_correction_confirmation_child_id ON correction_confirmation (child_id)",
    "ALTER TABLE child_field_source DROP CONSTRAINT ck_child_field_source_source",
    "ALTER TABLE child_field_source ADD CONSTRAINT ck_child_field_source_source"
    f" CHECK (source IN ({_NEW_SOURCES}))",
    "ALTER TABLE child_field_source DROP CONSTRAINT ck_child_field_source_field",
    "ALTER TABLE child_field_source ADD CONSTRAINT ck_child_field_source_field"
    f" CHECK (field IN ({_NEW_FIELDS}))",
    "ALTER TABLE notification DROP CONSTRAINT ck_notification_kind",
    f"ALTER TABLE notification ADD CONSTRAINT ck_notification_kind CHECK (kind IN ({_NEW_KINDS}))",
    "ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event",
    f"ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS}))",
]
for _table in _TABLES:
    _STATEMENTS += [
        f"""
        CREATE TRIGGER tg_outbox_{_table}_insert AFTER INSERT ON {_table}
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_dependent_new()
        """,
        f"""
        CREATE TRIGGER tg_outbox_{_table}_update AFTER UPDATE ON {_table}
        REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_dependent_both()
        """,
        f"""
        CREATE TRIGGER tg_outbox_{_table}_delete AFTER DELETE ON {_table}
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_dependent_old()
        """,
    ]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event"
        f" CHECK (event IN ({_OLD_EVENTS}))"
    )
    op.execute("DELETE FROM notification WHERE kind = 'correction_challenged'")
    op.execute("ALTER TABLE notification DROP CONSTRAINT ck_notification_kind")
    op.execute(
        "ALTER TABLE notification ADD CONSTRAINT ck_notification_kind"
        f" CHECK (kind IN ({_OLD_KINDS}))"
    )
    op.execute(
        "DELETE FROM child_field_source WHERE source = 'correction' OR field = 'date_of_birth'"
    )
    op.execute("ALTER TABLE child_field_source DROP CONSTRAINT ck_child_field_source_field")
    op.execute(
        "ALTER TABLE child_field_source ADD CONSTRAINT ck_child_field_source_field"
        f" CHECK (field IN ({_OLD_FIELDS}))"
    )
    op.execute("ALTER TABLE child_field_source DROP CONSTRAINT ck_child_field_source_source")
    op.execute(
        "ALTER TABLE child_field_source ADD CONSTRAINT ck_child_field_source_source"
        f" CHECK (source IN ({_OLD_SOURCES}))"
    )
    for table in reversed(_TABLES):
        op.execute(f"DROP TABLE {table}")
