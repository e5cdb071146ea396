"""Recording users' vetting, and the list of those whose vetting lapses soon or has lapsed.

The rule of what is current is `db.access.vetting`'s; this module writes and reads the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access.sessions import revoke_user_sessions
from db.access.users import get_user
from db.access.vetting import (
    VettingChange,
    VettingProblem,
    VettingRules,
    apply_change,
    change_problems,
    check_lapses_after,
    latest_check_lapsing_by,
    vetting_problems,
)
from db.audit import AuditContext, AuditEventType, record_audit
from db.errors import Conflict
from db.models import AppUser


@dataclass(frozen=True)
class VettingRecorded:
    """The vetting now recorded, what is still missing or lapsed, and the sessions ended."""

    username: str
    problems: list[VettingProblem]
    sessions_ended: int


def record_vetting(
    *,
    session: Session,
    settings: Settings,
    context: AuditContext,
    username: str,
    change: VettingChange,
    now: datetime | None = None,
) -> VettingRecorded:
    """Record (or update) a user's vetting, audited; a user left not current is signed out."""
    now = now or datetime.now(UTC)
    rules = VettingRules.from_settings(settings)
    problems = change_problems(change, today=rules.today(now))
    if problems:
        raise next(iter(problems.values()))
    user = get_user(session=session, username=username)
    # Nobody vouches for their own checks: another administrator (or the operator) records them.
    if context.principal is not None and context.principal.user_id == user.id:
        raise Conflict("You cannot record your own vetting: ask another administrator to do it.")
    apply_change(user, change)
    left = vetting_problems(user, rules=rules, today=rules.today(now))
    # A recorded check that is already too old ends the sessions at once, not at their next use.
    ended = revoke_user_sessions(session=session, user_id=user.id, now=now) if left else 0
    record_audit(
        session=session,
        event=AuditEventType.USER_VETTING_RECORDED,
        context=context,
        subject=user.username,
        authorities=user.authorities,
        details={**change.as_details(), "not_current": list(left), "sessions_ended": ended},
    )
    return VettingRecorded(username=user.username, problems=left, sessions_ended=ended)


@dataclass(frozen=True)
class VettingRow:
    """One account on the admins' list: its vetting, and when (or why) it stops being current."""

    username: str
    roles: list[str]
    authorities: list[str]
    organisation: str | None
    identity_checked_by: str | None
    identity_checked_on: date | None
    dbs_checked_on: date | None
    # The last day the DBS check is current (None without one).
    lapses_after: date | None
    # Days left until the check lapses (0: its last day is today; negative: lapsed already).
    days_left: int | None
    training_completed_on: date | None
    problems: list[VettingProblem]

    @property
    def state(self) -> str:
        """ "lapsed" (not current now, whatever is missing) or "expiring"."""
        return "lapsed" if self.problems else "expiring"

    def as_dict(self) -> dict[str, object]:
        """The row as JSON or a table shows it."""
        return {
            "username": self.username,
            "state": self.state,
            "problems": [str(problem) for problem in self.problems],
            "roles": self.roles,
            "authorities": self.authorities,
            "organisation": self.organisation,
            "identity_checked_by": self.identity_checked_by,
            "identity_checked_on": _iso(self.identity_checked_on),
            "dbs_checked_on": _iso(self.dbs_checked_on),
            "dbs_lapses_after": _iso(self.lapses_after),
            "days_left": self.days_left,
            "training_completed_on": _iso(self.training_completed_on),
        }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def vetting_due(
    *, session: Session, rules: VettingRules, now: datetime, within_days: int | None = None
) -> list[VettingRow]:
    """Accounts able to act (not suspended or expired) whose vetting is not current, or whose
    DBS check lapses within `within_days` (the rules' warning by default): lapsed first, then
    by the day the check lapses."""
    within = rules.warning_days if within_days is None else within_days
    today = rules.today(now)
    horizon = today + timedelta(days=within)
    users = session.scalars(
        select(AppUser)
        .where(
            AppUser.suspended_at.is_(None),
            or_(AppUser.expires_at.is_(None), AppUser.expires_at > now),
            or_(
                AppUser.identity_checked_on.is_(None),
                AppUser.training_completed_on.is_(None),
                AppUser.dbs_checked_on.is_(None),
                AppUser.dbs_checked_on <= latest_check_lapsing_by(horizon, rules=rules),
            ),
        )
        .order_by(AppUser.username)
    )
    rows = []
    for user in users:
        lapses = (
            check_lapses_after(user.dbs_checked_on, rules=rules) if user.dbs_checked_on else None
        )
        rows.append(
            VettingRow(
                username=user.username,
                roles=sorted(user.roles),
                authorities=sorted(user.authorities),
                organisation=user.organisation,
                identity_checked_by=user.identity_checked_by,
                identity_checked_on=user.identity_checked_on,
                dbs_checked_on=user.dbs_checked_on,
                lapses_after=lapses,
                days_left=(lapses - today).days if lapses else None,
                training_completed_on=user.training_completed_on,
                problems=vetting_problems(user, rules=rules, today=today),
            )
        )
    # Lapsed first (the longest lapsed, or never recorded, at the top), then the soonest due.
    return sorted(
        rows,
        key=lambda row: (
            row.state != "lapsed",
            row.lapses_after or date.min,
            row.username,
        ),
    )
