"""A record's life after 18: extensions with the young person's consent, and the daily runs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Identity, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class ChildExtension(Base):
    """One recorded extension (a renewal is a new row): why, the consent, and the review date."""

    __tablename__ = "child_extension"
    __table_args__ = (Index("ix_child_extension_child_id", "child_id", "review_on"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_child_extension_child_id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(Text)
    # The day the young person gave their explicit consent.
    consent_given_on: Mapped[date] = mapped_column(Date)
    consent_recorded_by: Mapped[str] = mapped_column(Text)
    consent_recorded_by_user_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("app_user.id", name="fk_child_extension_consent_recorded_by_user_id"),
    )
    consent_recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    review_on: Mapped[date] = mapped_column(Date)


class LifecycleRun(Base):
    """One day's lifecycle job: its counts so far, kept through interruptions and resumptions."""

    __tablename__ = "lifecycle_run"

    run_on: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    runs: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    archived: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    destroyed: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    involvements_expired: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    audit_rows_forgotten: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
