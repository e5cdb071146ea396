"""Every refused request of a known principal leaves an audit row: a 4xx is audited too.

Probing the minimum criteria, guessing identifiers or forms sent wrong are what the misuse
report must see. The row is written in a transaction of its own (the request's own is rolled
back by the error that refused it) before the answer is sent: `access_denied` for a refused
permission (`note_denial`), `request_refused` for any other 4xx. A refusal that a service has
audited already (`db.audit.raise_kept`, then `mark_audited`) is not written twice; the whole
rule is `db.audit.kept`'s.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.access import Principal
from db.audit import AuditContext, AuditEventType, Outcome, record_audit
from searchapi.client_address import client_address_of

log = logging.getLogger(__name__)

_AUDITED = "refusal_audited"
_REASON = "refusal_reason"
_DENIED = "refusal_denied_to"


def mark_audited(request: Request) -> None:
    """This request's refusal has its audit row already (e.g. a failed view or a 403)."""
    setattr(request.state, _AUDITED, True)


def note_refusal(request: Request, reason: str) -> None:
    """Why the request is refused, for its audit row (never the values sent)."""
    setattr(request.state, _REASON, reason[:500])


def note_denial(request: Request, reason: str, *, actor: Principal | None = None) -> None:
    """A permission refused, with its reason; `actor` is who was refused when the request's
    principal is not (e.g. a CMS client whose user is refused)."""
    note_refusal(request, reason)
    setattr(request.state, _DENIED, actor or getattr(request.state, "principal", None))


def _route_of(scope: Scope) -> str:
    # The route's template ("/v1/children/{identifier}"), not the path: no value typed.
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("path", "")
    return f"{scope.get('method', '')} {path}"


def _write(
    factory: sessionmaker[Session],
    context: AuditContext,
    event: AuditEventType,
    subject: str,
    details: dict[str, Any],
) -> None:
    try:
        with factory.begin() as session:
            record_audit(
                session=session,
                context=context,
                event=event,
                outcome=Outcome.DENIED,
                subject=subject,
                details=details,
            )
    except SQLAlchemyError:
        log.exception("could not audit a refusal (request %s)", context.request_id)


class RefusalAuditMiddleware:
    """Audit each 4xx answer to a principal that authenticated, unless already audited."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def audit_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._audit(scope, int(message["status"]))
            await send(message)

        await self.app(scope, receive, audit_then_send)

    async def _audit(self, scope: Scope, status: int) -> None:
        state: dict[str, Any] = scope.get("state", {})
        denied_to = state.get(_DENIED)
        principal = denied_to or state.get("principal")
        if not 400 <= status < 500 or not isinstance(principal, Principal):
            return
        if state.get(_AUDITED):
            return
        request = Request(scope)
        reason = state.get(_REASON) or HTTPStatus(status).phrase
        context = AuditContext(
            principal=principal,
            request_id=state.get("request_id"),
            client_address=client_address_of(request),
        )
        if denied_to is not None:
            event, subject = AuditEventType.ACCESS_DENIED, f"{request.method} {request.url.path}"
            details: dict[str, Any] = {"reason": reason}
        else:
            event, subject = AuditEventType.REQUEST_REFUSED, _route_of(scope)
            details = {"status": status, "reason": reason, "route": subject}
        factory = scope["app"].state.session_factory
        await run_in_threadpool(_write, factory, context, event, subject, details)
