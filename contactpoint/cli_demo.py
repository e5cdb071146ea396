"""`contactpoint demo-users`: the demo accounts that `make run` prints (a practitioner, an
la_manager, an auditor, an admin and an archivist: an la_manager with the archive capability).

Created once (is_demo accounts, whose one-time codes `contactpoint users totp` may print) and
printed again on every run. Their password and PIN are fixed and public: demo data only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contactpoint.settings import get_settings

DEMO_PASSWORD: Final = "demo-contactpoint"
DEMO_PIN: Final = "2468"
# Who "checked" the demo accounts' identity: nobody did.
DEMO_CHECKER: Final = "Demo data (not a real check)"
# Username, role, organisation.
_ACCOUNTS: Final = (
    ("demo.practitioner", "practitioner", "Demo Health Visiting Team"),
    ("demo.manager", "la_manager", "Demo Children's Services"),
    ("demo.auditor", "auditor", "Demo Information Governance"),
    ("demo.admin", "admin", "Demo Service Desk"),
    ("demo.archivist", "la_manager", "Demo Children's Services Data Management"),
)
# The demo account that may open archived records (docs/archive-access.md).
_ARCHIVISTS: Final = frozenset({"demo.archivist"})


def _busiest_shielded_authority(session: Session) -> str | None:
    """The authority with the most shielded children (so the manager can show a shield)."""
    from db.models import Child, Shield

    statement = (
        select(Child.local_authority_code)
        .join(Shield, Shield.child_id == Child.id)
        .where(Shield.removed_at.is_(None), Child.local_authority_code.is_not(None))
        .group_by(Child.local_authority_code)
        .order_by(func.count().desc(), Child.local_authority_code)
        .limit(1)
    )
    code = session.scalars(statement).first()
    if code is None:
        from db.models import LocalAuthority

        code = session.scalars(select(LocalAuthority.code).order_by(LocalAuthority.code)).first()
    return code


def demo_users() -> None:
    """Create the demo accounts when missing; print how to sign in as each."""
    from db.access import (
        NewUser,
        VettingChange,
        VettingRules,
        create_user,
        record_vetting,
        roles_from,
        vetting_problems,
    )
    from db.audit import AuditContext
    from db.models import AppUser
    from db.session import session_scope

    settings = get_settings()
    with session_scope() as session:
        authority = _busiest_shielded_authority(session)
        if authority is None:
            typer.secho("no local authorities yet: load the demo data first", err=True)
            raise typer.Exit(1)
        lines = [
            f"ContactPoint page: http://{settings.api_host}:{settings.api_port}/sign-in",
            "Demo accounts (demo data only; every sign-in needs all three factors):",
        ]
        # Demo accounts are recorded as vetted today (demo data: nobody was checked).
        rules = VettingRules.from_settings(settings)
        today = rules.today(datetime.now(UTC))
        vetting = VettingChange(
            identity_checked_by=DEMO_CHECKER,
            identity_checked_on=today,
            dbs_checked_on=today,
            training_completed_on=today,
        )
        for username, role, organisation in _ACCOUNTS:
            user = session.scalars(select(AppUser).where(AppUser.username == username)).first()
            if user is None:
                create_user(
                    session=session,
                    settings=settings,
                    context=AuditContext.operator(),
                    new=NewUser(
                        username=username,
                        roles=roles_from([role]),
                        authorities=frozenset({authority}),
                        organisation=organisation,
                        archive_access=username in _ARCHIVISTS,
                        is_demo=True,
                        vetting=vetting,
                    ),
                    password=DEMO_PASSWORD,
                    pin=DEMO_PIN,
                )
                user = session.scalars(select(AppUser).where(AppUser.username == username)).one()
            elif user.is_demo and vetting_problems(user, rules=rules, today=today):
                # A demo database older than the checks' validity (or made before vetting was).
                record_vetting(
                    session=session,
                    settings=settings,
                    context=AuditContext.operator(),
                    username=username,
                    change=vetting,
                )
            codes = ", ".join(link.local_authority_code for link in user.authority_links)
            capability = " with archive access" if user.archive_access else ""
            lines += [
                f"  {role}{capability}: username {username}  password {DEMO_PASSWORD}"
                f"  PIN {DEMO_PIN}"
                f"  (authority {codes})",
                f"    TOTP secret {user.totp_secret}; current code: "
                f"contactpoint users totp {username}",
            ]
    typer.echo("\n".join(lines))
