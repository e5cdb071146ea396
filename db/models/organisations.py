"""Local authorities, the organisations that provide services, and their practitioners."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    ForeignKey,
    Identity,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base


class LocalAuthority(Base):
    """A local authority by its ONS code, with its management team's contact details."""

    __tablename__ = "local_authority"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    team_phone: Mapped[str | None] = mapped_column(Text)
    team_email: Mapped[str | None] = mapped_column(Text)


class PostcodeAuthority(Base):
    """The local authority of a full postcode or of a postcode district (its outward code)."""

    __tablename__ = "postcode_authority"

    postcode: Mapped[str] = mapped_column(Text, primary_key=True)
    local_authority_code: Mapped[str] = mapped_column(
        Text,
        ForeignKey("local_authority.code", name="fk_postcode_authority_local_authority_code"),
    )


class Organisation(Base):
    """A school, GP practice or service, unique by (kind, code)."""

    __tablename__ = "organisation"
    __table_args__ = (UniqueConstraint("kind", "code", name="uq_organisation_kind_code"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    address_lines: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    town: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(Text)
    local_authority_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("local_authority.code", name="fk_organisation_local_authority_code")
    )
    sensitive: Mapped[bool] = mapped_column(Boolean, server_default=false())

    local_authority: Mapped[LocalAuthority | None] = relationship()


class Practitioner(Base):
    """A professional, identified by a lower-cased email address."""

    __tablename__ = "practitioner"
    __table_args__ = (UniqueConstraint("email", name="uq_practitioner_email"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    job_title: Mapped[str | None] = mapped_column(Text)
    organisation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("organisation.id", name="fk_practitioner_organisation_id")
    )

    organisation: Mapped[Organisation] = relationship()
