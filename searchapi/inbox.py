"""A person's inbox: the notices of the practitioner with their e-mail address (and, for
managers, of their authorities' teams), shown by the record view's rules and audited.

A notice's service is shown as the child's record view would show it to the reader now
(`involvement_view`): a sensitive service is "a sensitive service" unless the reader may see
it, and a shielded child's service gives way to its authority's team. A notice never holds
an address, so a shielded child's notice carries no location.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.access import Principal, Role
from db.audit import AuditContext, AuditEventType, record_audit
from db.models import Involvement
from db.notifications import InboxRow, NoticeKind, Recipient, inbox, mark_read, unread_count
from searchapi.access import child_access
from searchapi.record_schemas import WITHHELD_SERVICE
from searchapi.record_view import involvement_view

SENSITIVE: Final = "a sensitive service"
HEADLINES: Final = {
    NoticeKind.INVOLVEMENT_STARTED.value: "Someone new is working with this child",
    NoticeKind.LEAD_PROFESSIONAL_CHANGED.value: "The lead professional changed",
    NoticeKind.CHILD_MOVED_IN.value: "This child moved into your area",
    NoticeKind.CORRECTION_CHALLENGED.value: (
        "A national feed would change a detail your team corrected: decide on the home page"
    ),
}
# Notices that tell of no service.
_NO_SERVICE: Final = frozenset(
    {NoticeKind.CHILD_MOVED_IN.value, NoticeKind.CORRECTION_CHALLENGED.value}
)
INBOX_LIMIT: Final = 100


def recipient_of(principal: Principal) -> Recipient:
    """Whose notices `principal` reads: by e-mail address, and a manager's teams."""
    teams = principal.authorities if Role.LA_MANAGER in principal.roles else frozenset()
    return Recipient(email=principal.email, teams=frozenset(teams))


def unread_of(*, session: Session, principal: Principal) -> int:
    """The header's count of unread notices (one COUNT query; 0 for no e-mail nor team)."""
    recipient = recipient_of(principal)
    if not recipient.email and not recipient.teams:
        return 0
    return unread_count(session=session, recipient=recipient)


@dataclass(frozen=True)
class InboxItem:
    """One notice as the inbox shows it."""

    id: str
    kind: str
    headline: str
    created_at: datetime
    unread: bool
    identifier: str
    child_name: str
    service: str | None
    service_phone: str | None
    service_email: str | None
    practitioner: dict[str, Any] | None
    lead_professional: bool


def _item(row: InboxRow, involvement: Involvement | None, principal: Principal) -> InboxItem:
    notice, child = row.notice, row.child
    details = notice.details
    service = details.get("service")
    phone, email = details.get("service_phone"), details.get("service_email")
    practitioner = details.get("practitioner")
    if involvement is not None:
        access = child_access(principal, named_children=principal.named_children)
        view = involvement_view(child, involvement, access)
        service = SENSITIVE if view.details_withheld else view.service
        phone, email = view.phone, view.email
        practitioner = view.practitioner.model_dump() if view.practitioner else None
    elif details.get("sensitive"):
        service, practitioner = SENSITIVE, None
    elif service is None and notice.kind not in _NO_SERVICE:
        service = WITHHELD_SERVICE
    headline = HEADLINES.get(notice.kind, "News about this child")
    if notice.kind == NoticeKind.CHILD_MOVED_IN.value and (
        notice.team_authority_code == details.get("moved_from")
    ):
        headline = "This child moved out of your area"
    return InboxItem(
        id=str(notice.id),
        kind=notice.kind,
        headline=headline,
        created_at=notice.created_at,
        unread=notice.read_at is None,
        identifier=child.identifier,
        child_name=f"{child.given_names} {child.family_name}",
        service=service,
        service_phone=phone,
        service_email=email,
        practitioner=practitioner,
        lead_professional=bool(details.get("lead_professional")),
    )


def read_inbox(*, session: Session, context: AuditContext) -> list[InboxItem]:
    """The reader's newest notices, newest first, marked read once shown; audited with the
    children it named."""
    principal = context.actor
    recipient = recipient_of(principal)
    rows = inbox(session=session, recipient=recipient, limit=INBOX_LIMIT)
    wanted = {
        int(row.notice.details["involvement_id"])
        for row in rows
        if isinstance(row.notice.details.get("involvement_id"), int)
    }
    involvements = {
        item.id: item
        for item in session.scalars(
            select(Involvement)
            .where(Involvement.id.in_(wanted))
            .options(selectinload(Involvement.organisation), selectinload(Involvement.practitioner))
        )
    }
    items = [
        _item(row, involvements.get(row.notice.details.get("involvement_id", -1)), principal)
        for row in rows
    ]
    unread = [uuid.UUID(item.id) for item in items if item.unread]
    mark_read(session=session, recipient=recipient, ids=unread)
    identifiers = sorted({item.identifier for item in items})
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.INBOX_READ,
        subject=principal.username,
        authorities=sorted(
            {row.child.local_authority_code for row in rows if row.child.local_authority_code}
        ),
        details={
            "notices_shown": len(items),
            "marked_read": len(unread),
            "identifiers_shown": identifiers,
        },
    )
    return items
