"""Indexes for destroying children at speed: the outbox by child, and the two foreign keys
that a child's destruction checks without one.

Revision ID: 0024
Revises: 0023

- `index_outbox (child_id)`: destruction drops a batch's queued changes (and those its own
  deletes queued) by child; without it each batch read the whole outbox, once per child.
- `feed_review (child_id)` and `contact_request (involvement_id)`: deleting a child (or its
  involvements) looks up the review items and requests that name it, one lookup per row.
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_index_outbox_child_id": "index_outbox (child_id)",
    "ix_feed_review_child_id": "feed_review (child_id)",
    "ix_contact_request_involvement_id": "contact_request (involvement_id)",
}


def upgrade() -> None:
    for name, target in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {target}")


def downgrade() -> None:
    for name in _INDEXES:
        op.execute(f"DROP INDEX {name}")
