"""Break glass is reviewed: every break-glass view waits for an outcome from the child's managers.

Revision ID: 0008
Revises: 0007

`break_glass_review` holds one row per break-glass view (beside its audit row), open until a
manager of the child's authority records an outcome: justified, or referred for investigation,
with a reason. The audit's event CHECK gains `break_glass_reviewed` and `request_refused` (a
refused request of a known principal, which the misuse report counts as fishing).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OLD_EVENTS = (
    "'sign_in', 'sign_out', 'access_denied', 'search', 'view', 'shield_applied', "
    "'shield_removed', 'consent_override', 'contact_brokered', 'user_created', "
    "'user_suspended', 'user_reinstated', 'user_reset', 'client_created', 'client_revoked', "
    "'audit_read', 'audit_exported', 'misuse_report', 'load', 'reindex', "
    "'shield_access_granted', 'shield_access_revoked', 'consent_recorded'"
)
_NEW_EVENTS = f"{_OLD_EVENTS}, 'break_glass_reviewed', 'request_refused'"

_STATEMENTS = [
    # The child's authority is kept as it was at the view: a child who moves later is still
    # reviewed by the managers whose shielded location was seen. NULL when it had none (then
    # no manager may review it, and it heads the auditors' misuse report).
    """
    CREATE TABLE break_glass_review (
      id bigint GENERATED ALWAYS AS IDENTITY,
      view_event_id bigint NOT NULL,
      child_id bigint NOT NULL,
      local_authority_code text,
      broken_by_user_id bigint,
      broken_by text NOT NULL,
      client_id bigint,
      client_name text,
      broken_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      reason text NOT NULL,
      outcome text,
      outcome_reason text,
      reviewed_by_user_id bigint,
      reviewed_by text,
      reviewed_at timestamptz,
      CONSTRAINT pk_break_glass_review PRIMARY KEY (id),
      CONSTRAINT uq_break_glass_review_view_event_id UNIQUE (view_event_id),
      CONSTRAINT fk_break_glass_review_view_event_id FOREIGN KEY (view_event_id)
        REFERENCES audit_event (id),
      CONSTRAINT fk_break_glass_review_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT fk_break_glass_review_local_authority_code FOREIGN KEY (local_authority_code)
        REFERENCES local_authority (code),
      CONSTRAINT fk_break_glass_review_broken_by_user_id FOREIGN KEY (broken_by_user_id)
        REFERENCES app_user (id),
      CONSTRAINT fk_break_glass_review_client_id FOREIGN KEY (client_id)
        REFERENCES api_client (id),
      CONSTRAINT fk_break_glass_review_reviewed_by_user_id FOREIGN KEY (reviewed_by_user_id)
        REFERENCES app_user (id),
      CONSTRAINT ck_break_glass_review_reason CHECK (
        length(reason) BETWEEN 1 AND 1000 AND reason !~ '[[:cntrl:]]'
      ),
      CONSTRAINT ck_break_glass_review_outcome CHECK (
        outcome IN ('justified', 'referred_for_investigation')
      ),
      CONSTRAINT ck_break_glass_review_outcome_parts CHECK (
        num_nonnulls(outcome, outcome_reason, reviewed_by, reviewed_at) IN (0, 4)
        AND (outcome IS NULL OR reviewed_by_user_id IS NOT NULL)
        AND cp_is_clean_text(outcome_reason, 500)
      ),
      CONSTRAINT ck_break_glass_review_not_own CHECK (reviewed_by <> broken_by),
      CONSTRAINT ck_break_glass_review_after CHECK (reviewed_at >= broken_at)
    )
    """,
    # What a manager's home page and the misuse report ask for: the open ones.
    """
    CREATE INDEX ix_break_glass_review_open ON break_glass_review
      (local_authority_code, broken_at) WHERE outcome IS NULL
    """,
    "CREATE INDEX ix_break_glass_review_child_id ON break_glass_review (child_id)",
    "ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event",
    f"ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS}))",
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE break_glass_review")
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    # NOT VALID: audit rows of the newer events stay (the audit is append-only).
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_OLD_EVENTS})) NOT VALID"
    )
