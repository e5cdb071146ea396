"""Errors are mapped once: each kind becomes a JSON body with a message and the request id.

No handler ever returns a stack trace or echoes what was sent (a 422 names the fields only,
so a mistyped password is never reflected). Refusals of signed-in principals are audited, by
the one rule of `db.audit.kept`.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from elasticsearch import exceptions as es_exceptions
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from contactpoint.settings import get_settings
from db.access import AccountLocked, Forbidden, NotAuthenticated, TooManyAttempts
from db.audit import was_kept
from db.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    Moved,
    NotFound,
    StaleVersion,
    VersionRequired,
)
from searchapi.fhir.resources import FHIR_JSON, as_json, outcome
from searchapi.middleware import REQUEST_ID_HEADER, new_request_id
from searchapi.pages.render import page_error, render, wants_page
from searchapi.refusals import mark_audited, note_denial, note_refusal

log = logging.getLogger(__name__)

# One status per kind of refusal, whether the access layer or another service raised it.
_STATUS: dict[type[DomainError], int] = {
    Moved: 301,
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    StaleVersion: 412,
    InvalidInput: 422,
    VersionRequired: 428,
    TooManyAttempts: 429,
}
_SEARCH_RETRY_AFTER_S = 5
FHIR_PREFIX = "/fhir/"


def request_id_of(request: Request) -> str:
    """The id the middleware gave this request (a fresh one if it never ran)."""
    request_id = getattr(request.state, "request_id", None)
    return request_id if isinstance(request_id, str) else new_request_id()


def error_response(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The one shape of every error body (an OperationOutcome on the FHIR facade's paths)."""
    request_id = request_id_of(request)
    all_headers = {REQUEST_ID_HEADER: request_id, **(headers or {})}
    if request.url.path.startswith(FHIR_PREFIX):
        problem = as_json(outcome(status, f"{message} (request {request_id})"))
        return JSONResponse(problem, status_code=status, headers=all_headers, media_type=FHIR_JSON)
    body = {"message": message, "request_id": request_id, **extra}
    return JSONResponse(body, status_code=status, headers=all_headers)


def _status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in _STATUS:
            return _STATUS[kind]
    return 400


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    """401, 403, 404, 409, 412, 422, 428 and 429 from the access layer and the services."""
    assert isinstance(exc, DomainError)
    status = _status_of(exc)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, NotAuthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, AccountLocked):
        extra["locked_until"] = exc.locked_until.isoformat()
    message = exc.message
    if isinstance(exc, InvalidInput):
        # The same shape as a request the framework refused: the field that broke a rule of the
        # service, when one did.
        extra["errors"] = [{"field": exc.field, "problem": exc.message}] if exc.field else []
        if exc.field:
            message = "The request is not valid."
    if isinstance(exc, Moved):
        on_fhir = request.url.path.startswith(FHIR_PREFIX)
        headers["Location"] = (
            f"/fhir/Patient/{exc.identifier}" if on_fhir else f"/v1/children/{exc.identifier}"
        )
        extra["identifier"] = exc.identifier
    if isinstance(exc, StaleVersion):
        # The version to send instead, as the record view's ETag gives it.
        headers["ETag"] = f'"{exc.current}"'
        extra["record_version"] = exc.current
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after_s)
        extra["retry_after_s"] = exc.retry_after_s
    if was_kept(exc):
        mark_audited(request)
    elif isinstance(exc, Forbidden):
        # Written by the refusal middleware as an access_denied row, for whoever was refused.
        note_denial(request, exc.message, actor=exc.actor)
    else:
        note_refusal(request, exc.message)
    if isinstance(exc, Moved) and wants_page(request):
        return render(request, "merged.html", identifier=exc.identifier, message=exc.message)
    if wants_page(request):
        # A browser that sent a session cookie which no longer works has timed out.
        expired = get_settings().session_cookie_name in request.cookies
        return page_error(request, status, exc.message, expired=expired)
    return error_response(request, status, message, headers, **extra)


def _who_is_signed_in(request: Request) -> None:
    """For a browser's unknown address, which no route's dependencies saw: who is signed in,
    so that the page keeps the navigation (nothing is written; a bad cookie is no one)."""
    # Imported here: the dependencies import this module.
    from searchapi.deps import principal_of

    factory = getattr(request.app.state, "session_factory", None)
    if factory is None or get_settings().session_cookie_name not in request.cookies:
        return
    with factory() as session:
        try:
            principal_of(request, session, get_settings())
        except DomainError:
            return
        finally:
            session.rollback()


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Framework errors (unknown path, wrong method) in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "The request was refused."
    if wants_page(request) and getattr(request.state, "principal", None) is None:
        await run_in_threadpool(_who_is_signed_in, request)
    note_refusal(request, message)
    if wants_page(request):
        return page_error(request, exc.status_code, message)
    return error_response(request, exc.status_code, message, dict(exc.headers or {}))


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """422 naming the fields and the rule, never echoing the values sent."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(part) for part in error.get("loc", ())), "problem": error["msg"]}
        for error in exc.errors()
    ]
    note_refusal(request, "; ".join(f"{e['field']}: {e['problem']}" for e in errors))
    if wants_page(request):
        return page_error(
            request, 422, "The address or the form is not valid: go back and try again."
        )
    return error_response(request, 422, "The request is not valid.", errors=errors)


async def search_unavailable_handler(request: Request, exc: Exception) -> Response:
    """503 with Retry-After when Elasticsearch cannot be reached or is overloaded."""
    log.warning(
        "elasticsearch unavailable (%s) in %s %s (request %s)",
        type(exc).__name__,
        request.method,
        request.url.path,
        request_id_of(request),
    )
    retry = {"Retry-After": str(_SEARCH_RETRY_AFTER_S)}
    if wants_page(request):
        page = page_error(
            request,
            503,
            "Searching is not working at the moment. Try again in a few minutes. "
            "If you need to contact the services working with a child urgently, call your "
            "local authority management team.",
        )
        page.headers.update(retry)
        return page
    return error_response(
        request, 503, "Search is unavailable for a moment; try again shortly.", retry
    )


async def elasticsearch_error_handler(request: Request, exc: Exception) -> Response:
    """An error answer of Elasticsearch: overloaded (429) or failing (5xx) is a 503 like an
    unreachable node; anything else (a query it refused) is a fault of ours, a 500."""
    assert isinstance(exc, es_exceptions.ApiError)
    if exc.meta.status == 429 or exc.meta.status >= 500:
        return await search_unavailable_handler(request, exc)
    return await unexpected_error_handler(request, exc)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """500: the details go to the log with the request id, the caller gets only the id."""
    if isinstance(exc, SQLAlchemyError):
        # A database error's message can quote the failing row: log its code and frames only.
        code = getattr(getattr(exc, "orig", None), "pgcode", None)
        log.error(
            "unhandled %s (SQLSTATE %s) in %s %s (request %s)\n%s",
            type(exc).__name__,
            code,
            request.method,
            request.url.path,
            request_id_of(request),
            "".join(traceback.format_tb(exc.__traceback__)),
        )
    else:
        log.error(
            "unhandled %s in %s %s (request %s)",
            type(exc).__name__,
            request.method,
            request.url.path,
            request_id_of(request),
            exc_info=exc,
        )
    if wants_page(request):
        return page_error(
            request, 500, f"Something went wrong. Quote this reference: {request_id_of(request)}"
        )
    return error_response(request, 500, "Something went wrong; quote the request id.")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`."""
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(es_exceptions.TransportError, search_unavailable_handler)
    app.add_exception_handler(es_exceptions.ApiError, elasticsearch_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
