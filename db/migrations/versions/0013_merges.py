"""Merges of two children found to be one, and the review queue's decisions.

Revision ID: 0013
Revises: 0012

- `child.status` gains `merged`, and `child.merged_into_id` names the survivor (set exactly
  when merged). A merged child leaves search and the record view answers with the survivor,
  as NHS PDS's superseded records do; its row stays, so an unmerge can restore it.
- `child_merge`: one row per merge, with what moved (involvements, source identifiers, feed
  records) and the shield the survivor gained, so that an unmerge gives each child back what
  it had. `unmerged_at` is set when it was undone; at most one merge of a child is in force.
- `feed_review` gains who escalated an item as "not sure" (it stays open for another person)
  and the child a decision linked the record to or created.
- The audit's events gain the review queue's (`feed_review_viewed`, `feed_review_decided`)
  and the merges' (`children_merged`, `children_unmerged`), and a manager's reading of the list
  of their authorities' shielded children (`shield_list_read`).
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_OLD_EVENTS = (
    "'sign_in', 'sign_out', 'access_denied', 'search', 'view', 'shield_applied', "
    "'shield_removed', 'consent_override', 'contact_brokered', 'user_created', "
    "'user_suspended', 'user_reinstated', 'user_reset', 'client_created', 'client_revoked', "
    "'audit_read', 'audit_exported', 'misuse_report', 'load', 'reindex', "
    "'shield_access_granted', 'shield_access_revoked', 'consent_recorded', "
    "'break_glass_reviewed', 'request_refused'"
)
_NEW_EVENTS = (
    f"{_OLD_EVENTS}, 'feed_review_viewed', 'feed_review_decided', 'children_merged', "
    "'children_unmerged', 'shield_list_read'"
)

_STATEMENTS = [
    "ALTER TABLE child DROP CONSTRAINT ck_child_status",
    "ALTER TABLE child ADD CONSTRAINT ck_child_status "
    "CHECK (status IN ('active', 'archived', 'merged'))",
    "ALTER TABLE child ADD COLUMN merged_into_id bigint",
    "ALTER TABLE child ADD CONSTRAINT fk_child_merged_into_id FOREIGN KEY (merged_into_id) "
    "REFERENCES child (id)",
    "ALTER TABLE child ADD CONSTRAINT ck_child_merged_into "
    "CHECK ((status = 'merged') = (merged_into_id IS NOT NULL) AND merged_into_id <> id)",
    "CREATE INDEX ix_child_merged_into_id ON child (merged_into_id) "
    "WHERE merged_into_id IS NOT NULL",
    """
    CREATE TABLE child_merge (
      id bigint GENERATED ALWAYS AS IDENTITY,
      survivor_id bigint NOT NULL,
      merged_id bigint NOT NULL,
      merged_status text NOT NULL,
      merged_by text NOT NULL,
      merged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      reason text NOT NULL,
      moved jsonb NOT NULL,
      unmerged_by text,
      unmerged_at timestamptz,
      unmerge_reason text,
      CONSTRAINT pk_child_merge PRIMARY KEY (id),
      CONSTRAINT fk_child_merge_survivor_id FOREIGN KEY (survivor_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT fk_child_merge_merged_id FOREIGN KEY (merged_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT ck_child_merge_two CHECK (survivor_id <> merged_id),
      CONSTRAINT ck_child_merge_merged_status CHECK (merged_status IN ('active', 'archived')),
      CONSTRAINT ck_child_merge_reason CHECK (cp_is_clean_text(reason, 1000)),
      CONSTRAINT ck_child_merge_by CHECK (cp_is_clean_text(merged_by, 200)),
      CONSTRAINT ck_child_merge_unmerged CHECK (
        num_nonnulls(unmerged_by, unmerged_at, unmerge_reason) IN (0, 3)
        AND cp_is_clean_text(unmerge_reason, 1000)
      )
    )
    """,
    # A child is merged away at most once at a time.
    """
    CREATE UNIQUE INDEX uq_child_merge_in_force ON child_merge (merged_id)
      WHERE unmerged_at IS NULL
    """,
    "CREATE INDEX ix_child_merge_survivor_id ON child_merge (survivor_id)",
    "ALTER TABLE feed_review ADD COLUMN escalated_by text",
    "ALTER TABLE feed_review ADD COLUMN escalated_at timestamptz",
    "ALTER TABLE feed_review ADD COLUMN child_id bigint",
    "ALTER TABLE feed_review ADD CONSTRAINT fk_feed_review_child_id FOREIGN KEY (child_id) "
    "REFERENCES child (id) ON DELETE SET NULL",
    "ALTER TABLE feed_review ADD CONSTRAINT ck_feed_review_escalated "
    "CHECK ((escalated_by IS NULL) = (escalated_at IS NULL) "
    "AND cp_is_clean_text(escalated_by, 200))",
    "ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event",
    f"ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event CHECK (event IN ({_NEW_EVENTS}))",
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE child_merge")
    for column in ("escalated_by", "escalated_at", "child_id"):
        op.execute(f"ALTER TABLE feed_review DROP COLUMN {column}")
    op.execute("UPDATE child SET status = 'archived' WHERE status = 'merged'")
    op.execute("ALTER TABLE child DROP COLUMN merged_into_id")
    op.execute("ALTER TABLE child DROP CONSTRAINT ck_child_status")
    op.execute(
        "ALTER TABLE child ADD CONSTRAINT ck_child_status CHECK (status IN ('active', 'archived'))"
    )
    op.execute("ALTER TABLE audit_event DROP CONSTRAINT ck_audit_event_event")
    # NOT VALID: audit rows of the newer events stay (the audit is append-only).
    op.execute(
        "ALTER TABLE audit_event ADD CONSTRAINT ck_audit_event_event "
        f"CHECK (event IN ({_OLD_EVENTS})) NOT VALID"
    )
