"""Every request dependency, as `Annotated` aliases that route handlers only declare.

`Allowed(permission)` is the only way a route gets a principal: it authenticates (401),
then asks `searchapi.access` whether the principal may (403). `PUBLIC` marks the few routes
that need no credentials; `searchapi.guard` refuses to build an app with a route that has
neither.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

import anyio
from elasticsearch import Elasticsearch
from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.settings import Settings, get_settings
from db.access import (
    Forbidden,
    NotAuthenticated,
    Principal,
    SessionLimits,
    principal_for_client,
    principal_for_session,
)
from db.access.credentials import API_KEY_PREFIX
from db.access.networks import address_within, networks_of_setting
from db.access.sign_in import OUTSIDE_NETWORKS
from db.access.vetting import VettingRules
from db.audit import AuditContext, AuditEventType, Outcome, raise_kept, record_audit
from db.idempotency import request_digest
from db.ranker import Ranker
from searchapi.access import Permission, refusal
from searchapi.client_address import client_address_of
from searchapi.errors import request_id_of
from searchapi.paths import IdentifierPath
from searchapi.updates import WriteRequest


async def settings_dependency() -> Settings:
    """The settings (a coroutine: no thread-pool hop; tests override this dependency)."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dependency)]


def _commit_and_close(session: Session) -> None:
    with session:
        session.commit()


def _roll_back_and_close(session: Session) -> None:
    with session:
        session.rollback()


async def _db_session(request: Request) -> AsyncIterator[Session]:
    # scope="function": the commit runs before the response is sent, so a request whose
    # writes (its audit row included) cannot be committed fails instead of answering.
    # Opening a session does no I/O; ending it does, in one hop to the thread pool.
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    except BaseException:
        # Shielded: a cancelled request still returns its connection, rolled back.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_roll_back_and_close, session)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_commit_and_close, session)


SessionDep = Annotated[Session, Depends(_db_session, scope="function")]


async def _elasticsearch(request: Request) -> Elasticsearch:
    client: Elasticsearch = request.app.state.es
    return client


EsDep = Annotated[Elasticsearch, Depends(_elasticsearch)]


async def _ranker(request: Request) -> Ranker:
    ranker: Ranker = request.app.state.ranker
    return ranker


# The match model searches rank with (loaded when the app is built).
RankerDep = Annotated[Ranker, Depends(_ranker)]


async def _request_context(request: Request) -> AuditContext:
    return AuditContext(
        principal=None, request_id=request_id_of(request), client_address=client_address_of(request)
    )


# Before anyone is known (sign-in): the request id and the client's address.
RequestContextDep = Annotated[AuditContext, Depends(_request_context)]


def credential_of(request: Request, settings: Settings) -> str | None:
    """The bearer token or API key, else the session cookie, else None."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated("Send 'Authorization: Bearer <session token or API key>'.")
        return value.strip()
    return request.cookies.get(settings.session_cookie_name)


def _principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    credential = credential_of(request, settings)
    if credential is None:
        raise NotAuthenticated("Sign in first, or send an API key.")
    now = datetime.now(UTC)
    if credential.startswith(API_KEY_PREFIX):
        principal = principal_for_client(
            session=session,
            key=credential,
            on_behalf_of=request.headers.get("X-On-Behalf-Of"),
            now=now,
            client_address=client_address_of(request),
            vetting=VettingRules.from_settings(settings),
        )
    else:
        principal = principal_for_session(
            session=session,
            token=credential,
            limits=SessionLimits.from_settings(settings),
            vetting=VettingRules.from_settings(settings),
            context=AuditContext(
                principal=None,
                request_id=request_id_of(request),
                client_address=client_address_of(request),
            ),
            now=now,
        )
        if not address_within(
            client_address_of(request), networks_of_setting(settings.sign_in_networks)
        ):
            # A session (a cookie or token taken elsewhere) works only where sign-in would.
            raise Forbidden(OUTSIDE_NETWORKS, actor=principal)
    request.state.principal = principal
    return principal


# The same resolution, for a handler outside the dependencies (an unknown address's page).
principal_of = _principal


async def _acting_context(
    context: RequestContextDep, principal: Annotated[Principal, Depends(_principal)]
) -> AuditContext:
    # The same principal that the route's `Allowed` checked: FastAPI resolves `_principal`
    # once per request.
    return context.acting(principal)


# The one audit context of an authenticated request; services take it, and nothing else, to
# know who acts, on whose behalf, in which request and from where.
AuditContextDep = Annotated[AuditContext, Depends(_acting_context)]


class Allowed:
    """Dependency: the acting principal, if it holds `permission` (401 or 403 otherwise)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self, principal: Annotated[Principal, Depends(_principal)], settings: SettingsDep
    ) -> Principal:
        reason = refusal(principal, self.permission, address_sources=settings.address_source_kinds)
        if reason is not None:
            raise Forbidden(reason, actor=principal)
        return principal


class ArchiveAllowed:
    """Dependency: the principal, if it may open the archive; a refusal (403) is written as an
    `archive_opened` row of its own, so that every attempt on the archive reads alike."""

    permission = Permission.OPEN_ARCHIVE

    def __call__(
        self,
        request: Request,
        principal: Annotated[Principal, Depends(_principal)],
        session: SessionDep,
        settings: SettingsDep,
    ) -> Principal:
        reason = refusal(principal, self.permission, address_sources=settings.address_source_kinds)
        if reason is None:
            return principal
        identifier = request.path_params.get("identifier")
        context = AuditContext(
            principal=principal,
            request_id=request_id_of(request),
            client_address=client_address_of(request),
        )
        record_audit(
            session=session,
            context=context,
            event=AuditEventType.ARCHIVE_OPENED,
            outcome=Outcome.DENIED,
            subject=identifier or f"{request.method} {request.url.path}",
            details={"identifier": identifier, "reason": reason},
        )
        raise_kept(session=session, error=Forbidden(reason, actor=principal))


class Open:
    """Dependency marking a route that needs no credentials (health, sign-in)."""

    permission = Permission.PUBLIC

    async def __call__(self) -> None:
        return None


PUBLIC = Depends(Open())
SignedIn = Annotated[Principal, Depends(Allowed(Permission.AUTHENTICATED))]
SigningOut = Annotated[Principal, Depends(Allowed(Permission.SIGN_OUT))]
AuditReader = Annotated[Principal, Depends(Allowed(Permission.READ_AUDIT))]
MisuseReporter = Annotated[Principal, Depends(Allowed(Permission.RUN_MISUSE_REPORT))]
UserAdmin = Annotated[Principal, Depends(Allowed(Permission.MANAGE_USERS))]
ClientAdmin = Annotated[Principal, Depends(Allowed(Permission.MANAGE_CLIENTS))]
Searcher = Annotated[Principal, Depends(Allowed(Permission.SEARCH_CHILDREN))]
Viewer = Annotated[Principal, Depends(Allowed(Permission.VIEW_CHILD))]
GlassBreaker = Annotated[Principal, Depends(Allowed(Permission.BREAK_GLASS))]
ShieldManager = Annotated[Principal, Depends(Allowed(Permission.MANAGE_SHIELDS))]
ConsentRecorder = Annotated[Principal, Depends(Allowed(Permission.RECORD_CONSENT))]
ConsentOverrider = Annotated[Principal, Depends(Allowed(Permission.OVERRIDE_CONSENT))]
GlassReviewer = Annotated[Principal, Depends(Allowed(Permission.REVIEW_BREAK_GLASS))]
FeedReviewer = Annotated[Principal, Depends(Allowed(Permission.REVIEW_FEED_RECORDS))]
Merger = Annotated[Principal, Depends(Allowed(Permission.MERGE_CHILDREN))]
TeamAsker = Annotated[Principal, Depends(Allowed(Permission.ASK_THE_TEAM))]
ContactBroker = Annotated[Principal, Depends(Allowed(Permission.BROKER_CONTACT))]
InvolvementWriter = Annotated[Principal, Depends(Allowed(Permission.WRITE_INVOLVEMENTS))]
AddressChanger = Annotated[Principal, Depends(Allowed(Permission.CHANGE_ADDRESS))]
InboxReader = Annotated[Principal, Depends(Allowed(Permission.READ_INBOX))]
ExtensionRecorder = Annotated[Principal, Depends(Allowed(Permission.RECORD_EXTENSION))]
Subscriber = Annotated[Principal, Depends(Allowed(Permission.SUBSCRIBE_CHILD))]
Corrector = Annotated[Principal, Depends(Allowed(Permission.CORRECT_RECORDS))]
SubjectAccessor = Annotated[Principal, Depends(Allowed(Permission.SUBJECT_ACCESS))]
ArchiveOpener = Annotated[Principal, Depends(ArchiveAllowed())]


async def _write_request(
    request: Request,
    identifier: IdentifierPath,
    if_match: Annotated[str | None, Header(alias="If-Match", max_length=1000)] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=r"^[!-~]{1,255}$",
            description="Any printable ASCII, at most 255 characters; one per change",
        ),
    ] = None,
) -> WriteRequest:
    # The body as sent (Starlette keeps it: the route's model is parsed from the same bytes).
    body = await request.body()
    return WriteRequest(
        identifier=identifier,
        if_match=if_match,
        idempotency_key=idempotency_key,
        digest=request_digest(method=request.method, path=request.url.path, body=body),
    )


# A CMS write's If-Match, Idempotency-Key and the digest of what it sent.
WriteRequestDep = Annotated[WriteRequest, Depends(_write_request)]
