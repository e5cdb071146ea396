"""Every response carries a request id (also in the audit and the logs) and is never cached.

It also carries the browser's security policy: scripts, styles, fonts and images from this
service only, no inline script or style, no framing, no referrer sent to other sites.
"""

from __future__ import annotations

import uuid
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contactpoint.logs import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
# FastAPI's own API docs (off unless `api_docs`) load Swagger UI from a CDN with an inline
# script: the policy would blank them, so they keep only the other headers.
_DOCS_PATHS: Final = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def new_request_id() -> str:
    """A random request id (never taken from the caller, so it cannot be forged into the audit)."""
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Give the request an id in `request.state.request_id` and echo it in a response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        # And in every log line written while it is served.
        logged = request_id_var.set(request_id)
        policed = scope.get("path") not in _DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                # Answers name children and hold session tokens: no cache may keep them.
                headers.setdefault("Cache-Control", "no-store")
                for name, value in SECURITY_HEADERS.items():
                    if policed or name != "Content-Security-Policy":
                        headers.setdefault(name, value)
            await send(message)

        try:
            if _holds_nul(scope):
                # PostgreSQL can store no NUL: refused here, for every route, before any is
                # reached.
                refusal = JSONResponse(
                    {"message": "The address holds a NUL character.", "request_id": request_id},
                    status_code=400,
                )
                await refusal(scope, receive, send_with_headers)
                return
            await self.app(scope, receive, send_with_headers)
        finally:
            request_id_var.reset(logged)


def _holds_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"\x00" in query or b"%00" in query
