"""Writing the audit: in the caller's transaction, so a change and its record commit together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from db.audit.context import AuditContext
from db.audit.events import AuditEventType, Outcome
from db.models import AuditEvent


def record_audit(
    *,
    session: Session,
    context: AuditContext,
    event: AuditEventType,
    outcome: Outcome = Outcome.SUCCESS,
    subject: str | None = None,
    authorities: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
    username: str | None = None,
) -> int:
    """Write one audit row in `session`'s transaction and return its id (a failure raises here).

    For reads (searches, views), the request's session commits before the response is sent,
    so a request whose audit cannot be written fails. `authorities` are added to the actor's,
    e.g. the viewed child's authority, so that its managers see the event. `username` names
    the actor when the context has no principal (a failed sign-in).
    """
    scope = set(authorities)
    principal = context.principal
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
            "request_id": context.request_id,
            "client_address": context.client_address,
            "details": dict(details or {}),
        },
    ).scalar_one()
    return audit_id
