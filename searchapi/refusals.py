"""Every refused request of a known principal leaves an audit row: a 4xx is audited too.

Probing the minimum criteria, guessing identifiers or forms sent wrong are what the misuse
report must see. The row is written in a transaction of its own (the request's own is rolled
back by the error that refused it) before the answer is sent. A refusal already written by a
service or handler (`mark_audited`) is not written twice.
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


def mark_audited(request: Request) -> None:
    """This request's refusal has its audit row already (e.g. a failed view or a 403)."""
    setattr(request.state, _AUDITED, True)


def note_refusal(request: Request, reason: str) -> None:
    """Why the request is refused, for its audit row (never the values sent)."""
    setattr(request.state, _REASON, reason[:500])


def _route_of(scope: Scope) -> str:
    # The route's template ("/v1/children/{identifier}"), not the path: no value typed.
    route = scope.get("route")
    path = getattr(route, "path", None) or scope.get("path", "")
    return f"{scope.get('method', '')} {path}"


def _write(
    factory: sessionmaker[Session], principal: Principal, state: dict[str, Any], row: dict[str, Any]
) -> None:
    try:
        with factory.begin() as session:
            record_audit(
                session=session,
                context=AuditContext(
                    principal=principal,
                    request_id=state.get("request_id"),
                    client_address=row.pop("client_address"),
                ),
                event=AuditEventType.REQUEST_REFUSED,
                outcome=Outcome.DENIED,
                subject=row["route"],
                details=row,
            )
    except SQLAlchemyError:
        log.exception("could not audit a refusal (request %s)", state.get("request_id"))


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
        principal = state.get("principal")
        if not 400 <= status < 500 or not isinstance(principal, Principal):
            return
        if state.get(_AUDITED):
            return
        reason = state.get(_REASON) or HTTPStatus(status).phrase
        row = {
            "status": status,
            "reason": reason,
            "route": _route_of(scope),
            "client_address": client_address_of(Request(scope)),
        }
        factory = scope["app"].state.session_factory
        await run_in_threadpool(_write, factory, principal, state, row)
