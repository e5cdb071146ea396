"""Accounts and CMS clients: thin routes over the same service functions as the CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from db.access import (
    NewUser,
    VettingRules,
    create_client,
    create_user,
    describe_user,
    list_clients,
    list_users,
    record_vetting,
    reinstate_user,
    revoke_client,
    suspend_user,
    vetting_due,
)
from searchapi.deps import AuditContextDep, ClientAdmin, SessionDep, SettingsDep, UserAdmin
from searchapi.schemas import (
    CreateClientRequest,
    CreateUserRequest,
    Done,
    EnrolmentResponse,
    IssuedKeyResponse,
    VettingRecordedResponse,
    VettingRequest,
    error_responses,
)

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/users")
def get_users(principal: UserAdmin, session: SessionDep) -> list[dict[str, object]]:
    """Every account (no secrets)."""
    now = datetime.now(UTC)
    return [describe_user(user, now=now) for user in list_users(session=session)]


@router.post("/users", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
def post_user(
    body: CreateUserRequest,
    principal: UserAdmin,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> EnrolmentResponse:
    """Create an account; the answer holds the one-time-code secret, shown once."""
    enrolment = create_user(
        session=session,
        settings=settings,
        context=context,
        new=NewUser(
            username=body.username,
            roles=frozenset(body.roles),
            authorities=frozenset(body.authorities),
            organisation=body.organisation,
            email=body.email,
            child_protection=body.child_protection,
            archive_access=body.archive_access,
            expires_at=body.expires_at,
            vetting=body.vetting.change() if body.vetting else None,
        ),
        password=body.password,
        pin=body.pin,
    )
    return EnrolmentResponse(
        username=enrolment.username,
        totp_secret=enrolment.totp_secret,
        provisioning_uri=enrolment.provisioning_uri,
    )


@router.post("/users/{username}/suspend", responses=error_responses(404, 409))
def post_suspend(
    username: str, principal: UserAdmin, session: SessionDep, context: AuditContextDep
) -> Done:
    """Suspend an account and end its sessions (never your own: 409)."""
    ended = suspend_user(session=session, context=context, username=username)
    return Done(message=f"Suspended {username}; ended {ended} sessions.")


@router.post("/users/{username}/reinstate", responses=error_responses(404, 409))
def post_reinstate(
    username: str, principal: UserAdmin, session: SessionDep, context: AuditContextDep
) -> Done:
    """Lift a suspension."""
    reinstate_user(session=session, context=context, username=username)
    return Done(message=f"Reinstated {username}.")


@router.post("/users/{username}/vetting", responses=error_responses(404, 422))
def post_vetting(
    username: str,
    body: VettingRequest,
    principal: UserAdmin,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> VettingRecordedResponse:
    """Record or update an account's vetting; an account left not current is signed out."""
    recorded = record_vetting(
        session=session,
        settings=settings,
        context=context,
        username=username,
        change=body.change(),
    )
    return VettingRecordedResponse(
        username=recorded.username,
        current=not recorded.problems,
        not_current=[str(problem) for problem in recorded.problems],
        sessions_ended=recorded.sessions_ended,
    )


@router.get("/vetting")
def get_vetting(
    principal: UserAdmin,
    session: SessionDep,
    settings: SettingsDep,
    within: Annotated[int | None, Query(ge=0, le=3660, description="Days ahead")] = None,
) -> list[dict[str, object]]:
    """Accounts whose vetting has lapsed, or whose DBS check lapses within `within` days
    (`VETTING_WARNING_DAYS` by default): lapsed first, then the soonest."""
    rules = VettingRules.from_settings(settings)
    rows = vetting_due(session=session, rules=rules, now=datetime.now(UTC), within_days=within)
    return [row.as_dict() for row in rows]


@router.get("/clients")
def get_clients(principal: ClientAdmin, session: SessionDep) -> list[dict[str, object]]:
    """Every CMS client (no keys)."""
    return list_clients(session=session)


@router.post("/clients", status_code=status.HTTP_201_CREATED, responses=error_responses(409))
def post_client(
    body: CreateClientRequest,
    principal: ClientAdmin,
    session: SessionDep,
    context: AuditContextDep,
) -> IssuedKeyResponse:
    """Register a CMS client; the answer holds its API key, shown once."""
    issued = create_client(
        session=session,
        context=context,
        name=body.name,
        roles=frozenset(body.roles),
        authority=body.authority,
        networks=body.networks,
        organisation=body.organisation,
    )
    return IssuedKeyResponse(name=issued.name, key=issued.key)


@router.post("/clients/{name}/revoke", responses=error_responses(404, 409))
def post_revoke_client(
    name: str, principal: ClientAdmin, session: SessionDep, context: AuditContextDep
) -> Done:
    """Revoke a client's API key."""
    revoke_client(session=session, context=context, name=name)
    return Done(message=f"Revoked {name}.")
