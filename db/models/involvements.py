"""Services and practitioners working with a child, and the shields over a child's location."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.models.children import Child
from db.models.organisations import Organisation, Practitioner


class Involvement(Base):
    """A service (and optionally a practitioner) working with a child; never notes or results."""

    __tablename__ = "involvement"
    __table_args__ = (
        UniqueConstraint("child_id", "position", name="uq_involvement_child_id_position"),
        Index(
            "uq_involvement_current_lead",
            "child_id",
            unique=True,
            postgresql_where=text("lead_professional AND end_date IS NULL"),
        ),
        Index("ix_involvement_organisation_id", "organisation_id"),
        Index("ix_involvement_practitioner_id", "practitioner_id"),
        # Ended involvements leave the record after a while (lifecycle/involvements.py).
        Index(
            "ix_involvement_end_date",
            "end_date",
            "id",
            postgresql_where=text("end_date IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_involvement_child_id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisation.id", name="fk_involvement_organisation_id")
    )
    practitioner_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("practitioner.id", name="fk_involvement_practitioner_id")
    )
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    lead_professional: Mapped[bool] = mapped_column(Boolean, server_default=false())
    assessment_completed: Mapped[bool] = mapped_column(Boolean, server_default=false())
    sensitive: Mapped[bool] = mapped_column(Boolean, server_default=false())
    consent_given_by: Mapped[str | None] = mapped_column(Text)
    consent_recorded_by: Mapped[str | None] = mapped_column(Text)
    consent_recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    override_by: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    child: Mapped[Child] = relationship(back_populates="involvements")
    organisation: Mapped[Organisation] = relationship()
    practitioner: Mapped[Practitioner | None] = relationship()


class Shield(Base):
    """A shield over a child's location; removal is recorded, the row is kept as history."""

    __tablename__ = "shield"
    __table_args__ = (
        Index(
            "uq_shield_active",
            "child_id",
            unique=True,
            postgresql_where=text("removed_at IS NULL"),
        ),
        Index("ix_shield_child_id", "child_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_shield_child_id", ondelete="CASCADE")
    )
    applied_by: Mapped[str] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reason: Mapped[str] = mapped_column(Text)
    removed_by: Mapped[str | None] = mapped_column(Text)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removal_reason: Mapped[str | None] = mapped_column(Text)

    child: Mapped[Child] = relationship(back_populates="shields")


class ShieldAccess(Base):
    """A practitioner named by a local authority's manager to see a shielded child's location."""

    __tablename__ = "shield_access"
    __table_args__ = (
        Index(
            "uq_shield_access_active",
            "child_id",
            "username",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index("ix_shield_access_username", "username"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_shield_access_child_id", ondelete="CASCADE")
    )
    username: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reason: Mapped[str] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
