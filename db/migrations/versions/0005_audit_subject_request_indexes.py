"""Indexes for reading the audit by child (subject) and by request id.

Revision ID: 0005
Revises: 0004

Auditors and managers filter the audit by the child an event was about and by the request id a
caller quotes; on an audit of millions of rows a day these filters would scan the table.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_audit_event_subject_occurred_at ON audit_event (subject, occurred_at)"
    )
    op.execute("CREATE INDEX ix_audit_event_request_id ON audit_event (request_id)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_audit_event_request_id")
    op.execute("DROP INDEX ix_audit_event_subject_occurred_at")
