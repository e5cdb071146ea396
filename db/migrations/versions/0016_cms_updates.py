"""Updates from CMS clients: a client's organisation, idempotency records, and their audit.

Revision ID: 0016
Revises: 0015

- `api_client.organisation_id`: the organisation (a service, a GP practice, a school) a CMS
  writes for. NULL for the clients registered before: they stay read-only.
- `idempotency_record`: the first answer to a write sent with an `Idempotency-Key`, per client,
  with the digest of its method, path and body; a retry with the same key and body gets the
  same answer without writing again. `contactpoint clients purge-keys` deletes old ones.
- The audit's events gain `involvement_started`, `involvement_changed` and `address_changed`.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
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
    "'shield_requested', 'shield_request_decided', 'contact_requested'"
)
_NEW_EVENTS = f"{_OLD_EVENTS}, 'involvement_started', 'involvement_changed', 'address_changed'"

_STATEMENTS = [
    "ALTER TABLE api_client ADD COLUMN organisation_id bigint",
    """
    ALTER TABLE api_client ADD CONSTRAINT fk_api_client_organisation_id
      FOREIGN KEY (organisation_id) REFERENCES organisation (id)
    """,
    "CREATE INDEX ix_api_client_organisation_id ON api_client (organisation_id)",
    """
    CREATE TABLE idempotency_record (
      id bigint GENERATED ALWAYS AS IDENTITY,
      client_id bigint NOT NULL,
      key text NOT NULL,
      request_digest bytea NOT NULL,
      status smallint,
      body jsonb,
      etag text,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT pk_idempotency_record PRIMARY KEY (id),
      CONSTRAINT uq_idempotency_record_client_id_key UNIQUE (client_id, key),
      CONSTRAINT fk_idempotency_record_client_id FOREIGN KEY (client_id)
        REFERENCES api_client (id) ON DELETE CASCADE,
      CONSTRAINT ck_idempotency_record_key CHECK (key ~ '^[!-~]{1,255}$'),
      CONSTRAINT ck_idempotency_record_digest CHECK (length(request_digest) = 32),
      CONSTRAINT ck_idempotency_record_answer CHECK (
        num_nonnulls(status, body) IN (0, 2) AND (status IS NULL OR status BETWEEN 200 AND 299)
      )
    )
    """,
    "CREATE INDEX ix_idempotency_record_created_at ON idempotency_record (created_at)",
    "ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event",
    f"ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS}))",
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE idempotency_record")
    op.execute("ALTER TABLE api_client DROP COLUMN organisation_id")
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    # NOT VALID: audit rows of the newer events stay (the audit is append-only).
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_OLD_EVENTS})) NOT VALID"
    )
