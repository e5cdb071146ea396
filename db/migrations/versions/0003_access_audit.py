"""Access and audit: users, CMS clients, sessions, sign-in throttles and the append-only audit.

Revision ID: 0003
Revises: 0002

Secrets are never stored: passwords and PINs as argon2id hashes, session tokens and API keys
as SHA-256 digests (both are 256-bit random strings, so a fast digest is enough). The audit
refuses UPDATE and DELETE by trigger, for every role; `db.migrate` also revokes those rights
from the application role.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ROLES = "'practitioner', 'la_manager', 'admin', 'auditor'"
# Machine clients act for practitioners or authority teams, never as administrators or auditors.
_CLIENT_ROLES = "'practitioner', 'la_manager'"
_EVENTS = (
    "'sign_in', 'sign_out', 'access_denied', 'search', 'view', 'shield_applied', "
    "'shield_removed', 'consent_override', 'contact_brokered', 'user_created', "
    "'user_suspended', 'user_reinstated', 'user_reset', 'client_created', 'client_revoked', "
    "'audit_read', 'audit_exported', 'misuse_report', 'load', 'reindex'"
)

_STATEMENTS = [
    f"""
    CREATE TABLE app_user (
      id bigint GENERATED ALWAYS AS IDENTITY,
      username text NOT NULL,
      roles text[] NOT NULL,
      organisation text,
      child_protection boolean NOT NULL DEFAULT false,
      is_demo boolean NOT NULL DEFAULT false,
      password_hash text NOT NULL,
      pin_hash text NOT NULL,
      totp_secret text NOT NULL,
      totp_last_step bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      credentials_changed_at timestamptz NOT NULL DEFAULT now(),
      suspended_at timestamptz,
      expires_at timestamptz,
      CONSTRAINT pk_app_user PRIMARY KEY (id),
      CONSTRAINT uq_app_user_username UNIQUE (username),
      CONSTRAINT ck_app_user_username CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{{2,99}}$'),
      CONSTRAINT ck_app_user_roles CHECK (
        cardinality(roles) >= 1 AND roles <@ ARRAY[{_ROLES}]::text[]
      ),
      CONSTRAINT ck_app_user_child_protection CHECK (
        NOT child_protection OR 'practitioner' = ANY (roles)
      ),
      CONSTRAINT ck_app_user_organisation CHECK (cp_is_clean_text(organisation, 200))
    )
    """,
    """
    CREATE TABLE app_user_authority (
      user_id bigint NOT NULL,
      local_authority_code text NOT NULL,
      CONSTRAINT pk_app_user_authority PRIMARY KEY (user_id, local_authority_code),
      CONSTRAINT fk_app_user_authority_user_id FOREIGN KEY (user_id)
        REFERENCES app_user (id) ON DELETE CASCADE,
      CONSTRAINT fk_app_user_authority_local_authority_code FOREIGN KEY (local_authority_code)
        REFERENCES local_authority (code)
    )
    """,
    "CREATE INDEX ix_app_user_authority_local_authority_code "
    "ON app_user_authority (local_authority_code)",
    f"""
    CREATE TABLE api_client (
      id bigint GENERATED ALWAYS AS IDENTITY,
      name text NOT NULL,
      key_id text NOT NULL,
      key_hash bytea NOT NULL,
      roles text[] NOT NULL,
      local_authority_code text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      CONSTRAINT pk_api_client PRIMARY KEY (id),
      CONSTRAINT uq_api_client_name UNIQUE (name),
      CONSTRAINT uq_api_client_key_id UNIQUE (key_id),
      CONSTRAINT fk_api_client_local_authority_code FOREIGN KEY (local_authority_code)
        REFERENCES local_authority (code),
      CONSTRAINT ck_api_client_name CHECK (cp_is_clean_text(name, 100)),
      CONSTRAINT ck_api_client_key_hash CHECK (octet_length(key_hash) = 32),
      CONSTRAINT ck_api_client_roles CHECK (
        cardinality(roles) >= 1 AND roles <@ ARRAY[{_CLIENT_ROLES}]::text[]
      )
    )
    """,
    """
    CREATE TABLE user_session (
      id bigint GENERATED ALWAYS AS IDENTITY,
      token_hash bytea NOT NULL,
      user_id bigint NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      client_address text,
      CONSTRAINT pk_user_session PRIMARY KEY (id),
      CONSTRAINT uq_user_session_token_hash UNIQUE (token_hash),
      CONSTRAINT fk_user_session_user_id FOREIGN KEY (user_id)
        REFERENCES app_user (id) ON DELETE CASCADE,
      CONSTRAINT ck_user_session_token_hash CHECK (octet_length(token_hash) = 32)
    )
    """,
    "CREATE INDEX ix_user_session_user_id ON user_session (user_id)",
    # Fixed-window counters shared by every API process: one row per bucket and window.
    """
    CREATE TABLE sign_in_throttle (
      bucket text NOT NULL,
      window_start timestamptz NOT NULL,
      hits integer NOT NULL,
      CONSTRAINT pk_sign_in_throttle PRIMARY KEY (bucket, window_start)
    )
    """,
    # Keyed by the name typed, not by a user row: unknown names lock out exactly like real
    # ones, so the lockout message does not reveal which accounts exist.
    """
    CREATE TABLE sign_in_lockout (
      username text NOT NULL,
      failures integer NOT NULL,
      last_failure_at timestamptz NOT NULL,
      locked_until timestamptz,
      CONSTRAINT pk_sign_in_lockout PRIMARY KEY (username)
    )
    """,
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
      CONSTRAINT pk_audit_event PRIMARY KEY (id),
      CONSTRAINT fk_audit_event_user_id FOREIGN KEY (user_id) REFERENCES app_user (id),
      CONSTRAINT fk_audit_event_client_id FOREIGN KEY (client_id) REFERENCES api_client (id),
      CONSTRAINT ck_audit_event_event CHECK (event IN ({_EVENTS})),
      CONSTRAINT ck_audit_event_outcome CHECK (outcome IN ('success', 'failure', 'denied'))
    )
    """,
    "CREATE INDEX ix_audit_event_occurred_at ON audit_event (occurred_at)",
    "CREATE INDEX ix_audit_event_user_id_occurred_at ON audit_event (user_id, occurred_at)",
    "CREATE INDEX ix_audit_event_event_occurred_at ON audit_event (event, occurred_at)",
    "CREATE INDEX ix_audit_event_authorities ON audit_event USING gin (authorities)",
    r"""
    CREATE FUNCTION cp_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'tg_audit_event_append_only';
    END
    $$
    """,
    """
    CREATE TRIGGER tg_audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
      FOR EACH ROW EXECUTE FUNCTION cp_audit_append_only()
    """,
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "audit_event",
        "sign_in_lockout",
        "sign_in_throttle",
        "user_session",
        "api_client",
        "app_user_authority",
        "app_user",
    ):
        op.execute(f"DROP TABLE {table}")
    op.execute("DROP FUNCTION cp_audit_append_only()")
