"""Notices of changes to children, their deliveries, and CMS clients' subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class Notification(Base):
    """One notice to one recipient (a practitioner or an authority's team), written in the
    transaction of the change; with neither, the event as webhook subscribers hear of it."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_practitioner_id", "practitioner_id", "created_at"),
        Index("ix_notification_team_authority_code", "team_authority_code", "created_at"),
        Index("ix_notification_child_id", "child_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    child_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("child.id", name="fk_notification_child_id", ondelete="CASCADE")
    )
    practitioner_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("practitioner.id", name="fk_notification_practitioner_id")
    )
    team_authority_code: Mapped[str | None] = mapped_column(
        Text, ForeignKey("local_authority.code", name="fk_notification_team_authority_code")
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationDelivery(Base):
    """One e-mail or webhook POST of a notice: pending, delivered or dead."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        Index(
            "ix_notification_delivery_due",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_notification_delivery_notification_id", "notification_id"),
        Index("ix_notification_delivery_state", "state"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        Uuid,
        ForeignKey(
            "notification.id",
            name="fk_notification_delivery_notification_id",
            ondelete="CASCADE",
        ),
    )
    channel: Mapped[str] = mapped_column(Text)
    # The e-mail address, or the webhook's URL when it was queued.
    target: Mapped[str] = mapped_column(Text)
    client_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("api_client.id", name="fk_notification_delivery_client_id", ondelete="CASCADE"),
    )
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )


class WebhookSubscription(Base):
    """A CMS client's subscription to the notices about one child."""

    __tablename__ = "webhook_subscription"
    __table_args__ = (Index("ix_webhook_subscription_child_id", "child_id"),)

    client_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("api_client.id", name="fk_webhook_subscription_client_id", ondelete="CASCADE"),
        primary_key=True,
    )
    child_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("child.id", name="fk_webhook_subscription_child_id", ondelete="CASCADE"),
        primary_key=True,
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
