"""A child's contact record and carers."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    FetchedValue,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    func,
    orm,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.models.organisations import LocalAuthority, Organisation

if TYPE_CHECKING:
    from db.models.feeds import ChildFieldSource, ChildSourceIdentifier
    from db.models.history import OtherName, PreviousAddress
    from db.models.involvements import Involvement, Shield


class Child(Base):
    """One child; `record_version` and `updated_at` are bumped by a trigger on every change."""

    __tablename__ = "child"
    __table_args__ = (
        UniqueConstraint("identifier", name="uq_child_identifier"),
        Index("ix_child_education_setting_id", "education_setting_id"),
        Index("ix_child_gp_practice_id", "gp_practice_id"),
        Index(
            "ix_child_merged_into_id",
            "merged_into_id",
            postgresql_where=text("merged_into_id IS NOT NULL"),
        ),
        # The lifecycle job's scans (migration 0019).
        Index(
            "ix_child_active_date_of_birth",
            "date_of_birth",
            "id",
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "ix_child_archived_on",
            "archived_on",
            "id",
            postgresql_where=text("status = 'archived'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    identifier: Mapped[str] = mapped_column(Text)
    given_names: Mapped[str] = mapped_column(Text)
    family_name: Mapped[str] = mapped_column(Text)
    gender: Mapped[str] = mapped_column(Text)
    date_of_birth: Mapped[date] = mapped_column(Date)
    address_lines: Mapped[list[str]] = mapped_column(ARRAY(Text))
    town: Mapped[str] = mapped_column(Text)
    postcode: Mapped[str] = mapped_column(Text)
    local_authority_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("local_authority.code", name="fk_child_local_authority_code")
    )
    education_setting_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("organisation.id", name="fk_child_education_setting_id")
    )
    gp_practice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("organisation.id", name="fk_child_gp_practice_id")
    )
    status: Mapped[str] = mapped_column(Text, server_default=text("'active'"))
    # The survivor this child was merged into (status `merged`), or None.
    merged_into_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_child_merged_into_id")
    )
    record_version: Mapped[int] = mapped_column(
        BigInteger, server_default=text("1"), server_onupdate=FetchedValue()
    )
    # The day the child was archived (a trigger dates any archiving without one); destroyed six
    # years on (lifecycle/).
    archived_on: Mapped[date | None] = mapped_column(
        Date, server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    # Digest of the normalised import line last loaded; NULL for children written otherwise.
    source_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), server_onupdate=FetchedValue()
    )

    local_authority: Mapped[LocalAuthority | None] = relationship()
    education_setting: Mapped[Organisation | None] = relationship(
        foreign_keys=[education_setting_id]
    )
    gp_practice: Mapped[Organisation | None] = relationship(foreign_keys=[gp_practice_id])
    carers: Mapped[list[Carer]] = relationship(
        back_populates="child",
        order_by="Carer.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    involvements: Mapped[list[Involvement]] = relationship(
        back_populates="child",
        order_by="Involvement.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    shields: Mapped[list[Shield]] = relationship(
        back_populates="child", order_by="Shield.applied_at", passive_deletes=True
    )
    other_names: Mapped[list[OtherName]] = relationship(
        back_populates="child",
        order_by="OtherName.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    previous_addresses: Mapped[list[PreviousAddress]] = relationship(
        back_populates="child",
        order_by="PreviousAddress.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    # Which national feed set each field (written by feeds/, read by the record view).
    field_sources: Mapped[list[ChildFieldSource]] = relationship(
        order_by="ChildFieldSource.field", viewonly=True
    )
    source_identifiers: Mapped[list[ChildSourceIdentifier]] = relationship(
        order_by="ChildSourceIdentifier.kind", viewonly=True
    )


class Carer(Base):
    """A parent or carer; no address means they live at the child's address."""

    __tablename__ = "carer"
    __table_args__ = (UniqueConstraint("child_id", "position", name="uq_carer_child_id_position"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_carer_child_id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(Text)
    relationship: Mapped[str] = mapped_column(Text)
    parental_responsibility: Mapped[bool] = mapped_column(Boolean, server_default=false())
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    address_lines: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    town: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(Text)

    # `relationship` above is a column, hence the qualified name.
    child: Mapped[Child] = orm.relationship(back_populates="carers")
