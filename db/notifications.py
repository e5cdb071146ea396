"""The notification outbox: notices written in the transaction of the change they tell of.

A change to a child (an involvement started, the lead professional changed, a child moved in)
writes one `notification` per recipient and, beside it, one `notification_delivery` per
channel: an e-mail to the practitioner (or the team's address) and a webhook POST to each CMS
client that subscribed to the child. `notify.deliver` sends them. Nothing here sends anything,
so a change that rolls back tells no one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from db.child_records import active_shield
from db.models import (
    ApiClient,
    Child,
    Involvement,
    LocalAuthority,
    Notification,
    NotificationDelivery,
    Practitioner,
    WebhookSubscription,
)
from db.vocabulary import SENSITIVE_KINDS


class NoticeKind(StrEnum):
    """What a notice tells of (the CHECK of `notification.kind` lists the same values)."""

    INVOLVEMENT_STARTED = "involvement_started"
    LEAD_PROFESSIONAL_CHANGED = "lead_professional_changed"
    CHILD_MOVED_IN = "child_moved_in"
    # A newer feed record changes a field a manager corrected: it waits for them to decide.
    CORRECTION_CHALLENGED = "correction_challenged"


class Channel(StrEnum):
    """How a notice leaves ContactPoint."""

    EMAIL = "email"
    WEBHOOK = "webhook"


def involvement_details(child: Child, involvement: Involvement) -> dict[str, Any]:
    """What the inbox shows of an involvement, stored in its most restrictive form: a
    sensitive service keeps no name, practitioner or contacts, and a shielded child's service
    no name or contacts (which lead to where the child lives). The inbox shows more, at read
    time, to a recipient the record view's rules allow to see it."""
    org = involvement.organisation
    sensitive = involvement.sensitive or org.sensitive or org.kind in SENSITIVE_KINDS
    shielded = active_shield(child) is not None
    practitioner = involvement.practitioner
    details: dict[str, Any] = {
        "involvement_id": involvement.id,
        "lead_professional": involvement.lead_professional,
        "sensitive": sensitive,
        "service": None,
        "service_phone": None,
        "service_email": None,
        "practitioner": None,
    }
    if sensitive:
        return details
    if not shielded:
        details |= {"service": org.name, "service_phone": org.phone, "service_email": org.email}
    if practitioner is not None:
        details["practitioner"] = {
            "name": practitioner.name,
            "job_title": practitioner.job_title,
            "phone": practitioner.phone,
            "email": practitioner.email,
        }
    return details


def _subscribers(session: Session, child_id: int) -> list[tuple[int, str]]:
    statement = (
        select(ApiClient.id, ApiClient.webhook_url)
        .join(WebhookSubscription, WebhookSubscription.client_id == ApiClient.id)
        .where(
            WebhookSubscription.child_id == child_id,
            ApiClient.revoked_at.is_(None),
            ApiClient.webhook_url.is_not(None),
        )
        .order_by(ApiClient.id)
    )
    return [(row.id, str(row.webhook_url)) for row in session.execute(statement)]


@dataclass(frozen=True)
class Written:
    """The notices one change wrote: to recipients, and for the webhook subscribers."""

    notices: list[uuid.UUID]
    event: uuid.UUID | None


def write_notices(
    *,
    session: Session,
    kind: NoticeKind,
    child_id: int,
    details: dict[str, Any],
    practitioner_ids: Iterable[int] = (),
    team_authorities: Iterable[str] = (),
    subscribers: bool = True,
) -> Written:
    """The notices of one change, with their e-mail and webhook deliveries (pending);
    `subscribers` False: for the recipients alone (no webhook event)."""
    practitioners = sorted(set(practitioner_ids))
    teams = sorted(set(team_authorities))
    emails = dict(
        session.execute(
            select(Practitioner.id, Practitioner.email).where(Practitioner.id.in_(practitioners))
        )
        .tuples()
        .all()
    )
    team_emails = dict(
        session.execute(
            select(LocalAuthority.code, LocalAuthority.team_email).where(
                LocalAuthority.code.in_(teams)
            )
        )
        .tuples()
        .all()
    )
    rows: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    for practitioner_id in practitioners:
        notice = uuid.uuid4()
        rows.append({"id": notice, "practitioner_id": practitioner_id})
        if emails.get(practitioner_id):
            deliveries.append(_delivery(notice, Channel.EMAIL, emails[practitioner_id]))
    for code in teams:
        notice = uuid.uuid4()
        rows.append({"id": notice, "team_authority_code": code})
        if team_emails.get(code):
            deliveries.append(_delivery(notice, Channel.EMAIL, str(team_emails[code])))
    event = None
    hooks = _subscribers(session, child_id) if subscribers else []
    if hooks:
        # The event as the subscribers hear of it: its id is the webhook's event id.
        event = uuid.uuid4()
        rows.append({"id": event})
        deliveries += [
            _delivery(event, Channel.WEBHOOK, url, client_id=client_id) for client_id, url in hooks
        ]
    if not rows:
        return Written(notices=[], event=None)
    session.execute(
        insert(Notification),
        [
            {
                "practitioner_id": None,
                "team_authority_code": None,
                **row,
                "kind": kind.value,
                "child_id": child_id,
                "details": details,
            }
            for row in rows
        ],
    )
    if deliveries:
        session.execute(insert(NotificationDelivery), deliveries)
    return Written(notices=[row["id"] for row in rows if row["id"] != event], event=event)


def _delivery(
    notice: uuid.UUID, channel: Channel, target: str, *, client_id: int | None = None
) -> dict[str, Any]:
    return {
        "notification_id": notice,
        "channel": channel.value,
        "target": target,
        "client_id": client_id,
    }


def practitioner_id_of(*, session: Session, email: str | None) -> int | None:
    """The practitioner who is the user with this e-mail address, if any."""
    if not email:
        return None
    found: int | None = session.scalar(
        select(Practitioner.id).where(Practitioner.email == email.lower())
    )
    return found


def notify_involvement_started(
    *, session: Session, child: Child, involvement: Involvement, acting_email: str | None
) -> Written:
    """Tell every practitioner with a current involvement with the child (but the new one's,
    and the one acting) that someone new works with the child."""
    actor = practitioner_id_of(session=session, email=acting_email)
    recipients = {
        item.practitioner_id
        for item in child.involvements
        if item.end_date is None
        and item.practitioner_id is not None
        and item.id != involvement.id
        and item.practitioner_id not in (involvement.practitioner_id, actor)
    }
    return write_notices(
        session=session,
        kind=NoticeKind.INVOLVEMENT_STARTED,
        child_id=child.id,
        details=involvement_details(child, involvement),
        practitioner_ids={pid for pid in recipients if pid is not None},
    )


def notify_lead_changed(
    *,
    session: Session,
    child: Child,
    involvement: Involvement,
    previous_leads: Iterable[int],
    acting_email: str | None,
) -> Written:
    """Tell the child's new and previous lead professionals (but the one acting)."""
    actor = practitioner_id_of(session=session, email=acting_email)
    recipients = set(previous_leads) | current_lead_practitioners(child)
    if actor is not None:
        recipients.discard(actor)
    return write_notices(
        session=session,
        kind=NoticeKind.LEAD_PROFESSIONAL_CHANGED,
        child_id=child.id,
        details=involvement_details(child, involvement),
        practitioner_ids=recipients,
    )


def current_lead_practitioners(child: Child) -> set[int]:
    """The practitioners of the child's current lead-professional involvement(s)."""
    return {
        item.practitioner_id
        for item in child.involvements
        if item.lead_professional and item.end_date is None and item.practitioner_id is not None
    }


@dataclass(frozen=True)
class Recipient:
    """Whose notices an inbox shows: the practitioner with the user's e-mail address, and for
    managers their authorities' teams."""

    email: str | None
    teams: frozenset[str] = frozenset()

    def clause(self) -> Any:
        """The WHERE clause of this recipient's notices (false when it has none)."""
        parts: list[Any] = []
        if self.email:
            parts.append(
                Notification.practitioner_id.in_(
                    select(Practitioner.id).where(Practitioner.email == self.email.lower())
                )
            )
        if self.teams:
            parts.append(Notification.team_authority_code.in_(sorted(self.teams)))
        return or_(*parts) if parts else Notification.id.is_(None)


def unread_count(*, session: Session, recipient: Recipient) -> int:
    """How many of the recipient's notices are unread (one COUNT)."""
    count: int = (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(recipient.clause(), Notification.read_at.is_(None))
        )
        or 0
    )
    return count


@dataclass(frozen=True)
class InboxRow:
    """One notice with what the inbox shows of its child."""

    notice: Notification
    child: Child


def inbox(*, session: Session, recipient: Recipient, limit: int) -> list[InboxRow]:
    """The recipient's newest notices, newest first, with their children."""
    statement = (
        select(Notification, Child)
        .join(Child, Child.id == Notification.child_id)
        .where(recipient.clause())
        .order_by(Notification.created_at.desc(), Notification.id)
        .limit(limit)
    )
    return [InboxRow(notice=row[0], child=row[1]) for row in session.execute(statement)]


def mark_read(*, session: Session, recipient: Recipient, ids: Iterable[uuid.UUID]) -> int:
    """Mark the recipient's notices among `ids` read; how many were unread."""
    wanted = list(ids)
    if not wanted:
        return 0
    result = session.execute(
        update(Notification)
        .where(recipient.clause(), Notification.id.in_(wanted), Notification.read_at.is_(None))
        .values(read_at=func.clock_timestamp())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def notify_child_moved(
    *, session: Session, child: Child, moved_from: str | None, moved_to: str
) -> Written:
    """Tell the receiving team that a child moved into its area, and the team it left that the
    child moved out (no address: the record says where, to whoever may see it)."""
    return write_notices(
        session=session,
        kind=NoticeKind.CHILD_MOVED_IN,
        child_id=child.id,
        details={"moved_from": moved_from, "moved_to": moved_to},
        team_authorities=[code for code in (moved_from, moved_to) if code],
    )
