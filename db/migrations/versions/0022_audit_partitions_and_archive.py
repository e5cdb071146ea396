"""The audit partitioned by month, its retention recorded in the seal chain, and the archive.

Revision ID: 0022
Revises: 0021

`audit_event` becomes a table partitioned by RANGE (occurred_at), one partition per calendar
month in UTC (`audit_event_2026_12`), with a DEFAULT partition as the safety net: an insert
never fails for want of a month. `cp_audit_ensure_partitions(from, through)` creates the
months (maintenance calls it ahead of time); months whose rows wait in the default partition
are given their partition and the rows moved there whole (a row's columns, so its seal hash,
do not change). Every row, id, index, trigger and the identity sequence's position carry over;
the primary key becomes (id, occurred_at), as a partitioned table requires.

`break_glass_review.view_event_id` can no longer be a foreign key (audit_event has no unique
id alone, and a retention drop must not be blocked by a review): a trigger checks instead that
the view's audit row exists when the review is written.

`audit_seal` gains `kind` ('rows', or 'drop': a signed link saying which months and ids the
retention dropped, when and by whom) and `dropped` (the drop's details). A drop link covers no
new ids: its after and through ids are those of the seal before it.

`app_user.archive_access` is the capability to open archived records (managers only). The
audit's events gain `archive_opened` and `audit_retention`.
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
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
    "'lifecycle_run', 'extension_recorded', 'child_corrected', 'correction_decided', "
    "'corrections_read', 'subject_access_report', 'user_vetting_recorded'"
)
_NEW_EVENTS = f"{_OLD_EVENTS}, 'archive_opened', 'audit_retention'"
# Months created ahead by the migration itself (maintenance keeps AUDIT_PARTITION_MONTHS_AHEAD).
_AHEAD = "3 months"
_COLUMNS = (
    "id, occurred_at, event, outcome, user_id, username, client_id, client_name, authorities, "
    "subject, request_id, client_address, details, salt"
)
_INDEXES = [
    "CREATE INDEX ix_audit_event_occurred_at ON audit_event (occurred_at)",
    "CREATE INDEX ix_audit_event_user_id_occurred_at ON audit_event (user_id, occurred_at)",
    "CREATE INDEX ix_audit_event_event_occurred_at ON audit_event (event, occurred_at)",
    "CREATE INDEX ix_audit_event_authorities ON audit_event USING gin (authorities)",
    "CREATE INDEX ix_audit_event_subject_occurred_at ON audit_event (subject, occurred_at)",
    "CREATE INDEX ix_audit_event_request_id ON audit_event (request_id)",
    # The rows that show a child, for forgetting a destroyed one (migration 0019).
    """
    CREATE INDEX ix_audit_event_identifiers_shown ON audit_event
      USING gin ((details -> 'identifiers_shown'))
    """,
]
_TRIGGERS = [
    """
    CREATE TRIGGER tg_audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
      FOR EACH ROW EXECUTE FUNCTION cp_audit_append_only()
    """,
    """
    CREATE TRIGGER tg_audit_event_actor_names BEFORE INSERT ON audit_event
      FOR EACH ROW EXECUTE FUNCTION cp_audit_actor_names()
    """,
]

# One month's partition, created if missing; returns its name when it was created.
_CREATE_MONTH = r"""
CREATE FUNCTION cp_audit_create_month(month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  first date := date_trunc('month', month)::date;
  name text := 'audit_event_' || to_char(first, 'YYYY_MM');
BEGIN
  IF to_regclass(quote_ident(name)) IS NOT NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE format(
    'CREATE TABLE %I PARTITION OF audit_event FOR VALUES FROM (%L) TO (%L)',
    name,
    (first::timestamp AT TIME ZONE 'UTC'),
    ((first + interval '1 month')::timestamp AT TIME ZONE 'UTC')
  );
  RETURN name;
END
$$
"""

# Every month from `from_month` through `through_month`, and every month that has rows in the
# default partition. Those rows cannot stay there once their month exists (PostgreSQL refuses
# to create a partition that rows of the default would belong to), so the default is detached,
# a new empty one attached, the months created, the rows inserted again through the parent
# (routed to their months, columns unchanged) and the old default dropped whole: no row is
# updated or deleted one by one.
_ENSURE = r"""
CREATE FUNCTION cp_audit_ensure_partitions(from_month date, through_month date)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  month date;
  created text;
  strays date[];
BEGIN
  SELECT coalesce(array_agg(DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date),
                  '{}')
    INTO strays FROM audit_event_default;
  IF cardinality(strays) > 0 THEN
    ALTER TABLE audit_event DETACH PARTITION audit_event_default;
    ALTER TABLE audit_event_default RENAME TO audit_event_default_moving;
    CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT;
    FOREACH month IN ARRAY strays LOOP
      created := cp_audit_create_month(month);
      IF created IS NOT NULL THEN
        RETURN NEXT created;
      END IF;
    END LOOP;
    INSERT INTO audit_event OVERRIDING SYSTEM VALUE
      SELECT * FROM audit_event_default_moving ORDER BY id;
    DROP TABLE audit_event_default_moving;
  END IF;
  FOR month IN
    SELECT generate_series(date_trunc('month', from_month), date_trunc('month', through_month),
                           interval '1 month')::date
  LOOP
    created := cp_audit_create_month(month);
    IF created IS NOT NULL THEN
      RETURN NEXT created;
    END IF;
  END LOOP;
END
$$
"""

_REVIEW_VIEW_EXISTS = r"""
CREATE FUNCTION cp_break_glass_review_view_exists() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit_event WHERE id = NEW.view_event_id) THEN
    RAISE EXCEPTION 'break glass review names audit row %, which does not exist',
      NEW.view_event_id
      USING ERRCODE = 'foreign_key_violation',
            CONSTRAINT = 'tg_break_glass_review_view_exists';
  END IF;
  RETURN NEW;
END
$$
"""

_UPGRADE = [
    "ALTER TABLE break_glass_review DROP CONSTRAINT fk_break_glass_review_view_event_id",
    _REVIEW_VIEW_EXISTS,
    """
    CREATE TRIGGER tg_break_glass_review_view_exists
      BEFORE INSERT OR UPDATE OF view_event_id ON break_glass_review
      FOR EACH ROW EXECUTE FUNCTION cp_break_glass_review_view_exists()
    """,
    # The old table steps aside: its indexes go (their names are the new table's), its rows
    # are copied, then it is dropped with its sequence.
    "ALTER TABLE audit_event RENAME TO audit_event_unpartitioned",
    "ALTER TABLE audit_event_unpartitioned RENAME CONSTRAINT pk_audit_event "
    "TO pk_audit_event_unpartitioned",
    "DROP INDEX ix_audit_event_occurred_at",
    "DROP INDEX ix_audit_event_user_id_occurred_at",
    "DROP INDEX ix_audit_event_event_occurred_at",
    "DROP INDEX ix_audit_event_authorities",
    "DROP INDEX ix_audit_event_subject_occurred_at",
    "DROP INDEX ix_audit_event_request_id",
    "DROP INDEX ix_audit_event_identifiers_shown",
    f"""
    CREATE TABLE audit_event (
      id bigint GENERATED ALWAYS AS IDENTITY,
      occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      event text NOT NULL,
      outcome text NOT NULL,
      user_id bigint,
      username text,
      client_id bigint,
      client_name text,
      authorities text[] NOT NULL DEFAULT '{{}}',
      subject text,
      request_id text,
      client_address text,
      details jsonb NOT NULL DEFAULT '{{}}',
      salt uuid DEFAULT gen_random_uuid(),
      CONSTRAINT pk_audit_event PRIMARY KEY (id, occurred_at),
      CONSTRAINT fk_audit_event_user_id FOREIGN KEY (user_id) REFERENCES app_user (id),
      CONSTRAINT fk_audit_event_client_id FOREIGN KEY (client_id) REFERENCES api_client (id),
      CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS})),
      CONSTRAINT ck_audit_event_outcome CHECK (outcome IN ('success', 'failure', 'denied'))
    ) PARTITION BY RANGE (occurred_at)
    """,
    "CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT",
    _CREATE_MONTH,
    _ENSURE,
    f"""
    SELECT cp_audit_ensure_partitions(
      coalesce((SELECT min(occurred_at) FROM audit_event_unpartitioned), now())::date,
      (now() + interval '{_AHEAD}')::date
    )
    """,
    f"INSERT INTO audit_event ({_COLUMNS}) OVERRIDING SYSTEM VALUE "
    f"SELECT {_COLUMNS} FROM audit_event_unpartitioned ORDER BY id",
    # The new identity sequence goes on from where the old one was.
    """
    SELECT setval(pg_get_serial_sequence('audit_event', 'id'), s.last_value, s.is_called)
    FROM audit_event_id_seq AS s
    """,
    "DROP TABLE audit_event_unpartitioned",
    "ALTER SEQUENCE audit_event_id_seq1 RENAME TO audit_event_id_seq",
    *_INDEXES,
    *_TRIGGERS,
    # Drop links in the seal chain.
    "ALTER TABLE audit_seal ADD COLUMN kind text NOT NULL DEFAULT 'rows'",
    "ALTER TABLE audit_seal ADD COLUMN dropped jsonb",
    "ALTER TABLE audit_seal ADD CONSTRAINT ck_audit_seal_kind CHECK (kind IN ('rows', 'drop'))",
    """
    ALTER TABLE audit_seal ADD CONSTRAINT ck_audit_seal_dropped CHECK (
      (kind = 'drop') = (dropped IS NOT NULL)
      AND (kind = 'rows' OR (entries = 0 AND through_event_id = after_event_id))
    )
    """,
    "ALTER TABLE audit_seal DROP CONSTRAINT ck_audit_seal_range",
    """
    ALTER TABLE audit_seal ADD CONSTRAINT ck_audit_seal_range CHECK (
      position >= 1 AND after_event_id >= 0
      AND (through_event_id > after_event_id OR kind = 'drop')
    )
    """,
    "ALTER TABLE audit_seal DROP CONSTRAINT uq_audit_seal_through_event_id",
    """
    CREATE UNIQUE INDEX uq_audit_seal_through_event_id ON audit_seal (through_event_id)
      WHERE kind = 'rows'
    """,
    # The archive capability: a manager's (local authority data managers opened the archive).
    "ALTER TABLE app_user ADD COLUMN archive_access boolean NOT NULL DEFAULT false",
    """
    ALTER TABLE app_user ADD CONSTRAINT ck_app_user_archive_access CHECK (
      NOT archive_access OR 'la_manager' = ANY (roles)
    )
    """,
]


def upgrade() -> None:
    for statement in _UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    # Back to one table, rows kept; drop links stay as rows of the old kind cannot describe them.
    op.execute("ALTER TABLE app_user DROP COLUMN archive_access")
    op.execute("DROP INDEX uq_audit_seal_through_event_id")
    op.execute("ALTER TABLE audit_seal DROP CONSTRAINT ck_audit_seal_range")
    op.execute("ALTER TABLE audit_seal DROP CONSTRAINT ck_audit_seal_dropped")
    op.execute("ALTER TABLE audit_seal DROP CONSTRAINT ck_audit_seal_kind")
    op.execute(
        "ALTER TABLE audit_seal ADD CONSTRAINT ck_audit_seal_range CHECK ("
        "position >= 1 AND after_event_id >= 0 AND through_event_id > after_event_id) NOT VALID"
    )
    op.execute(
        "ALTER TABLE audit_seal ADD CONSTRAINT uq_audit_seal_through_event_id "
        "UNIQUE (through_event_id)"
    )
    op.execute("ALTER TABLE audit_seal DROP COLUMN dropped")
    op.execute("ALTER TABLE audit_seal DROP COLUMN kind")
    op.execute("ALTER TABLE audit_event RENAME TO audit_event_partitioned")
    op.execute("ALTER TABLE audit_event_partitioned RENAME CONSTRAINT pk_audit_event TO pk_old")
    for index in _INDEXES:
        name = index.split()[2]
        op.execute(f"DROP INDEX {name}")
    op.execute(
        f"""
        CREATE TABLE audit_event (
          id bigint GENERATED ALWAYS AS IDENTITY,
          occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
          event text NOT NULL,
          outcome text NOT NULL,
          user_id bigint,
          username text,
          client_id bigint,
          client_name text,
          authorities text[] NOT NULL DEFAULT '{{}}',
          subject text,
          request_id text,
          client_address text,
          details jsonb NOT NULL DEFAULT '{{}}',
          salt uuid DEFAULT gen_random_uuid(),
          CONSTRAINT pk_audit_event PRIMARY KEY (id),
          CONSTRAINT fk_audit_event_user_id FOREIGN KEY (user_id) REFERENCES app_user (id),
          CONSTRAINT fk_audit_event_client_id FOREIGN KEY (client_id) REFERENCES api_client (id),
          CONSTRAINT ck_audit_event_event CHECK (event IN ({_OLD_EVENTS})) NOT VALID,
          CONSTRAINT ck_audit_event_outcome CHECK (outcome IN ('success', 'failure', 'denied'))
        )
        """
    )
    op.execute(
        f"INSERT INTO audit_event ({_COLUMNS}) OVERRIDING SYSTEM VALUE "
        f"SELECT {_COLUMNS} FROM audit_event_partitioned ORDER BY id"
    )
    op.execute(
        "SELECT setval(pg_get_serial_sequence('audit_event', 'id'), s.last_value, s.is_called) "
        "FROM audit_event_id_seq AS s"
    )
    op.execute("DROP TABLE audit_event_partitioned CASCADE")
    op.execute("ALTER SEQUENCE audit_event_id_seq1 RENAME TO audit_event_id_seq")
    op.execute("DROP FUNCTION cp_audit_ensure_partitions(date, date)")
    op.execute("DROP FUNCTION cp_audit_create_month(date)")
    for index in _INDEXES:
        op.execute(index)
    for trigger in _TRIGGERS:
        op.execute(trigger)
    op.execute("DROP TRIGGER tg_break_glass_review_view_exists ON break_glass_review")
    op.execute("DROP FUNCTION cp_break_glass_review_view_exists()")
    op.execute(
        "ALTER TABLE break_glass_review ADD CONSTRAINT fk_break_glass_review_view_event_id "
        "FOREIGN KEY (view_event_id) REFERENCES audit_event (id)"
    )
