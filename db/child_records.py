"""Reading children for the record view and the access decision (keyword-only, session first)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
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
            selectinload(Child.other_names),
            selectinload(Child.previous_addresses),
            selectinload(Child.field_sources),
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


@dataclass(frozen=True)
class ShieldState:
    """Whether a child's location is shielded, and the authority whose managers may see it."""

    identifier: str
    shielded: bool
    authority: str | None


def shield_states(*, session: Session, identifiers: Collection[str]) -> dict[str, ShieldState]:
    """The shield state of each known child among `identifiers`, in one query."""
    if not identifiers:
        return {}
    in_force = (
        select(Shield.id).where(Shield.child_id == Child.id, Shield.removed_at.is_(None)).exists()
    )
    statement = select(Child.identifier, in_force, Child.local_authority_code).where(
        # One array parameter, not one per identifier: a page may name thousands of children.
        Child.identifier == any_(bindparam("identifiers", sorted(identifiers), ARRAY(String)))
    )
    return {
        identifier: ShieldState(identifier=identifier, shielded=shielded, authority=authority)
        for identifier, shielded, authority in session.execute(statement)
    }
