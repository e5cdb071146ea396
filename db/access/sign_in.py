"""Sign-in with three factors: password, PIN and a one-time code, all checked, all required.

Every attempt is audited. Refusals are committed before they are raised, so the counters of
the rate limits and the lockout, and the audit row, survive the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import throttle
from db.access.authenticate import account_problem, normalise_username, principal_of
from db.access.credentials import (
    Argon2Cost,
    matched_totp_step,
    password_hasher,
    verify_secret,
)
from db.access.errors import (
    AccessError,
    AccountLocked,
    Forbidden,
    NotAuthenticated,
    TooManyAttempts,
)
from db.access.networks import address_within, networks_of_setting
from db.access.principal import Principal
from db.access.sessions import SessionLimits, open_session, purge_ended_sessions
from db.access.vetting import VettingRules, refusal_message, vetting_problems
from db.audit import (
    AuditContext,
    AuditEventType,
    Outcome,
    SignInDetails,
    raise_kept,
    record_audit,
)
from db.models import AppUser

# One answer for every wrong factor and for unknown users: no enumeration.
WRONG_CREDENTIALS = "The username, password, PIN or one-time code is not right."
# Said only when the password and PIN are right: the code was right too, a moment ago.
CODE_ALREADY_USED = (
    "That security code has already been used. "
    "Wait for the next code from your token and enter that one."
)
_MAX_USERNAME = 100
OUTSIDE_NETWORKS = (
    "ContactPoint can be used only from the secure networks of the organisations that use it; "
    "this connection comes from outside them. Ask your administrator."
)


@dataclass(frozen=True)
class SignedIn:
    """A new session: its token (shown once), the principal and when the session ends at most."""

    token: str
    principal: Principal
    expires_at: datetime


@dataclass(frozen=True)
class Attempt:
    """What was typed (where from, and in which request, is the audit context's)."""

    username: str
    password: str
    pin: str
    code: str


def _refuse(
    *,
    session: Session,
    context: AuditContext,
    username: str,
    error: AccessError,
    details: SignInDetails,
    user: AppUser | None = None,
) -> NoReturn:
    record_audit(
        session=session,
        context=context.acting(principal_of(user)) if user is not None else context,
        event=AuditEventType.SIGN_IN,
        outcome=Outcome.FAILURE,
        details=details,
        username=username,
    )
    raise_kept(session=session, error=error)


def _check_rate_limits(
    *, session: Session, settings: Settings, context: AuditContext, username: str, now: datetime
) -> None:
    window = settings.sign_in_rate_window_s
    throttle.forget_old_windows(session=session, window_s=window, now=now)
    buckets = [(f"user:{username}", settings.sign_in_rate_per_username)]
    if context.client_address:
        buckets.append((f"address:{context.client_address}", settings.sign_in_rate_per_address))
    for bucket, limit in buckets:
        retry_after = throttle.count_attempt(
            session=session, bucket=bucket, limit=limit, window_s=window, now=now
        )
        if retry_after is not None:
            _refuse(
                session=session,
                context=context,
                username=username,
                error=TooManyAttempts(
                    "Too many sign-in attempts: wait and try again.", retry_after_s=retry_after
                ),
                details={"reason": f"rate_limited:{bucket.split(':', 1)[0]}"},
            )


def sign_in(
    *,
    session: Session,
    settings: Settings,
    attempt: Attempt,
    context: AuditContext,
    now: datetime | None = None,
) -> SignedIn:
    """Check the three factors and open a session; raise the refusal otherwise."""
    now = now or datetime.now(UTC)
    username = normalise_username(attempt.username)[:_MAX_USERNAME]
    if not address_within(context.client_address, networks_of_setting(settings.sign_in_networks)):
        # Before any factor is checked: from outside the secure networks, nothing is tried.
        _refuse(
            session=session,
            context=context,
            username=username,
            error=Forbidden(OUTSIDE_NETWORKS),
            details={"reason": "outside_networks"},
        )
    _check_rate_limits(
        session=session, settings=settings, context=context, username=username, now=now
    )
    locked = throttle.locked_until(session=session, username=username, now=now)
    if locked is not None:
        _refuse(
            session=session,
            context=context,
            username=username,
            error=AccountLocked(locked),
            details={"reason": "locked", "locked_until": locked.isoformat()},
        )
    user = session.scalars(
        select(AppUser).where(AppUser.username == username).with_for_update()
    ).one_or_none()
    hasher = password_hasher(Argon2Cost.from_settings(settings))
    # All three factors are always checked (against dummies for an unknown user): same work,
    # same answer, whichever factor is wrong and whether or not the user exists.
    failed = []
    if not verify_secret(user.password_hash if user else None, attempt.password, hasher=hasher):
        failed.append("password")
    if not verify_secret(user.pin_hash if user else None, attempt.pin, hasher=hasher):
        failed.append("pin")
    step = matched_totp_step(user.totp_secret if user else None, attempt.code, at=now)
    last_step = user.totp_last_step if user else None
    # A step at or before the last one accepted was already used: refusing it stops replays.
    replayed = step is not None and last_step is not None and step <= last_step
    if step is None or replayed:
        failed.append("code")
    if user is None or failed:
        until = throttle.record_failure(
            session=session,
            username=username,
            threshold=settings.lockout_threshold,
            duration_s=settings.lockout_duration_s,
            now=now,
        )
        details: SignInDetails = {"reason": "unknown_user" if user is None else "wrong_factors"}
        if user is not None:
            details["failed_factors"] = failed
        # Only the code failed, and only because it was used: told, as nothing else was wrong.
        reused = user is not None and replayed and failed == ["code"]
        if reused:
            details["reason"] = "code_already_used"
        if until is not None:
            details["locked_until"] = until.isoformat()
        error = (
            AccountLocked(until)
            if until is not None
            else NotAuthenticated(CODE_ALREADY_USED if reused else WRONG_CREDENTIALS)
        )
        _refuse(
            session=session,
            context=context,
            username=username,
            error=error,
            details=details,
            user=user,
        )
    assert step is not None
    problem = account_problem(user, now=now)
    if problem is not None:
        # Said only to someone who knows all three factors.
        _refuse(
            session=session,
            context=context,
            username=username,
            error=Forbidden(f"The account is {problem}: ask your administrator."),
            details={"reason": problem},
            user=user,
        )
    rules = VettingRules.from_settings(settings)
    lapsed = vetting_problems(user, rules=rules, today=rules.today(now))
    if lapsed:
        # Said, like the account's state, only to someone who knows all three factors.
        _refuse(
            session=session,
            context=context,
            username=username,
            error=Forbidden(refusal_message(lapsed, user, rules=rules)),
            details={"reason": "vetting_lapsed", "vetting": [str(code) for code in lapsed]},
            user=user,
        )
    user.totp_last_step = step
    # Hashes made with weaker (older) argon2 parameters are upgraded while the secrets are known.
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(attempt.password)
    if hasher.check_needs_rehash(user.pin_hash):
        user.pin_hash = hasher.hash(attempt.pin)
    throttle.clear_failures(session=session, username=username)
    limits = SessionLimits.from_settings(settings)
    purge_ended_sessions(session=session, user_id=user.id, limits=limits, now=now)
    token, row = open_session(
        session=session, user=user, client_address=context.client_address, now=now
    )
    principal = principal_of(user, session_id=row.id)
    record_audit(
        session=session,
        context=context.acting(principal),
        event=AuditEventType.SIGN_IN,
        details={"session_id": row.id},
    )
    return SignedIn(
        token=token,
        principal=principal,
        expires_at=now + limits.absolute,
    )
