"""The match engine's value frequencies (see migration 0009); replaced whole by a rebuild."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class MatchFrequency(Base):
    """How many children hold `value` in `comparison` (values held by two or more)."""

    __tablename__ = "match_frequency"

    comparison: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, primary_key=True)
    holders: Mapped[int] = mapped_column(BigInteger)


class MatchFrequencyTotal(Base):
    """How many children a comparison's values were counted over, and when."""

    __tablename__ = "match_frequency_total"

    comparison: Mapped[str] = mapped_column(Text, primary_key=True)
    population: Mapped[int] = mapped_column(BigInteger)
    rebuilt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )


class MatchLevelCount(Base):
    """How many of `sampled` random pairs of children fell into `level` of `comparison`."""

    __tablename__ = "match_level_count"

    comparison: Mapped[str] = mapped_column(Text, primary_key=True)
    level: Mapped[str] = mapped_column(Text, primary_key=True)
    pairs: Mapped[int] = mapped_column(BigInteger)
    sampled: Mapped[int] = mapped_column(BigInteger)
    rebuilt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
