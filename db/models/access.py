"""Who may use ContactPoint: users, their authorities, CMS clients, sessions and throttles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.models.base import Base
from db.models.organisations import Organisation


class AppUser(Base):
    """A person who signs in: roles, authorities, credential hashes and account state."""

    __tablename__ = "app_user"
    __table_args__ = (
        UniqueConstraint("username", name="uq_app_user_username"),
        UniqueConstraint("email", name="uq_app_user_email"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    username: Mapped[str] = mapped_column(Text)
    # Lower-cased; the user is the practitioner with the same address (their inbox).
    email: Mapped[str | None] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    organisation: Mapped[str | None] = mapped_column(Text)
    child_protection: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # May open archived records, with a reason from the regulations' list (managers only).
    archive_access: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Demo accounts only: `users totp` may print their current code.
    is_demo: Mapped[bool] = mapped_column(Boolean, server_default=false())
    password_hash: Mapped[str] = mapped_column(Text)
    pin_hash: Mapped[str] = mapped_column(Text)
    totp_secret: Mapped[str] = mapped_column(Text)
    # The last time step whose code was accepted: a code of that step or earlier is a replay.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    credentials_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Vetting (migration 0021; db.access.vetting): NULL is not recorded, which refuses sign-in.
    # Who checked the person's identity (a name), and on which day.
    identity_checked_by: Mapped[str | None] = mapped_column(Text)
    identity_checked_on: Mapped[date | None] = mapped_column(Date)
    # The date of the enhanced criminal-records (DBS) check: valid for VETTING_CHECK_VALID_YEARS.
    dbs_checked_on: Mapped[date | None] = mapped_column(Date)
    training_completed_on: Mapped[date | None] = mapped_column(Date)

    authority_links: Mapped[list[UserAuthority]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def authorities(self) -> frozenset[str]:
        """The codes of the local authorities the user belongs to (or manages)."""
        return frozenset(link.local_authority_code for link in self.authority_links)


class UserAuthority(Base):
    """A user's membership of a local authority."""

    __tablename__ = "app_user_authority"
    __table_args__ = (Index("ix_app_user_authority_local_authority_code", "local_authority_code"),)

    user_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("app_user.id", name="fk_app_user_authority_user_id", ondelete="CASCADE"),
        primary_key=True,
    )
    local_authority_code: Mapped[str] = mapped_column(
        Text,
        ForeignKey("local_authority.code", name="fk_app_user_authority_local_authority_code"),
        primary_key=True,
    )


class ApiClient(Base):
    """A case-management system acting for practitioners of one local authority, and writing
    for one organisation (none: read-only)."""

    __tablename__ = "api_client"
    __table_args__ = (
        UniqueConstraint("name", name="uq_api_client_name"),
        UniqueConstraint("key_id", name="uq_api_client_key_id"),
        Index("ix_api_client_organisation_id", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    local_authority_code: Mapped[str] = mapped_column(
        Text, ForeignKey("local_authority.code", name="fk_api_client_local_authority_code")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The networks (CIDR) it may call from; a CHECK refuses anything else.
    networks: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("ARRAY['127.0.0.0/8', '::1/128']")
    )
    # The organisation whose involvements (and, for some kinds, addresses) it may write.
    organisation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("organisation.id", name="fk_api_client_organisation_id")
    )

    # Where its webhook is POSTed, and the secret that signs it (migration 0017): kept as
    # given, because signing needs the secret itself (a hash cannot sign).
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(Text)

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class IdempotencyRecord(Base):
    """The first answer to a client's write under an `Idempotency-Key` (migration 0016).

    `status` and `body` are NULL while the write that claimed the key is in progress.
    """

    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("client_id", "key", name="uq_idempotency_record_client_id_key"),
        Index("ix_idempotency_record_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    client_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("api_client.id", name="fk_idempotency_record_client_id", ondelete="CASCADE"),
    )
    key: Mapped[str] = mapped_column(Text)
    request_digest: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[int | None] = mapped_column(SmallInteger)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    etag: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )


class UserSession(Base):
    """A signed-in session, found by the SHA-256 of its token (the token itself is not kept)."""

    __tablename__ = "user_session"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_user_session_token_hash"),
        Index("ix_user_session_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("app_user.id", name="fk_user_session_user_id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    client_address: Mapped[str | None] = mapped_column(Text)

    user: Mapped[AppUser] = relationship(lazy="joined")


class SavedSearch(Base):
    """What a browser's session typed into the search form, under the opaque token of its
    results page's address (migration 0015)."""

    __tablename__ = "saved_search"
    __table_args__ = (
        UniqueConstraint("token", name="uq_saved_search_token"),
        Index("ix_saved_search_session_id", "session_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    token: Mapped[str] = mapped_column(Text)
    session_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("user_session.id", name="fk_saved_search_session_id", ondelete="CASCADE"),
    )
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )


class SignInThrottle(Base):
    """Sign-in attempts of one bucket ("user:NAME" or "address:IP") in one fixed window."""

    __tablename__ = "sign_in_throttle"

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)


class SignInLockout(Base):
    """Consecutive failures of a typed username, whether or not such a user exists."""

    __tablename__ = "sign_in_lockout"

    username: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
