"""A child's history: the other names it was known by and the addresses it lived at before."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Identity, SmallInteger, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.models.children import Child


class OtherName(Base):
    """A former family name (before adoption, say) or an alias; `kind` says which, if known."""

    __tablename__ = "other_name"
    __table_args__ = (
        UniqueConstraint("child_id", "position", name="uq_other_name_child_id_position"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_other_name_child_id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    family_name: Mapped[str] = mapped_column(Text)
    given_names: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)

    child: Mapped[Child] = relationship(back_populates="other_names")


class PreviousAddress(Base):
    """A postcode the child lived at before (location: shielded like the current address)."""

    __tablename__ = "previous_address"
    __table_args__ = (
        UniqueConstraint("child_id", "position", name="uq_previous_address_child_id_position"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_previous_address_child_id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    postcode: Mapped[str] = mapped_column(Text)
    town: Mapped[str | None] = mapped_column(Text)
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)

    child: Mapped[Child] = relationship(back_populates="previous_addresses")
