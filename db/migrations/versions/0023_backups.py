"""Backups in the audit: each backup made and each restore is an audit row.

Revision ID: 0023
Revises: 0022

A backup holds every child: who made one, when, and which file (its SHA-256), and who
restored one, are recorded like any other export (db/backup.py).
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
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
    "'corrections_read', 'subject_access_report', 'user_vetting_recorded', "
    "'archive_opened', 'audit_retention'"
)
_NEW_EVENTS = f"{_OLD_EVENTS}, 'backup_made', 'backup_restored'"


def upgrade() -> None:
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_NEW_EVENTS}))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    # NOT VALID: audit rows of the newer events stay (the audit is append-only).
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_OLD_EVENTS})) NOT VALID"
    )
