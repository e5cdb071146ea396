"""The search page's results, kept for the browser's session (POST/redirect/GET).

Revision ID: 0015
Revises: 0014

- `saved_search`: what a signed-in browser typed into the search form, under an opaque random
  token that the results page's address holds (never a name or a date of birth). Found only with
  the session that saved it, and gone with it: deleted at sign-out and with the session's row.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_STATEMENTS = [
    """
    CREATE TABLE saved_search (
      id bigint GENERATED ALWAYS AS IDENTITY,
      token text NOT NULL,
      session_id bigint NOT NULL,
      criteria jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT pk_saved_search PRIMARY KEY (id),
      CONSTRAINT uq_saved_search_token UNIQUE (token),
      CONSTRAINT fk_saved_search_session_id FOREIGN KEY (session_id)
        REFERENCES user_session (id) ON DELETE CASCADE,
      CONSTRAINT ck_saved_search_token CHECK (token ~ '^[A-Za-z0-9_-]{22,64}$'),
      CONSTRAINT ck_saved_search_criteria CHECK (jsonb_typeof(criteria) = 'object')
    )
    """,
    "CREATE INDEX ix_saved_search_session_id ON saved_search (session_id, created_at)",
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE saved_search")
