"""The match engine's u from the population: how many random pairs fell into each level.

Revision ID: 0011
Revises: 0010

u = P(level | two records are not the same child) depends on the population, so every
frequency rebuild (each reindex) samples random pairs of the children and counts the level of
each comparison: `match_level_count` holds, per comparison and level, the pairs that fell into
it, beside the pairs sampled with both values present. Replaced whole by a rebuild, like
`match_frequency`; nothing else writes it.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE match_level_count (
          comparison text NOT NULL,
          level text NOT NULL,
          pairs bigint NOT NULL,
          sampled bigint NOT NULL,
          rebuilt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
          CONSTRAINT pk_match_level_count PRIMARY KEY (comparison, level),
          CONSTRAINT ck_match_level_count_pairs CHECK (pairs >= 0 AND pairs <= sampled)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE match_level_count")
