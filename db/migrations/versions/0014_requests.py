"""Practitioners' requests to a child's authority team: a shield, and brokered contact.

Revision ID: 0014
Revises: 0013

- `shield_request`: a practitioner asks for a child to be shielded, with a reason; a manager of
  the child's authority (kept as it was at the request) applies the shield or declines, with a
  reason. The requester sees the outcome.
- `contact_request`: a practitioner asks the child's authority team to put them in touch with a
  sensitive service (`involvement_id`) or with those working with a shielded child, saying why
  and how to reach them; a manager records it brokered or declined, with a note, and when.
- The audit's events gain `shield_requested`, `shield_request_decided` and `contact_requested`
  (`contact_brokered` exists: a decision of a contact request, brokered or declined).
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_OLD_EVENTS = (
    "'sign_in', 'sign_out', 'access_denied', 'search', 'view', 'shield_applied', "
    "'shield_removed', 'consent_override', 'contact_brokered', 'user_created', "
    "'user_suspended', 'user_reinstated', 'user_reset', 'client_created', 'client_revoked', "
    "'audit_read', 'audit_exported', 'misuse_report', 'load', 'reindex', "
    "'shield_access_granted', 'shield_access_revoked', 'consent_recorded', "
    "'break_glass_reviewed', 'request_refused', 'feed_review_viewed', 'feed_review_decided', "
    "'children_merged', 'children_unmerged', 'shield_list_read'"
)
_NEW_EVENTS = f"{_OLD_EVENTS}, 'shield_requested', 'shield_request_decided', 'contact_requested'"

_COMMON = """
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      local_authority_code text,
      requested_by_user_id bigint,
      requested_by text NOT NULL,
      requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      reason text NOT NULL,
      outcome text,
      decided_by text,
      decided_at timestamptz,
      decision_reason text,
"""


def _constraints(table: str, outcomes: str) -> str:
    return f"""
      CONSTRAINT pk_{table} PRIMARY KEY (id),
      CONSTRAINT fk_{table}_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT fk_{table}_local_authority_code FOREIGN KEY (local_authority_code)
        REFERENCES local_authority (code),
      CONSTRAINT fk_{table}_requested_by_user_id FOREIGN KEY (requested_by_user_id)
        REFERENCES app_user (id),
      CONSTRAINT ck_{table}_reason CHECK (cp_is_clean_text(reason, 500)),
      CONSTRAINT ck_{table}_outcome CHECK (outcome IN ({outcomes})),
      CONSTRAINT ck_{table}_decided CHECK (
        num_nonnulls(outcome, decided_by, decided_at, decision_reason) IN (0, 4)
        AND cp_is_clean_text(decision_reason, 500)
      ),
      CONSTRAINT ck_{table}_after CHECK (decided_at >= requested_at)
    """


_STATEMENTS = [
    f"""
    CREATE TABLE shield_request (
      {_COMMON}
      {_constraints("shield_request", "'applied', 'declined'")}
    )
    """,
    f"""
    CREATE TABLE contact_request (
      {_COMMON}
      involvement_id bigint,
      contact text NOT NULL,
      {_constraints("contact_request", "'brokered', 'declined'")},
      CONSTRAINT fk_contact_request_involvement_id FOREIGN KEY (involvement_id)
        REFERENCES involvement (id) ON DELETE SET NULL,
      CONSTRAINT ck_contact_request_contact CHECK (cp_is_clean_text(contact, 200))
    )
    """,
    # What the managers' queues and a requester's list ask for.
    "CREATE INDEX ix_shield_request_open ON shield_request (local_authority_code, requested_at)"
    " WHERE outcome IS NULL",
    "CREATE INDEX ix_shield_request_requested_by ON shield_request (requested_by, requested_at)",
    "CREATE INDEX ix_shield_request_child_id ON shield_request (child_id)",
    "CREATE INDEX ix_contact_request_open ON contact_request (local_authority_code, requested_at)"
    " WHERE outcome IS NULL",
    "CREATE INDEX ix_contact_request_requested_by ON contact_request (requested_by, requested_at)",
    "CREATE INDEX ix_contact_request_child_id ON contact_request (child_id)",
    "CREATE INDEX ix_contact_request_requested_at ON contact_request (requested_at)",
    "ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event",
    f"ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS}))",
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE contact_request")
    op.execute("DROP TABLE shield_request")
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    # NOT VALID: audit rows of the newer events stay (the audit is append-only).
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_OLD_EVENTS})) NOT VALID"
    )
