"""From credentials to the acting principal: a session token, or a CMS key and a user name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.access.credentials import api_key_id, same_digest
from db.access.errors import Forbidden, NotAuthenticated
from db.access.principal import Principal
from db.access.roles import roles_from
from db.access.sessions import SessionLimits, use_session
from db.models import ApiClient, AppUser


def normalise_username(value: str) -> str:
    """Usernames are compared trimmed and lower-cased."""
    return value.strip().lower()


def account_problem(user: AppUser, *, now: datetime) -> str | None:
    """Why the account cannot act now ("suspended", "expired"), or None."""
    if user.suspended_at is not None:
        return "suspended"
    if user.expires_at is not None and user.expires_at <= now:
        return "expired"
    return None


def principal_of(user: AppUser, *, session_id: int | None = None) -> Principal:
    """The principal of a person acting for themselves."""
    return Principal(
        user_id=user.id,
        username=user.username,
        roles=roles_from(user.roles),
        authorities=user.authorities,
        organisation=user.organisation,
        child_protection=user.child_protection,
        session_id=session_id,
    )


def principal_for_session(
    *, session: Session, token: str, limits: SessionLimits, now: datetime
) -> Principal:
    """The principal of a live session; NotAuthenticated when the session or account is not."""
    row = use_session(session=session, token=token, limits=limits, now=now)
    problem = account_problem(row.user, now=now)
    if problem is not None:
        raise NotAuthenticated(f"The account is {problem}: ask your administrator.")
    return principal_of(row.user, session_id=row.id)


def principal_for_client(
    *, session: Session, key: str, on_behalf_of: str | None, now: datetime
) -> Principal:
    """The principal of a CMS client acting for the named user of its local authority.

    The client's roles cap the user's, and its authority is the only one it acts in.
    """
    key_id = api_key_id(key)
    client = None
    if key_id is not None:
        client = session.scalars(select(ApiClient).where(ApiClient.key_id == key_id)).one_or_none()
    if client is None or client.revoked_at is not None or not same_digest(client.key_hash, key):
        raise NotAuthenticated("The API key is not valid.")
    name = normalise_username(on_behalf_of or "")
    actor = Principal(
        user_id=None,
        username=name or "(none)",
        roles=frozenset(),
        authorities=frozenset({client.local_authority_code}),
        client_id=client.id,
        client_name=client.name,
    )
    if not name:
        raise Forbidden(
            "A CMS request must name the practitioner it acts for in X-On-Behalf-Of.",
            actor=actor,
        )
    user = session.scalars(select(AppUser).where(AppUser.username == name)).one_or_none()
    if user is None:
        raise Forbidden(f"X-On-Behalf-Of: there is no user {name!r}.", actor=actor)
    problem = account_problem(user, now=now)
    if problem is not None:
        raise Forbidden(f"X-On-Behalf-Of: the account {name!r} is {problem}.", actor=actor)
    if client.local_authority_code not in user.authorities:
        raise Forbidden(
            f"X-On-Behalf-Of: {name!r} does not belong to this client's local authority "
            f"({client.local_authority_code}).",
            actor=actor,
        )
    roles = roles_from(user.roles) & roles_from(client.roles)
    if not roles:
        raise Forbidden(
            f"X-On-Behalf-Of: this client may act only for {', '.join(sorted(client.roles))} "
            f"users, and {name!r} is not one.",
            actor=actor,
        )
    return Principal(
        user_id=user.id,
        username=user.username,
        roles=roles,
        authorities=frozenset({client.local_authority_code}),
        organisation=user.organisation,
        child_protection=user.child_protection,
        client_id=client.id,
        client_name=client.name,
    )
