"""Users' vetting: the identity check, the enhanced criminal-records (DBS) check and training.

Revision ID: 0021
Revises: 0020

- `app_user.identity_checked_by` / `identity_checked_on`: who checked the person's identity
  (a name) and when; both or neither.
- `app_user.dbs_checked_on`: the date of the enhanced DBS check (valid for three years by
  default, `VETTING_CHECK_VALID_YEARS`).
- `app_user.training_completed_on`: when the mandatory training was completed.
- NULL means not recorded, and an account without its whole vetting cannot sign in (nor can a
  CMS act for it) until an administrator records it. The existing accounts are left so: their
  vetting was never recorded, and nothing here can vouch for it. Demo accounts (demo data only)
  are recorded as vetted today, as `contactpoint demo-users` records them.
- The audit's events gain `user_vetting_recorded`.
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
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
    "'corrections_read', 'subject_access_report'"
)
_NEW_EVENTS = f"{_OLD_EVENTS}, 'user_vetting_recorded'"
# Who checked the identity: a name of 1 to 200 characters, trimmed, without control characters.
_CHECKED_BY = r"identity_checked_by ~ '^\S(.{0,198}\S)?$' AND identity_checked_by !~ '[[:cntrl:]]'"

_STATEMENTS = [
    "ALTER TABLE app_user ADD COLUMN identity_checked_by text",
    "ALTER TABLE app_user ADD COLUMN identity_checked_on date",
    "ALTER TABLE app_user ADD COLUMN dbs_checked_on date",
    "ALTER TABLE app_user ADD COLUMN training_completed_on date",
    f"""
    ALTER TABLE app_user ADD CONSTRAINT ck_app_user_identity_check CHECK (
      num_nonnulls(identity_checked_by, identity_checked_on) IN (0, 2)
      AND (identity_checked_by IS NULL OR ({_CHECKED_BY}))
    )
    """,
    """
    UPDATE app_user
    SET identity_checked_by = 'Demo data (not a real check)', identity_checked_on = current_date,
        dbs_checked_on = current_date, training_completed_on = current_date
    WHERE is_demo
    """,
    "ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event",
    f"ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS}))",
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE app_user DROP CONSTRAINT ck_app_user_identity_check")
    for column in (
        "training_completed_on",
        "dbs_checked_on",
        "identity_checked_on",
        "identity_checked_by",
    ):
        op.execute(f"ALTER TABLE app_user DROP COLUMN {column}")
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    # NOT VALID: audit rows of the newer events stay (the audit is append-only).
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_OLD_EVENTS})) NOT VALID"
    )
