"""Practitioners' requests to a child's authority team (migration 0014 explains each table)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Text, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from db.models.base import Base
from db.models.children import Child


class _Request:
    """What both requests hold: the child, who asked, when and why, and the decision."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    reason: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def child_id(cls) -> Mapped[int]:  # noqa: N805
        name = f"fk_{cls.__tablename__}_child_id"  # type: ignore[attr-defined]
        return mapped_column(BigInteger, ForeignKey("child.id", name=name, ondelete="CASCADE"))

    @declared_attr
    def local_authority_code(cls) -> Mapped[str | None]:  # noqa: N805
        name = f"fk_{cls.__tablename__}_local_authority_code"  # type: ignore[attr-defined]
        return mapped_column(Text, ForeignKey("local_authority.code", name=name))

    @declared_attr
    def requested_by_user_id(cls) -> Mapped[int | None]:  # noqa: N805
        name = f"fk_{cls.__tablename__}_requested_by_user_id"  # type: ignore[attr-defined]
        return mapped_column(BigInteger, ForeignKey("app_user.id", name=name))

    @declared_attr
    def child(cls) -> Mapped[Child]:  # noqa: N805
        return relationship()


class ShieldRequest(_Request, Base):
    """A practitioner's request that a child be shielded."""

    __tablename__ = "shield_request"
    __table_args__ = (
        Index(
            "ix_shield_request_open",
            "local_authority_code",
            "requested_at",
            postgresql_where=text("outcome IS NULL"),
        ),
        Index("ix_shield_request_requested_by", "requested_by", "requested_at"),
        Index("ix_shield_request_child_id", "child_id"),
    )


class ContactRequest(_Request, Base):
    """A practitioner's request that the child's authority team put them in touch."""

    __tablename__ = "contact_request"
    __table_args__ = (
        Index(
            "ix_contact_request_open",
            "local_authority_code",
            "requested_at",
            postgresql_where=text("outcome IS NULL"),
        ),
        Index("ix_contact_request_requested_by", "requested_by", "requested_at"),
        Index("ix_contact_request_child_id", "child_id"),
        # A deleted involvement's requests are found by it (migration 0024).
        Index("ix_contact_request_involvement_id", "involvement_id"),
        Index("ix_contact_request_requested_at", "requested_at"),
    )

    involvement_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("involvement.id", name="fk_contact_request_involvement_id", ondelete="SET NULL"),
    )
    contact: Mapped[str] = mapped_column(Text)
