"""A child's corrections with their history, and the feeds' changes that wait for a manager
(migration 0020 explains each table)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class ChildCorrection(Base):
    """One earlier value of a field, the value that replaced it, who, when and why."""

    __tablename__ = "child_correction"
    __table_args__ = (Index("ix_child_correction_child_id", "child_id", "corrected_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_child_correction_child_id", ondelete="CASCADE")
    )
    field: Mapped[str] = mapped_column(Text)
    # `correction` (a manager's), or `feed_confirmed` (a feed's change a manager confirmed).
    kind: Mapped[str] = mapped_column(Text, server_default=text("'correction'"))
    previous: Mapped[dict[str, Any]] = mapped_column(JSONB)
    value: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(Text)
    organisation: Mapped[str | None] = mapped_column(Text)
    corrected_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    source: Mapped[str | None] = mapped_column(Text)
    record_id: Mapped[str | None] = mapped_column(Text)


class CorrectionConfirmation(Base):
    """A newer feed record's change to a corrected field, waiting for a manager's decision."""

    __tablename__ = "correction_confirmation"
    __table_args__ = (
        Index(
            "ix_correction_confirmation_open",
            "local_authority_code",
            "created_at",
            postgresql_where=text("decided_at IS NULL"),
        ),
        Index("ix_correction_confirmation_child_id", "child_id"),
        UniqueConstraint(
            "child_id",
            "field",
            "source",
            "record_id",
            "as_of",
            name="uq_correction_confirmation_record",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("child.id", name="fk_correction_confirmation_child_id", ondelete="CASCADE"),
    )
    field: Mapped[str] = mapped_column(Text)
    value: Mapped[dict[str, Any]] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(Text)
    record_id: Mapped[str] = mapped_column(Text)
    as_of: Mapped[date] = mapped_column(Date)
    local_authority_code: Mapped[str | None] = mapped_column(
        Text,
        ForeignKey("local_authority.code", name="fk_correction_confirmation_local_authority_code"),
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
