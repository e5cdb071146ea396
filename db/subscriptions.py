"""CMS clients' webhooks: the URL and signing secret, and the children they subscribed to."""

from __future__ import annotations

import re
import secrets
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, record_audit
from db.errors import Conflict, InvalidInput, NotFound
from db.models import ApiClient, Child, WebhookSubscription

# The CHECK of api_client.webhook_url.
_URL: Final = re.compile(r"https?://[^\s]{1,1992}")


def set_webhook(
    *, session: Session, context: AuditContext, client_name: str, url: str | None
) -> str | None:
    """Give the client a webhook URL and a new signing secret (returned, shown once), or
    remove its webhook (url None)."""
    client = session.scalars(select(ApiClient).where(ApiClient.name == client_name)).one_or_none()
    if client is None or client.revoked_at is not None:
        raise NotFound(f"There is no current CMS client {client_name!r}.")
    if url is not None and not _URL.fullmatch(url):
        raise InvalidInput("a webhook URL is http(s)://HOST/PATH, without spaces", field="url")
    secret = None if url is None else f"whsec_{secrets.token_urlsafe(32)}"
    client.webhook_url, client.webhook_secret = url, secret
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.CLIENT_WEBHOOK_SET,
        subject=client.name,
        authorities=[client.local_authority_code],
        details={"webhook_url": url},
    )
    return secret


def _child_id(session: Session, identifier: str) -> tuple[int, str | None]:
    row = session.execute(
        select(Child.id, Child.local_authority_code, Child.status).where(
            Child.identifier == identifier
        )
    ).one_or_none()
    if row is None:
        raise NotFound("There is no child with this identifier.")
    if row.status != "active":
        raise Conflict(f"This record is {row.status}: it has no more news.")
    return int(row.id), row.local_authority_code


def subscribe(*, session: Session, context: AuditContext, identifier: str) -> bool:
    """Subscribe the acting client to the child's notices; False when it already was."""
    client_id = context.actor.client_id
    if client_id is None:
        raise InvalidInput("only a CMS client subscribes")
    has_webhook = session.scalar(select(ApiClient.webhook_url).where(ApiClient.id == client_id))
    if not has_webhook:
        raise Conflict(
            "This client has no webhook: register one first (`contactpoint notify webhook`)."
        )
    child_id, authority = _child_id(session, identifier)
    result = session.execute(
        insert(WebhookSubscription)
        .values(client_id=client_id, child_id=child_id)
        .on_conflict_do_nothing()
        .returning(WebhookSubscription.child_id)
    ).first()
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.CHILD_SUBSCRIBED,
        subject=identifier,
        authorities=[authority] if authority else [],
        details={"identifier": identifier, "already": result is None},
    )
    return result is not None


def unsubscribe(*, session: Session, context: AuditContext, identifier: str) -> bool:
    """End the acting client's subscription to the child; False when there was none."""
    client_id = context.actor.client_id
    child_id, authority = _child_id(session, identifier)
    result = session.execute(
        delete(WebhookSubscription).where(
            WebhookSubscription.client_id == client_id, WebhookSubscription.child_id == child_id
        )
    )
    gone = bool(result.rowcount)  # type: ignore[attr-defined]
    record_audit(
        session=session,
        context=context,
        event=AuditEventType.CHILD_UNSUBSCRIBED,
        subject=identifier,
        authorities=[authority] if authority else [],
        details={"identifier": identifier, "was_subscribed": gone},
    )
    return gone
