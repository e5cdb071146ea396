"""Value frequencies of the match engine, kept in PostgreSQL and rebuilt from the children.

Revision ID: 0009
Revises: 0008

The match engine weighs an exact agreement by how rare the agreeing value is (a common family
name says little). `match_frequency` holds, per comparison, how many children hold each value
(values held by at least two; one held by none of them counts as held once), and
`match_frequency_total` how many children they were counted over and when. Both are replaced
whole by a rebuild; nothing else writes them.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_STATEMENTS = [
    """
    CREATE TABLE match_frequency (
      comparison text NOT NULL,
      value text NOT NULL,
      holders bigint NOT NULL,
      CONSTRAINT pk_match_frequency PRIMARY KEY (comparison, value),
      CONSTRAINT ck_match_frequency_holders CHECK (holders > 0)
    )
    """,
    # One row per comparison counted, so a comparison with no repeated value is still known.
    """
    CREATE TABLE match_frequency_total (
      comparison text NOT NULL,
      population bigint NOT NULL,
      rebuilt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT pk_match_frequency_total PRIMARY KEY (comparison),
      CONSTRAINT ck_match_frequency_total_population CHECK (population >= 0)
    )
    """,
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE match_frequency_total")
    op.execute("DROP TABLE match_frequency")
