"""A child's history: other names (former family names, aliases) and previous addresses.

Revision ID: 0010
Revises: 0009

A child who moved or changed name must still be found by what a practitioner knows, so the
index holds these too (searchable at a lower weight). Like carers, both hang off the child:
a change to them is a change to the child (its version moves and the outbox gets a row,
through the functions of 0002), and they go with the child when it is deleted.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TABLES = ("other_name", "previous_address")

_STATEMENTS = [
    """
    CREATE TABLE other_name (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      position smallint NOT NULL,
      family_name text NOT NULL,
      given_names text,
      kind text,
      CONSTRAINT pk_other_name PRIMARY KEY (id),
      CONSTRAINT uq_other_name_child_id_position UNIQUE (child_id, position),
      CONSTRAINT fk_other_name_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT ck_other_name_position CHECK (position BETWEEN 0 AND 9),
      CONSTRAINT ck_other_name_family_name CHECK (cp_is_clean_text(family_name, 100)),
      CONSTRAINT ck_other_name_given_names CHECK (cp_is_clean_text(given_names, 100)),
      CONSTRAINT ck_other_name_kind CHECK (kind IN ('former', 'alias', 'other'))
    )
    """,
    """
    CREATE TABLE previous_address (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      position smallint NOT NULL,
      postcode text NOT NULL,
      town text,
      from_date date,
      to_date date,
      CONSTRAINT pk_previous_address PRIMARY KEY (id),
      CONSTRAINT uq_previous_address_child_id_position UNIQUE (child_id, position),
      CONSTRAINT fk_previous_address_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT ck_previous_address_position CHECK (position BETWEEN 0 AND 9),
      CONSTRAINT ck_previous_address_postcode CHECK (cp_is_postcode(postcode)),
      CONSTRAINT ck_previous_address_town CHECK (cp_is_clean_text(town, 60)),
      -- "Not in the future" needs now(): the loader checks it.
      CONSTRAINT ck_previous_address_dates CHECK (from_date <= to_date)
    )
    """,
]
for _table in _TABLES:
    _STATEMENTS += [
        f"""
        CREATE TRIGGER tg_outbox_{_table}_insert AFTER INSERT ON {_table}
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_dependent_new()
        """,
        f"""
        CREATE TRIGGER tg_outbox_{_table}_update AFTER UPDATE ON {_table}
        REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_dependent_both()
        """,
        f"""
        CREATE TRIGGER tg_outbox_{_table}_delete AFTER DELETE ON {_table}
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION cp_outbox_dependent_old()
        """,
    ]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    # The triggers go with their tables.
    for table in reversed(_TABLES):
        op.execute(f"DROP TABLE {table}")
