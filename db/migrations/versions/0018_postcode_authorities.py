"""Which local authority a postcode belongs to, so that a move between areas moves the child.

Revision ID: 0018
Revises: 0017

- `postcode_authority`: a full postcode (as `mappings.postcodes.normalise_postcode` writes it)
  or a postcode district (its outward code) and the local authority it lies in. A full
  postcode's row wins over its district's: districts can straddle authorities. Loaded from the
  ONS Postcode Directory (`contactpoint postcodes load`); see docs/postcode-authorities.md.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_STATEMENTS = [
    """
    CREATE TABLE postcode_authority (
      postcode text NOT NULL,
      local_authority_code text NOT NULL,
      CONSTRAINT pk_postcode_authority PRIMARY KEY (postcode),
      CONSTRAINT fk_postcode_authority_local_authority_code FOREIGN KEY (local_authority_code)
        REFERENCES local_authority (code),
      CONSTRAINT ck_postcode_authority_postcode
        CHECK (postcode ~ '^[A-Z]{1,2}[0-9][0-9A-Z]?( [0-9][A-Z]{2})?$')
    )
    """,
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE postcode_authority")
