"""The append-only audit: one row per sign-in, search, view, shield change and admin action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
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
