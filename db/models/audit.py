"""The append-only audit: one row per sign-in, search, view, shield change and admin action,
and the signed seals that make a later change to it evident."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class AuditEvent(Base):
    """Who (user), through which client, did what (event) to what (subject), when and how."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_occurred_at", "occurred_at"),
        Index("ix_audit_event_user_id_occurred_at", "user_id", "occurred_at"),
        Index("ix_audit_event_event_occurred_at", "event", "occurred_at"),
        Index("ix_audit_event_authorities", "authorities", postgresql_using="gin"),
        Index("ix_audit_event_subject_occurred_at", "subject", "occurred_at"),
        Index("ix_audit_event_request_id", "request_id"),
        Index(
            "ix_audit_event_identifiers_shown",
            text("(details -> 'identifiers_shown')"),
            postgresql_using="gin",
        ),
        # One partition a month (migration 0022): old months are dropped whole by retention.
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # Part of the primary key: a partitioned table's unique keys include the partition key.
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()"), primary_key=True
    )
    event: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("app_user.id", name="fk_audit_event_user_id")
    )
    username: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("api_client.id", name="fk_audit_event_client_id")
    )
    client_name: Mapped[str | None] = mapped_column(Text)
    # The actor's authorities and the subject's, so an authority's managers see both.
    authorities: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    subject: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    # Hashed with the row (db/audit/seal.py), cleared when the row forgets a destroyed child.
    salt: Mapped[UUID | None] = mapped_column(
        PG_UUID(as_uuid=True), server_default=text("gen_random_uuid()")
    )


class AuditSeal(Base):
    """One link of the signed chain over the audit: the ids (after, through] and their digest,
    or (kind 'drop') the months and ids that retention dropped."""

    __tablename__ = "audit_seal"
    __table_args__ = (
        Index(
            "uq_audit_seal_through_event_id",
            "through_event_id",
            unique=True,
            postgresql_where=text("kind = 'rows'"),
        ),
    )

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    after_event_id: Mapped[int] = mapped_column(BigInteger)
    through_event_id: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(Integer)
    prev_digest: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(Text)
    sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(Text, server_default=text("'rows'"))
    dropped: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class AuditSealEntry(Base):
    """The hash of one sealed audit row (kept when the row is gone, to name it)."""

    __tablename__ = "audit_seal_entry"
    __table_args__ = (Index("ix_audit_seal_entry_seal_position", "seal_position"),)

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seal_position: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("audit_seal.position", name="fk_audit_seal_entry_seal_position")
    )
    row_hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditRedaction(Base):
    """A row that forgot a destroyed child: its hash as forgotten, and the lifecycle run's audit
    row that attests it (the seal entry keeps the hash of the row as it was)."""

    __tablename__ = "audit_redaction"
    __table_args__ = (Index("ix_audit_redaction_attested_by", "attested_by"),)

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    redacted_hash: Mapped[bytes] = mapped_column(LargeBinary)
    redacted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    attested_by: Mapped[int | None] = mapped_column(BigInteger)
