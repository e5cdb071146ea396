"""Search and record view: practitioners named for a shielded child, and their audit events.

Revision ID: 0004
Revises: 0003

A local authority's manager may name practitioners who may see a shielded child's location
(`shield_access`); a grant is revoked by recording its end, so the table is its own history.
The audit's event CHECK gains the events of shield access and consent.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OLD_EVENTS = (
    "'sign_in', 'sign_out', 'access_denied', 'search', 'view', 'shield_applied', "
    "'shield_removed', 'consent_override', 'contact_brokered', 'user_created', "
    "'user_suspended', 'user_reinstated', 'user_reset', 'client_created', 'client_revoked', "
    "'audit_read', 'audit_exported', 'misuse_report', 'load', 'reindex'"
)
_NEW_EVENTS = f"{_OLD_EVENTS}, 'shield_access_granted', 'shield_access_revoked', 'consent_recorded'"

_STATEMENTS = [
    """
    CREATE TABLE shield_access (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      username text NOT NULL,
      granted_by text NOT NULL,
      granted_at timestamptz NOT NULL DEFAULT now(),
      reason text NOT NULL,
      revoked_by text,
      revoked_at timestamptz,
      revoke_reason text,
      CONSTRAINT pk_shield_access PRIMARY KEY (id),
      CONSTRAINT fk_shield_access_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT ck_shield_access_reason CHECK (cp_is_clean_text(reason, 200)),
      CONSTRAINT ck_shield_access_revoked CHECK (
        num_nonnulls(revoked_by, revoked_at, revoke_reason) IN (0, 3)
        AND cp_is_clean_text(revoke_reason, 200)
      )
    )
    """,
    """
    CREATE UNIQUE INDEX uq_shield_access_active ON shield_access (child_id, username)
      WHERE revoked_at IS NULL
    """,
    "CREATE INDEX ix_shield_access_username ON shield_access (username)",
    "ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event",
    f"ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS}))",
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE shield_access")
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    # NOT VALID: audit rows of the newer events stay (the audit is append-only).
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_OLD_EVENTS})) NOT VALID"
    )
