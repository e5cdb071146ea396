"""Writing the audit: in the caller's transaction, so a change and its record commit together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from db.audit.events import AuditEventType, Outcome
from db.models import AuditEvent

if TYPE_CHECKING:
    # Only a type: db.access itself writes the audit, so importing it here would be a cycle.
    from db.access.principal import Principal


def record_audit(
    *,
    session: Session,
    event: AuditEventType,
    principal: Principal | None,
    request_id: str | None,
    outcome: Outcome = Outcome.SUCCESS,
    subject: str | None = None,
    authorities: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
    client_address: str | None = None,
    username: str | None = None,
) -> int:
    """Write one audit row in `session`'s transaction and return its id (a failure raises here).

    For reads (searches, views), the request's session commits before the response is sent,
    so a request whose audit cannot be written fails. `authorities` are added to the actor's,
    e.g. the viewed child's authority, so that its managers see the event. `username` names
    the actor when there is no principal (a failed sign-in).
    """
    scope = set(authorities)
    if principal is not None:
        scope |= principal.authorities
    # A Core insert: one statement, no unit-of-work bookkeeping on every search and view.
    table = cast(Table, AuditEvent.__table__)
    audit_id: int = session.execute(
        insert(table).returning(table.c.id),
        {
            "event": event.value,
            "outcome": outcome.value,
            "user_id": principal.user_id if principal else None,
            "username": principal.username if principal else username,
            "client_id": principal.client_id if principal else None,
            "client_name": principal.client_name if principal else None,
            "authorities": sorted(scope),
            "subject": subject,
            "request_id": request_id,
            "client_address": client_address,
            "details": dict(details or {}),
        },
    ).scalar_one()
    return audit_id
