"""From credentials to the acting principal: a session token, or a CMS key and a user name.

Each credential is resolved in one round trip to PostgreSQL: the session (its idle clock
restarted) or the client, the user, the user's authorities and the shielded children the user
was named to see, so that a search or a view needs no further lookups to decide access.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import LargeBinary, Row, select, text
from sqlalchemy.orm import Session

from db.access.credentials import api_key_id, digest, same_digest
from db.access.errors import Forbidden, NotAuthenticated
from db.access.networks import address_within, parse_networks
from db.access.principal import Principal
from db.access.roles import roles_from
from db.access.sessions import SessionLimits, revoke_session
from db.access.vetting import (
    VettingRules,
    client_refusal_message,
    refusal_message,
    vetting_problems,
)
from db.audit import AuditContext, AuditEventType, Outcome, raise_kept, record_audit
from db.models import AppUser, UserSession


class AccountState(Protocol):
    """What decides whether an account may act (a user row or a looked-up principal row)."""

    @property
    def suspended_at(self) -> datetime | None: ...

    @property
    def expires_at(self) -> datetime | None: ...


def normalise_username(value: str) -> str:
    """Usernames are compared trimmed and lower-cased."""
    return value.strip().lower()


def account_problem(user: AccountState, *, now: datetime) -> str | None:
    """Why the account cannot act now ("suspended", "expired"), or None."""
    if user.suspended_at is not None:
        return "suspended"
    if user.expires_at is not None and user.expires_at <= now:
        return "expired"
    return None


def principal_of(user: AppUser, *, session_id: int | None = None) -> Principal:
    """The principal of a person acting for themselves (at sign-in)."""
    return Principal(
        user_id=user.id,
        username=user.username,
        roles=roles_from(user.roles),
        authorities=user.authorities,
        organisation=user.organisation,
        child_protection=user.child_protection,
        archive_access=user.archive_access,
        session_id=session_id,
        email=user.email,
    )


# The user's columns that make a principal, with its authorities and the shielded children it
# was named to see as arrays (ARRAY(subquery) is empty when there are no rows). Fixed SQL text:
# it runs on every request, and a text statement costs nothing to look up in the
# statement cache, where a select() with subqueries is rebuilt into a cache key each time.
_USER_COLUMNS = """
    u.id AS user_id, u.username, u.roles AS user_roles, u.organisation, u.child_protection,
    u.archive_access, u.suspended_at, u.expires_at, u.email,
    u.identity_checked_on, u.dbs_checked_on, u.training_completed_on,
    ARRAY(SELECT a.local_authority_code FROM app_user_authority a WHERE a.user_id = u.id)
        AS authorities,
    ARRAY(SELECT c.identifier FROM shield_access s JOIN child c ON c.id = s.child_id
          WHERE s.username = u.username AND s.revoked_at IS NULL) AS named_children
"""
_CLIENT_PRINCIPAL = text(
    f"""
    SELECT k.id AS client_id, k.name AS client_name, k.key_hash, k.revoked_at,
           k.roles AS client_roles, k.local_authority_code, k.networks,
           k.organisation_id AS client_organisation_id, o.kind AS client_organisation_kind,
           {_USER_COLUMNS}
    FROM api_client k LEFT JOIN app_user u ON u.username = :username
      LEFT JOIN organisation o ON o.id = k.organisation_id
    WHERE k.key_id = :key_id
    """
).columns(key_hash=LargeBinary)
# The session's idle clock is restarted in the same statement that reads its user.
_SESSION_PRINCIPAL = text(
    f"""
    WITH touched AS (
        UPDATE user_session SET last_seen_at = :now
        WHERE token_hash = :token_hash AND revoked_at IS NULL
          AND last_seen_at >= :idle_since AND created_at >= :created_since
        RETURNING id, user_id
    )
    SELECT touched.id AS session_id, {_USER_COLUMNS}
    FROM touched JOIN app_user u ON u.id = touched.user_id
    """
)


def _principal(row: Row[Any], **extra: Any) -> Principal:
    values = {
        "user_id": row.user_id,
        "username": row.username,
        "roles": roles_from(row.user_roles),
        "authorities": frozenset(row.authorities),
        "organisation": row.organisation,
        "child_protection": row.child_protection,
        "archive_access": bool(row.archive_access),
        "named_children": frozenset(row.named_children),
        "email": row.email,
    }
    return Principal(**(values | extra))


_USER_PRINCIPAL = text(f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.username = :username")


def principal_for_user(*, session: Session, username: str, now: datetime) -> Principal:
    """The principal of an account acting at this machine's command line (a manager producing
    a subject access report): its roles and authorities, as if signed in; NotAuthenticated
    when there is no such account or it may not act now."""
    row = session.execute(_USER_PRINCIPAL, {"username": username}).one_or_none()
    if row is None:
        raise NotAuthenticated(f"There is no account {username!r}.")
    problem = account_problem(row, now=now)
    if problem is not None:
        raise NotAuthenticated(f"The account is {problem}: ask your administrator.")
    return _principal(row)


def principal_for_session(
    *,
    session: Session,
    token: str,
    limits: SessionLimits,
    vetting: VettingRules,
    context: AuditContext,
    now: datetime,
) -> Principal:
    """The principal of a live session, its idle clock restarted; NotAuthenticated otherwise.

    A session whose user's vetting has lapsed since sign-in is ended at this request, audited
    (`context` is the request's), and refused with what lapsed.
    """
    row = session.execute(
        _SESSION_PRINCIPAL,
        {
            "now": now,
            "token_hash": digest(token),
            "idle_since": now - limits.idle,
            "created_since": now - limits.absolute,
        },
    ).one_or_none()
    if row is None:
        known = session.scalar(
            select(UserSession.id).where(
                UserSession.token_hash == digest(token), UserSession.revoked_at.is_(None)
            )
        )
        if known is None:
            raise NotAuthenticated("The session is not valid: sign in again.")
        raise NotAuthenticated("The session has expired: sign in again.")
    problem = account_problem(row, now=now)
    if problem is not None:
        raise NotAuthenticated(f"The account is {problem}: ask your administrator.")
    principal = _principal(row, session_id=row.session_id)
    lapsed = vetting_problems(row, rules=vetting, today=vetting.today(now))
    if lapsed:
        revoke_session(session=session, session_id=row.session_id, now=now)
        record_audit(
            session=session,
            context=context.acting(principal),
            event=AuditEventType.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            details={
                "reason": "vetting_lapsed",
                "vetting": [str(code) for code in lapsed],
                "session_ended": row.session_id,
            },
        )
        message = refusal_message(lapsed, row, rules=vetting)
        raise_kept(session=session, error=Forbidden(f"{message} You have been signed out."))
    return principal


def principal_for_client(
    *,
    session: Session,
    key: str,
    on_behalf_of: str | None,
    now: datetime,
    client_address: str | None,
    vetting: VettingRules,
) -> Principal:
    """The principal of a CMS client acting for the named user of its local authority.

    The client's roles cap the user's, and its authority is the only one it acts in; it may
    call only from the networks it was registered with.
    """
    key_id = api_key_id(key)
    name = normalise_username(on_behalf_of or "")
    row = None
    if key_id is not None:
        row = session.execute(_CLIENT_PRINCIPAL, {"username": name, "key_id": key_id}).one_or_none()
    if row is None or row.revoked_at is not None or not same_digest(row.key_hash, key):
        raise NotAuthenticated("The API key is not valid.")
    authority = row.local_authority_code
    actor = Principal(
        user_id=None,
        username=name or "(none)",
        roles=frozenset(),
        authorities=frozenset({authority}),
        client_id=row.client_id,
        client_name=row.client_name,
        client_organisation_id=row.client_organisation_id,
        client_organisation_kind=row.client_organisation_kind,
    )
    if not address_within(client_address, parse_networks(row.networks)):
        raise Forbidden(
            "This CMS client may call only from the networks it was registered with; this "
            "request comes from outside them.",
            actor=actor,
        )
    if not name:
        raise Forbidden(
            "A CMS request must name the practitioner it acts for in X-On-Behalf-Of.",
            actor=actor,
        )
    if row.user_id is None:
        raise Forbidden(f"X-On-Behalf-Of: there is no user {name!r}.", actor=actor)
    problem = account_problem(row, now=now)
    if problem is not None:
        raise Forbidden(f"X-On-Behalf-Of: the account {name!r} is {problem}.", actor=actor)
    lapsed = vetting_problems(row, rules=vetting, today=vetting.today(now))
    if lapsed:
        # Written by the refusal middleware as an access_denied row naming the client.
        raise Forbidden(
            client_refusal_message(lapsed, row, rules=vetting, username=name), actor=actor
        )
    if authority not in row.authorities:
        raise Forbidden(
            f"X-On-Behalf-Of: {name!r} does not belong to this client's local authority "
            f"({authority}).",
            actor=actor,
        )
    roles = roles_from(row.user_roles) & roles_from(row.client_roles)
    if not roles:
        raise Forbidden(
            f"X-On-Behalf-Of: this client may act only for {', '.join(sorted(row.client_roles))} "
            f"users, and {name!r} is not one.",
            actor=actor,
        )
    return _principal(
        row,
        roles=roles,
        authorities=frozenset({authority}),
        client_id=row.client_id,
        client_name=row.client_name,
        client_organisation_id=row.client_organisation_id,
        client_organisation_kind=row.client_organisation_kind,
    )
