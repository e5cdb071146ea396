"""Tamper evidence for the audit (signed, chained seals) and audit rows under their own names.

Revision ID: 0006
Revises: 0005

`audit_seal` is the chain: each seal covers the audit ids (after_event_id, through_event_id],
names its predecessor's digest and is signed (db/audit/seal.py). `audit_seal_entry` holds the
hash of every sealed row, so that a verifier can name the row that was changed, removed or
inserted later. Both are append-only like the audit. A BEFORE INSERT trigger on audit_event
refuses a row whose username or client name is not the one of its user or client id.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_STATEMENTS = [
    """
    CREATE TABLE audit_seal (
      position bigint NOT NULL,
      after_event_id bigint NOT NULL,
      through_event_id bigint NOT NULL,
      entries integer NOT NULL,
      prev_digest bytea NOT NULL,
      digest bytea NOT NULL,
      signature bytea NOT NULL,
      key_id text NOT NULL,
      sealed_at timestamptz NOT NULL,
      CONSTRAINT pk_audit_seal PRIMARY KEY (position),
      CONSTRAINT uq_audit_seal_through_event_id UNIQUE (through_event_id),
      CONSTRAINT ck_audit_seal_range CHECK (
        position >= 1 AND after_event_id >= 0 AND through_event_id > after_event_id
      ),
      CONSTRAINT ck_audit_seal_entries CHECK (entries >= 0),
      CONSTRAINT ck_audit_seal_digests CHECK (
        octet_length(prev_digest) = 32 AND octet_length(digest) = 32
      ),
      CONSTRAINT ck_audit_seal_signature CHECK (octet_length(signature) = 64)
    )
    """,
    # No foreign key to audit_event: an entry must outlive a removed row to name it.
    """
    CREATE TABLE audit_seal_entry (
      event_id bigint NOT NULL,
      seal_position bigint NOT NULL,
      row_hash bytea NOT NULL,
      CONSTRAINT pk_audit_seal_entry PRIMARY KEY (event_id),
      CONSTRAINT fk_audit_seal_entry_seal_position FOREIGN KEY (seal_position)
        REFERENCES audit_seal (position),
      CONSTRAINT ck_audit_seal_entry_row_hash CHECK (octet_length(row_hash) = 32)
    )
    """,
    "CREATE INDEX ix_audit_seal_entry_seal_position ON audit_seal_entry (seal_position)",
    # The function of 0003 refuses UPDATE and DELETE whatever the table.
    """
    CREATE TRIGGER tg_audit_seal_append_only BEFORE UPDATE OR DELETE ON audit_seal
      FOR EACH ROW EXECUTE FUNCTION cp_audit_append_only()
    """,
    """
    CREATE TRIGGER tg_audit_seal_entry_append_only BEFORE UPDATE OR DELETE ON audit_seal_entry
      FOR EACH ROW EXECUTE FUNCTION cp_audit_append_only()
    """,
    # Names are kept beside the ids so that the audit reads without joins and survives a
    # renamed client; this keeps them honest. Rows without an id (a failed sign-in, the CLI)
    # still carry the name given.
    r"""
    CREATE FUNCTION cp_audit_actor_names() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.user_id IS NOT NULL AND NEW.username IS DISTINCT FROM
          (SELECT username FROM app_user WHERE id = NEW.user_id) THEN
        RAISE EXCEPTION 'an audit row of user id % must carry that user''s username',
          NEW.user_id
          USING ERRCODE = 'check_violation', CONSTRAINT = 'tg_audit_event_actor_names';
      END IF;
      IF NEW.client_id IS NOT NULL AND NEW.client_name IS DISTINCT FROM
          (SELECT name FROM api_client WHERE id = NEW.client_id) THEN
        RAISE EXCEPTION 'an audit row of client id % must carry that client''s name',
          NEW.client_id
          USING ERRCODE = 'check_violation', CONSTRAINT = 'tg_audit_event_actor_names';
      END IF;
      RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER tg_audit_event_actor_names BEFORE INSERT ON audit_event
      FOR EACH ROW EXECUTE FUNCTION cp_audit_actor_names()
    """,
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER tg_audit_event_actor_names ON audit_event")
    op.execute("DROP FUNCTION cp_audit_actor_names()")
    op.execute("DROP TABLE audit_seal_entry")
    op.execute("DROP TABLE audit_seal")
