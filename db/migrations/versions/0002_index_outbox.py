"""Transactional outbox for the search index: every change to a child reaches the indexer.

Triggers, not application code, write the outbox, so a change made by any program (bulk SQL
included) is captured in the same transaction as the change itself.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_STATEMENTS = [
    """
    CREATE TABLE index_outbox (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      child_id bigint NOT NULL,
      identifier text NOT NULL,
      record_version bigint NOT NULL,
      operation text NOT NULL CONSTRAINT ck_index_outbox_operation
        CHECK (operation IN ('upsert', 'delete')),
      enqueued_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )
    """,
    "CREATE INDEX ix_index_outbox_enqueued_at ON index_outbox (enqueued_at)",
    """
    CREATE TABLE index_dead_letter (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      child_id bigint NOT NULL,
      identifier text NOT NULL,
      record_version bigint NOT NULL,
      operation text NOT NULL,
      reason text NOT NULL,
      enqueued_at timestamptz NOT NULL,
      failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )
    """,
    # Physical indices the reindex is building: the live indexer writes to them too, so that
    # changes committed during a reindex reach the new index before the alias swap.
    """
    CREATE TABLE index_build (
      name text PRIMARY KEY,
      state text NOT NULL CONSTRAINT ck_index_build_state
        CHECK (state IN ('building', 'done', 'failed')),
      started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      finished_at timestamptz
    )
    """,
    # A changed child: one outbox row per row whose version moved, then wake the indexers.
    r"""
    CREATE FUNCTION cp_outbox_child_upsert() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO index_outbox (child_id, identifier, record_version, operation)
      SELECT n.id, n.identifier, n.record_version, 'upsert' FROM new_rows n;
      PERFORM pg_notify('index_outbox', '');
      RETURN NULL;
    END
    $$
    """,
    r"""
    CREATE FUNCTION cp_outbox_child_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO index_outbox (child_id, identifier, record_version, operation)
      SELECT o.id, o.identifier, o.record_version + 1, 'delete' FROM old_rows o;
      PERFORM pg_notify('index_outbox', '');
      RETURN NULL;
    END
    $$
    """,
    # A change to what hangs off a child (carers, involvements, shields) is a change to the
    # child: its version moves (through tg_child_versioning) and the outbox gets a row. A child
    # already written in this transaction has its outbox row, and the indexer reads the state
    # at commit, so it is skipped (xmin is the writing transaction).
    r"""
    CREATE FUNCTION cp_touch_children(child_ids bigint[]) RETURNS void
    LANGUAGE sql AS $$
      UPDATE child SET updated_at = clock_timestamp()
      WHERE id = ANY(child_ids)
        AND xmin::text <> (pg_current_xact_id()::text::bigint % 4294967296)::text
    $$
    """,
    r"""
    CREATE FUNCTION cp_outbox_dependent_new() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM cp_touch_children(ARRAY(SELECT DISTINCT child_id FROM new_rows));
      RETURN NULL;
    END
    $$
    """,
    r"""
    CREATE FUNCTION cp_outbox_dependent_old() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM cp_touch_children(ARRAY(SELECT DISTINCT child_id FROM old_rows));
      RETURN NULL;
    END
    $$
    """,
    r"""
    CREATE FUNCTION cp_outbox_dependent_both() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM cp_touch_children(ARRAY(
        SELECT child_id FROM new_rows UNION SELECT child_id FROM old_rows));
      RETURN NULL;
    END
    $$
    """,
    # An organisation's name or contact details: every child that names it is touched.
    r"""
    CREATE FUNCTION cp_outbox_organisation() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM cp_touch_children(ARRAY(
        SELECT c.id FROM child c JOIN new_rows n
          ON c.education_setting_id = n.id OR c.gp_practice_id = n.id
        UNION
        SELECT i.child_id FROM involvement i JOIN new_rows n ON i.organisation_id = n.id));
      RETURN NULL;
    END
    $$
    """,
    r"""
    CREATE FUNCTION cp_outbox_practitioner() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM cp_touch_children(ARRAY(
        SELECT i.child_id FROM involvement i JOIN new_rows n ON i.practitioner_id = n.id));
      RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER tg_outbox_child_insert AFTER INSERT ON child
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_child_upsert()
    """,
    """
    CREATE TRIGGER tg_outbox_child_update AFTER UPDATE ON child
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_child_upsert()
    """,
    """
    CREATE TRIGGER tg_outbox_child_delete AFTER DELETE ON child
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_child_delete()
    """,
]

_DEPENDENTS = ("carer", "involvement", "shield")
for _table in _DEPENDENTS:
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
_STATEMENTS += [
    """
    CREATE TRIGGER tg_outbox_organisation_update AFTER UPDATE ON organisation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_organisation()
    """,
    """
    CREATE TRIGGER tg_outbox_practitioner_update AFTER UPDATE ON practitioner
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_practitioner()
    """,
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in _DEPENDENTS:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS tg_outbox_{table}_{event} ON {table}")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS tg_outbox_child_{event} ON child")
    op.execute("DROP TRIGGER IF EXISTS tg_outbox_organisation_update ON organisation")
    op.execute("DROP TRIGGER IF EXISTS tg_outbox_practitioner_update ON practitioner")
    for function in (
        "cp_outbox_practitioner()",
        "cp_outbox_organisation()",
        "cp_outbox_dependent_both()",
        "cp_outbox_dependent_old()",
        "cp_outbox_dependent_new()",
        "cp_touch_children(bigint[])",
        "cp_outbox_child_delete()",
        "cp_outbox_child_upsert()",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
    for table in ("index_build", "index_dead_letter", "index_outbox"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
