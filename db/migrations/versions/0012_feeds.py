"""National feeds: the sources' identifiers of a child, each source record seen, the review
queue (and the records held because they may be a shielded child), and each field's source.

Revision ID: 0012
Revises: 0011

- `child_source_identifier`: a child keeps every identifier a source gave it (a UPN, an NHS
  number, a birth entry, a benefit claim's child); each names one child.
- `feed_record`: the latest version seen of each source record, what it said (normalised) and
  what became of it: linked to a child, a child created from it, sent to review, or held for a
  shield. A record seen again at the same or an older version changes nothing.
- `feed_review`: a record the engine could not decide, or one held because a candidate is a
  shielded child; `local_authority_code` is the authority whose team decides (for a hold, the
  shielded child's), with the candidates as the engine compared them.
- `child_field_source`: for each field of a child a feed set, which source said it, in which
  record, as of when (survivorship reads it to decide whether a newer record may replace it).
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_SOURCES = "'births', 'school-census', 'child-benefit', 'health'"

_STATEMENTS = [
    f"""
    CREATE TABLE child_source_identifier (
      id bigint GENERATED ALWAYS AS IDENTITY,
      child_id bigint NOT NULL,
      kind text NOT NULL,
      value text NOT NULL,
      source text NOT NULL,
      first_seen_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT pk_child_source_identifier PRIMARY KEY (id),
      CONSTRAINT uq_child_source_identifier_kind_value UNIQUE (kind, value),
      CONSTRAINT fk_child_source_identifier_child_id FOREIGN KEY (child_id)
        REFERENCES child (id) ON DELETE CASCADE,
      CONSTRAINT ck_child_source_identifier_kind
        CHECK (kind IN ('birth_entry', 'upn', 'benefit_child', 'nhs_number')),
      CONSTRAINT ck_child_source_identifier_value CHECK (cp_is_clean_text(value, 40)),
      CONSTRAINT ck_child_source_identifier_source CHECK (source IN ({_SOURCES}))
    )
    """,
    "CREATE INDEX ix_child_source_identifier_child_id ON child_source_identifier (child_id)",
    f"""
    CREATE TABLE feed_record (
      id bigint GENERATED ALWAYS AS IDENTITY,
      source text NOT NULL,
      record_id text NOT NULL,
      version bigint NOT NULL,
      as_of date NOT NULL,
      outcome text NOT NULL,
      child_id bigint,
      probability double precision,
      record jsonb NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT pk_feed_record PRIMARY KEY (id),
      CONSTRAINT uq_feed_record_source_record_id UNIQUE (source, record_id),
      CONSTRAINT fk_feed_record_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE SET NULL,
      CONSTRAINT ck_feed_record_source CHECK (source IN ({_SOURCES})),
      CONSTRAINT ck_feed_record_record_id CHECK (cp_is_clean_text(record_id, 60)),
      CONSTRAINT ck_feed_record_version CHECK (version >= 1),
      CONSTRAINT ck_feed_record_outcome CHECK (outcome IN ('linked', 'created', 'review', 'held')),
      -- A record in review or held is no child's yet (a linked child may later be destroyed).
      CONSTRAINT ck_feed_record_child CHECK (outcome IN ('linked', 'created') OR child_id IS NULL),
      CONSTRAINT ck_feed_record_probability CHECK (probability BETWEEN 0 AND 1)
    )
    """,
    "CREATE INDEX ix_feed_record_child_id ON feed_record (child_id)",
    """
    CREATE TABLE feed_review (
      id bigint GENERATED ALWAYS AS IDENTITY,
      feed_record_id bigint NOT NULL,
      kind text NOT NULL,
      local_authority_code text,
      candidates jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      decided_at timestamptz,
      decision text,
      decided_by text,
      CONSTRAINT pk_feed_review PRIMARY KEY (id),
      CONSTRAINT uq_feed_review_feed_record_id UNIQUE (feed_record_id),
      CONSTRAINT fk_feed_review_feed_record_id FOREIGN KEY (feed_record_id)
        REFERENCES feed_record (id) ON DELETE CASCADE,
      CONSTRAINT fk_feed_review_local_authority_code FOREIGN KEY (local_authority_code)
        REFERENCES local_authority (code),
      CONSTRAINT ck_feed_review_kind CHECK (kind IN ('review', 'shield_hold')),
      CONSTRAINT ck_feed_review_decision
        CHECK (decision IN ('same_child', 'new_child', 'not_sure')),
      CONSTRAINT ck_feed_review_decided CHECK ((decided_at IS NULL) = (decision IS NULL)),
      CONSTRAINT ck_feed_review_decided_by CHECK (cp_is_clean_text(decided_by, 200))
    )
    """,
    """
    CREATE INDEX ix_feed_review_open ON feed_review (local_authority_code, created_at)
      WHERE decided_at IS NULL
    """,
    f"""
    CREATE TABLE child_field_source (
      child_id bigint NOT NULL,
      field text NOT NULL,
      source text NOT NULL,
      record_id text NOT NULL,
      as_of date NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT pk_child_field_source PRIMARY KEY (child_id, field),
      CONSTRAINT fk_child_field_source_child_id FOREIGN KEY (child_id) REFERENCES child (id)
        ON DELETE CASCADE,
      CONSTRAINT ck_child_field_source_field CHECK (field IN (
        'name', 'gender', 'address', 'education_setting', 'gp_practice', 'status')),
      CONSTRAINT ck_child_field_source_source CHECK (source IN ({_SOURCES})),
      CONSTRAINT ck_child_field_source_record_id CHECK (cp_is_clean_text(record_id, 60))
    )
    """,
]


def upgrade() -> None:
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("child_field_source", "feed_review", "feed_record", "child_source_identifier"):
        op.execute(f"DROP TABLE {table}")
