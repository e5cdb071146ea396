"""What the national feeds left: sources' identifiers, records seen, the review queue and each
field's source (migration 0012 explains each table)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class ChildSourceIdentifier(Base):
    """An identifier a source gave a child (a UPN, an NHS number...): it names that child."""

    __tablename__ = "child_source_identifier"
    __table_args__ = (
        UniqueConstraint("kind", "value", name="uq_child_source_identifier_kind_value"),
        Index("ix_child_source_identifier_child_id", "child_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("child.id", name="fk_child_source_identifier_child_id", ondelete="CASCADE"),
    )
    kind: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ReceivedRecord(Base):
    """The latest version seen of one source record (table feed_record), and what became of it."""

    __tablename__ = "feed_record"
    __table_args__ = (
        UniqueConstraint("source", "record_id", name="uq_feed_record_source_record_id"),
        Index("ix_feed_record_child_id", "child_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    record_id: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(BigInteger)
    as_of: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text)
    child_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_feed_record_child_id", ondelete="SET NULL")
    )
    probability: Mapped[float | None] = mapped_column(Float(precision=53))
    record: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class FeedReview(Base):
    """A record for a person to decide: undecided by the engine, or held for a shield."""

    __tablename__ = "feed_review"
    __table_args__ = (
        UniqueConstraint("feed_record_id", name="uq_feed_review_feed_record_id"),
        # A child's destruction finds its review items (migration 0024).
        Index("ix_feed_review_child_id", "child_id"),
        Index(
            "ix_feed_review_open",
            "local_authority_code",
            "created_at",
            postgresql_where=text("decided_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    feed_record_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("feed_record.id", name="fk_feed_review_feed_record_id", ondelete="CASCADE"),
    )
    kind: Mapped[str] = mapped_column(Text)
    local_authority_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("local_authority.code", name="fk_feed_review_local_authority_code")
    )
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    # "Not sure": the person who escalated it; it stays open for another to decide.
    escalated_by: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The child the decision linked the record to, or created from it.
    child_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_feed_review_child_id", ondelete="SET NULL")
    )


class ChildFieldSource(Base):
    """Which source set a field of a child, in which record, as of when."""

    __tablename__ = "child_field_source"

    child_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("child.id", name="fk_child_field_source_child_id", ondelete="CASCADE"),
        primary_key=True,
    )
    field: Mapped[str] = mapped_column(Text, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    record_id: Mapped[str] = mapped_column(Text)
    as_of: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ChildMerge(Base):
    """Two children found to be one: what moved to the survivor, so that an unmerge restores it."""

    __tablename__ = "child_merge"
    __table_args__ = (
        Index(
            "uq_child_merge_in_force",
            "merged_id",
            unique=True,
            postgresql_where=text("unmerged_at IS NULL"),
        ),
        Index("ix_child_merge_survivor_id", "survivor_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    survivor_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_child_merge_survivor_id", ondelete="CASCADE")
    )
    merged_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_child_merge_merged_id", ondelete="CASCADE")
    )
    merged_status: Mapped[str] = mapped_column(Text)
    merged_by: Mapped[str] = mapped_column(Text)
    merged_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    reason: Mapped[str] = mapped_column(Text)
    # {"involvements": [ids], "identifiers": [ids], "feed_records": [ids], "shield": id | null}
    moved: Mapped[dict[str, Any]] = mapped_column(JSONB)
    unmerged_by: Mapped[str | None] = mapped_column(Text)
    unmerged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unmerge_reason: Mapped[str | None] = mapped_column(Text)
