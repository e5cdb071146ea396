"""A break-glass view waiting for (or given) its review by the child's authority managers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base

if TYPE_CHECKING:
    from db.models.children import Child


class ReviewOutcome(StrEnum):
    """What the reviewing manager decided (the CHECK lists the same values)."""

    JUSTIFIED = "justified"
    REFERRED_FOR_INVESTIGATION = "referred_for_investigation"


class BreakGlassReview(Base):
    """One break-glass view: who, when, why, and, once reviewed, the outcome and by whom."""

    __tablename__ = "break_glass_review"
    __table_args__ = (
        UniqueConstraint("view_event_id", name="uq_break_glass_review_view_event_id"),
        Index(
            "ix_break_glass_review_open",
            "local_authority_code",
            "broken_at",
            postgresql_where=text("outcome IS NULL"),
        ),
        Index("ix_break_glass_review_child_id", "child_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # Not a foreign key: the audit is partitioned by month (its rows are unique by id and
    # time) and dropped by retention; a trigger checks that the view's row exists (0022).
    view_event_id: Mapped[int] = mapped_column(BigInteger)
    child_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("child.id", name="fk_break_glass_review_child_id", ondelete="CASCADE"),
    )
    # The child's authority at the time of the view.
    local_authority_code: Mapped[str | None] = mapped_column(
        Text,
        ForeignKey("local_authority.code", name="fk_break_glass_review_local_authority_code"),
    )
    broken_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("app_user.id", name="fk_break_glass_review_broken_by_user_id")
    )
    broken_by: Mapped[str] = mapped_column(Text)
    client_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("api_client.id", name="fk_break_glass_review_client_id")
    )
    client_name: Mapped[str | None] = mapped_column(Text)
    broken_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    reason: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("app_user.id", name="fk_break_glass_review_reviewed_by_user_id")
    )
    reviewed_by: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    child: Mapped[Child] = relationship(lazy="joined")
