"""Reading children for the record view and the access decision (keyword-only, session first)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import String, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, selectinload

from db.models import Child, Involvement, Organisation, Shield, ShieldAccess


def get_child(*, session: Session, identifier: str) -> Child | None:
    """A child with everything the record view shows, or None."""
    statement = (
        select(Child)
        .where(Child.identifier == identifier)
        .options(
            selectinload(Child.carers),
            selectinload(Child.involvements)
            .selectinload(Involvement.organisation)
            .selectinload(Organisation.local_authority),
            selectinload(Child.involvements).selectinload(Involvement.practitioner),
            selectinload(Child.shields),
            selectinload(Child.other_names),
            selectinload(Child.previous_addresses),
            selectinload(Child.field_sources),
        )
    )
    return session.scalars(statement).one_or_none()


def get_child_for_change(*, session: Session, identifier: str) -> Child | None:
    """A child with what a CMS's change reads (its involvements, previous addresses and
    shields), not the rest of the record view: the answer reads the record afresh anyway."""
    statement = (
        select(Child)
        .where(Child.identifier == identifier)
        .options(
            selectinload(Child.involvements).selectinload(Involvement.organisation),
            selectinload(Child.involvements).selectinload(Involvement.practitioner),
            selectinload(Child.shields),
            selectinload(Child.previous_addresses),
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


@dataclass(frozen=True)
class ShieldedChild:
    """A shielded child of an authority, with its shield in force."""

    child: Child
    shield: Shield


def shielded_children(
    *, session: Session, authorities: Collection[str], name: str | None, limit: int
) -> tuple[int, list[ShieldedChild]]:
    """The children of `authorities` shielded now (newest shield first), those whose given or
    family name starts with `name` if given; and how many there are in all."""
    if not authorities:
        return 0, []
    statement = (
        select(Child, Shield)
        .join(Shield, (Shield.child_id == Child.id) & Shield.removed_at.is_(None))
        .where(
            Child.local_authority_code.in_(sorted(authorities)),
            Child.status == "active",
        )
    )
    if name:
        pattern = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            Child.family_name.ilike(pattern, escape="\\")
            | Child.given_names.ilike(pattern, escape="\\")
        )
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    found = session.execute(
        statement.order_by(Shield.applied_at.desc(), Child.identifier).limit(limit)
    ).all()
    return int(total), [ShieldedChild(child=child, shield=shield) for child, shield in found]
