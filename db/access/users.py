"""Accounts of people: create, suspend, reinstate, reset, list; each change is audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import throttle
from db.access.authenticate import normalise_username
from db.access.credentials import (
    Argon2Cost,
    current_code,
    hash_secret,
    new_totp_secret,
    password_hasher,
    password_problem,
    pin_problem,
    provisioning_uri,
)
from db.access.errors import Forbidden
from db.access.roles import AUTHORITY_ROLES, Role
from db.access.sessions import revoke_user_sessions
from db.access.vetting import VettingChange, VettingRules, apply_change, change_problems
from db.audit import AuditContext, AuditEventType, record_audit
from db.errors import Conflict, DomainError, InvalidInput, NotFound
from db.models import AppUser, LocalAuthority, UserAuthority
from db.normalise import has_control_characters

# The CHECK of app_user.username: refused here first, so a bad name is an answer, not a 500.
_USERNAME: Final = re.compile(r"[a-z0-9][a-z0-9._@-]{2,99}")
# The CHECK of app_user.email (lower-cased before it is compared).
_EMAIL: Final = re.compile(r"[^@\s]{1,200}@[^@\s]{1,200}")
_USERNAME_MAX: Final = 100


@dataclass(frozen=True)
class Enrolment:
    """What a new (or reset) user needs to enrol a token: shown once, never stored elsewhere."""

    username: str
    totp_secret: str
    provisioning_uri: str


@dataclass(frozen=True)
class NewUser:
    """The account to create."""

    username: str
    roles: frozenset[Role]
    authorities: frozenset[str] = frozenset()
    organisation: str | None = None
    child_protection: bool = False
    # May open archived records (docs/archive-access.md): a local authority manager's.
    archive_access: bool = False
    expires_at: datetime | None = None
    is_demo: bool = False
    # Whose notices the inbox shows: the practitioner with this address.
    email: str | None = None
    # The vetting known when the account is made; without it (or with part of it) the account
    # cannot sign in until an administrator records the rest (`record_vetting`).
    vetting: VettingChange | None = None


def _check_secrets(settings: Settings, *, password: str, pin: str) -> None:
    problem = password_problem(password, min_length=settings.password_min_length) or pin_problem(
        pin, min_digits=settings.pin_min_digits, max_digits=settings.pin_max_digits
    )
    if problem is not None:
        raise InvalidInput(problem)


def _set_credentials(user: AppUser, *, settings: Settings, password: str, pin: str) -> Enrolment:
    hasher = password_hasher(Argon2Cost.from_settings(settings))
    user.password_hash = hash_secret(password, hasher=hasher)
    user.pin_hash = hash_secret(pin, hasher=hasher)
    user.totp_secret = new_totp_secret()
    user.totp_last_step = None
    return Enrolment(
        username=user.username,
        totp_secret=user.totp_secret,
        provisioning_uri=provisioning_uri(
            user.totp_secret, username=user.username, issuer=settings.totp_issuer
        ),
    )


def normalise_email(value: str | None) -> str | None:
    """E-mail addresses are kept trimmed and lower-cased (as practitioners' are); blank: none."""
    if value is None or not value.strip():
        return None
    return value.strip().lower()


def get_user(*, session: Session, username: str) -> AppUser:
    """The user called `username`; NotFound otherwise."""
    name = normalise_username(username)
    if has_control_characters(name) or len(name) > _USERNAME_MAX:
        # No user is so named (and PostgreSQL cannot even compare a NUL).
        raise NotFound("There is no user with this name.")
    user = session.scalars(select(AppUser).where(AppUser.username == name)).one_or_none()
    if user is None:
        raise NotFound(f"There is no user {name!r}.")
    return user


def account_problems(
    *, session: Session, settings: Settings, new: NewUser, password: str, pin: str
) -> dict[str, DomainError]:
    """Every rule the new account breaks, by the field it is about, in the order they are
    checked (empty when it may be created): a form shows them all at once."""
    problems: dict[str, DomainError] = {}

    def refuse(field: str, message: str) -> None:
        problems.setdefault(field, InvalidInput(message))

    username = normalise_username(new.username)
    if not _USERNAME.fullmatch(username):
        refuse(
            "username",
            "a username has 3 to 100 letters, digits, dots, underscores, @ or hyphens, "
            "starting with a letter or digit",
        )
    organisation = new.organisation
    if organisation is not None and (
        not organisation.strip()
        or organisation != organisation.strip()
        or len(organisation) > 200
        or has_control_characters(organisation)
    ):
        refuse(
            "organisation", "an organisation name has 1 to 200 characters and no control characters"
        )
    email = normalise_email(new.email)
    if email is not None and (not _EMAIL.fullmatch(email) or has_control_characters(email)):
        refuse("email", "an e-mail address is NAME@DOMAIN, without spaces, up to 401 characters")
    elif (
        email is not None
        and session.scalars(select(AppUser.id).where(AppUser.email == email)).first()
    ):
        problems["email"] = Conflict("Another account has this e-mail address.")
    if not new.roles:
        refuse("roles", "a user needs at least one role")
    if new.roles & AUTHORITY_ROLES and not new.authorities:
        refuse("authorities", "a local authority manager needs at least one --authority")
    if Role.PRACTITIONER in new.roles and not (new.authorities or new.organisation):
        refuse("authorities", "a practitioner needs an --authority or an --organisation")
    if new.child_protection and Role.PRACTITIONER not in new.roles:
        refuse("child_protection", "only a practitioner can carry the child-protection capability")
    if new.archive_access and Role.LA_MANAGER not in new.roles:
        refuse("archive_access", "only a local authority manager can carry the archive capability")
    for field, problem in (
        ("password", password_problem(password, min_length=settings.password_min_length)),
        (
            "pin",
            pin_problem(
                pin, min_digits=settings.pin_min_digits, max_digits=settings.pin_max_digits
            ),
        ),
    ):
        if problem is not None:
            refuse(field, problem)
    if new.vetting is not None:
        today = VettingRules.from_settings(settings).today(datetime.now(UTC))
        for name, error in change_problems(new.vetting, today=today).items():
            problems.setdefault(name, error)
    wanted = set(new.authorities)
    known = set(session.scalars(select(LocalAuthority.code).where(LocalAuthority.code.in_(wanted))))
    if wanted - known:
        refuse("authorities", f"unknown local authority: {', '.join(sorted(wanted - known))}")
    if (
        "username" not in problems
        and session.scalars(select(AppUser.id).where(AppUser.username == username)).first()
    ):
        problems["username"] = Conflict(f"The username {username!r} is taken.")
    return problems


def create_user(
    *,
    session: Session,
    settings: Settings,
    context: AuditContext,
    new: NewUser,
    password: str,
    pin: str,
) -> Enrolment:
    """Create an account with its password, PIN and a fresh one-time-code secret."""
    problems = account_problems(
        session=session, settings=settings, new=new, password=password, pin=pin
    )
    if problems:
        # The first rule broken, as the API and the command line have always answered.
        raise next(iter(problems.values()))
    username = normalise_username(new.username)
    user = AppUser(
        username=username,
        roles=sorted(new.roles),
        organisation=new.organisation,
        child_protection=new.child_protection,
        archive_access=new.archive_access,
        is_demo=new.is_demo,
        email=normalise_email(new.email),
        expires_at=new.expires_at,
        authority_links=[UserAuthority(local_authority_code=code) for code in new.authorities],
    )
    if new.vetting is not None:
        apply_change(user, new.vetting)
    enrolment = _set_credentials(user, settings=settings, password=password, pin=pin)
    session.add(user)
    session.flush()
    record_audit(
        session=session,
        event=AuditEventType.USER_CREATED,
        context=context,
        subject=username,
        authorities=new.authorities,
        details={
            "roles": sorted(new.roles),
            "authorities": sorted(new.authorities),
            "organisation": new.organisation,
            "child_protection": new.child_protection,
            "archive_access": new.archive_access,
            "expires_at": new.expires_at.isoformat() if new.expires_at else None,
            "is_demo": new.is_demo,
            "email": normalise_email(new.email),
            "vetting": new.vetting.as_details() if new.vetting else {},
        },
    )
    return enrolment


def suspendable_user(*, session: Session, context: AuditContext, username: str) -> AppUser:
    """The account `username`, if the actor may suspend it: nobody suspends their own."""
    user = get_user(session=session, username=username)
    # An administrator who suspended themselves would be signed out with no one left to undo it.
    if context.principal is not None and context.principal.user_id == user.id:
        raise Conflict("You cannot suspend your own account: ask another administrator to do it.")
    return user


def suspend_user(*, session: Session, context: AuditContext, username: str) -> int:
    """Suspend an account and end its sessions; how many sessions were ended."""
    user = suspendable_user(session=session, context=context, username=username)
    now = datetime.now(UTC)
    user.suspended_at = user.suspended_at or now
    ended = revoke_user_sessions(session=session, user_id=user.id, now=now)
    record_audit(
        session=session,
        event=AuditEventType.USER_SUSPENDED,
        context=context,
        subject=user.username,
        authorities=user.authorities,
        details={"sessions_ended": ended},
    )
    return ended


def reinstate_user(*, session: Session, context: AuditContext, username: str) -> None:
    """Lift a suspension."""
    user = get_user(session=session, username=username)
    user.suspended_at = None
    record_audit(
        session=session,
        event=AuditEventType.USER_REINSTATED,
        context=context,
        subject=user.username,
        authorities=user.authorities,
    )


def reset_user(
    *,
    session: Session,
    settings: Settings,
    context: AuditContext,
    username: str,
    password: str,
    pin: str,
) -> Enrolment:
    """New password, PIN and one-time-code secret; lockout cleared and sessions ended."""
    _check_secrets(settings, password=password, pin=pin)
    user = get_user(session=session, username=username)
    enrolment = _set_credentials(user, settings=settings, password=password, pin=pin)
    now = datetime.now(UTC)
    user.credentials_changed_at = now
    ended = revoke_user_sessions(session=session, user_id=user.id, now=now)
    throttle.clear_failures(session=session, username=user.username)
    record_audit(
        session=session,
        event=AuditEventType.USER_RESET,
        context=context,
        subject=user.username,
        authorities=user.authorities,
        details={"sessions_ended": ended},
    )
    return enrolment


def list_users(*, session: Session) -> list[AppUser]:
    """Every account, by username."""
    return list(session.scalars(select(AppUser).order_by(AppUser.username)))


def describe_user(user: AppUser, *, now: datetime) -> dict[str, object]:
    """The public facts of an account (never a hash or the one-time-code secret)."""
    expired = user.expires_at is not None and user.expires_at <= now
    return {
        "username": user.username,
        "roles": sorted(user.roles),
        "authorities": sorted(user.authorities),
        "organisation": user.organisation,
        "child_protection": user.child_protection,
        "archive_access": user.archive_access,
        "is_demo": user.is_demo,
        "status": "suspended" if user.suspended_at else "expired" if expired else "active",
        "expires_at": user.expires_at.isoformat() if user.expires_at else None,
        "created_at": user.created_at.isoformat() if user.created_at else None,
        "identity_checked_by": user.identity_checked_by,
        "identity_checked_on": _iso(user.identity_checked_on),
        "dbs_checked_on": _iso(user.dbs_checked_on),
        "training_completed_on": _iso(user.training_completed_on),
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def demo_code(*, session: Session, username: str, now: datetime | None = None) -> str:
    """The current one-time code of a demo account; refused for every real account."""
    user = get_user(session=session, username=username)
    if not user.is_demo:
        raise Forbidden(f"{user.username!r} is not a demo account: its codes are never shown.")
    return current_code(user.totp_secret, at=now or datetime.now(UTC))
