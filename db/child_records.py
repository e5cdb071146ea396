"""Reading children for the record view and the access decision (keyword-only, session first)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from db.models import Child, Involvement, Shield, ShieldAccess


def get_child(*, session: Session, identifier: str) -> Child | None:
    """A child with everything the record view shows, or None."""
    statement = (
        select(Child)
        .where(Child.identifier == identifier)
        .options(
            selectinload(Child.carers),
            selectinload(Child.involvements).selectinload(Involvement.organisation),
            selectinload(Child.involvements).selectinload(Involvement.practitioner),
            selectinload(Child.shields),
        )
    )
    return session.scalars(statement).one_or_none()


def active_shield(child: Child) -> Shield | None:
    """The shield in force over a child's location, if any."""
    return next((shield for shield in child.shields if shield.removed_at is None), None)


def named_practitioners(*, session: Session, child: Child) -> list[ShieldAccess]:
    """The users named to see a shielded child's location (in force), first named first."""
    statement = (
        select(ShieldAccess)
        .where(ShieldAccess.child_id == child.id, ShieldAccess.revoked_at.is_(None))
        .order_by(ShieldAccess.granted_at, ShieldAccess.id)
    )
    return list(session.scalars(statement))
