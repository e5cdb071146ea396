"""Updates from CMS clients: involvements started and changed, and address changes.

Each change and its audit row are written in the caller's transaction, with the child's row
locked first (`lock_child`), so that the version the caller checked is the one it changes. The
index follows through the outbox triggers on `child` and `involvement`. The caller (the API)
has decided that the client may make the change (`searchapi.access`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, record_audit
from db.child_admin import audit_child_change
from db.errors import Conflict, InvalidInput, NotFound
from db.models import Child, Involvement, Organisation, Practitioner, PreviousAddress
from db.notifications import (
    current_lead_practitioners,
    notify_child_moved,
    notify_involvement_started,
    notify_lead_changed,
)
from db.postcode_areas import authority_of_postcode
from db.vocabulary import SENSITIVE_KINDS

# The schema keeps at most this many previous addresses (ck_previous_address_position).
MAX_PREVIOUS_ADDRESSES = 10


@dataclass(frozen=True)
class LockedChild:
    """A child's row, locked until the transaction ends, and its version at that moment."""

    id: int
    record_version: int


def lock_child(*, session: Session, identifier: str) -> LockedChild:
    """Lock the child's row for this transaction (404 unknown; 409 merged or archived)."""
    row = session.execute(
        select(Child.id, Child.record_version, Child.status)
        .where(Child.identifier == identifier)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound("There is no child with this identifier.")
    if row.status != "active":
        raise Conflict(f"This record is {row.status}: it takes no more changes.")
    return LockedChild(id=row.id, record_version=row.record_version)


def current_version(*, session: Session, child_id: int) -> int:
    """The child's record version as this transaction sees it (the triggers bump it)."""
    version: int = session.execute(
        select(Child.record_version)
        .where(Child.id == child_id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    return version


@dataclass(frozen=True)
class PractitionerDetails:
    """Who works with the child, and how to reach them."""

    name: str
    email: str
    phone: str | None = None
    job_title: str | None = None


@dataclass(frozen=True)
class NewInvolvement:
    """What a CMS sends to start its organisation's involvement with a child."""

    practitioner: PractitionerDetails
    start_date: date
    lead_professional: bool = False
    assessment_completed: bool = False
    sensitive: bool = False
    consent_given_by: str | None = None
    consent_given_at: datetime | None = None
    override_reason: str | None = None


@dataclass(frozen=True)
class InvolvementChange:
    """What a PATCH changes; None leaves a field as it is."""

    end_date: date | None = None
    lead_professional: bool | None = None
    assessment_completed: bool | None = None


def _practitioner(
    session: Session, organisation: Organisation, details: PractitionerDetails
) -> Practitioner:
    # Practitioners are one per e-mail address (uq_practitioner_email): a known one is updated
    # by their own organisation only, never taken over by another.
    found = session.scalars(
        select(Practitioner).where(Practitioner.email == details.email)
    ).one_or_none()
    if found is None:
        found = Practitioner(
            email=details.email,
            name=details.name,
            phone=details.phone,
            job_title=details.job_title,
            organisation_id=organisation.id,
        )
        session.add(found)
        return found
    if found.organisation_id != organisation.id:
        raise InvalidInput(
            "this e-mail address is a practitioner's of another organisation",
            field="body.practitioner.email",
        )
    found.name = details.name
    found.phone = details.phone if details.phone is not None else found.phone
    found.job_title = details.job_title if details.job_title is not None else found.job_title
    return found


def _clear_lead(session: Session, child: Child, keep: Involvement | None) -> None:
    # The partial unique index allows one current lead: the old one is cleared and flushed
    # before the new one is set, in the same transaction.
    for item in child.involvements:
        if item is not keep and item.lead_professional and item.end_date is None:
            item.lead_professional = False
    session.flush()


def is_sensitive_service(organisation: Organisation, *, flagged: bool = False) -> bool:
    """Sexual health, mental health and substance misuse, or a service flagged sensitive."""
    return flagged or organisation.sensitive or organisation.kind in SENSITIVE_KINDS


def start_involvement(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    organisation_id: int,
    new: NewInvolvement,
) -> Involvement:
    """Start the organisation's involvement with the child (422 when a rule is broken)."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("This client's organisation no longer exists.")
    sensitive = is_sensitive_service(organisation, flagged=new.sensitive)
    consent = new.consent_given_by is not None
    if sensitive and not consent and new.override_reason is None:
        raise InvalidInput(
            "a sensitive service needs consent (who gave it and when) or a child-protection "
            "override with a reason",
            field="body.consent",
        )
    if new.start_date < child.date_of_birth:
        raise InvalidInput("is before the child's date of birth", field="body.start_date")
    practitioner = _practitioner(session, organisation, new.practitioner)
    session.flush()
    if any(
        item.organisation_id == organisation.id
        and item.practitioner_id == practitioner.id
        and item.end_date is None
        for item in child.involvements
    ):
        raise Conflict("This practitioner already has a current involvement with this child.")
    if new.lead_professional:
        _clear_lead(session, child, keep=None)
    now = datetime.now(UTC)
    actor = context.actor.username
    involvement = Involvement(
        child_id=child.id,
        position=max((item.position for item in child.involvements), default=-1) + 1,
        organisation_id=organisation.id,
        practitioner_id=practitioner.id,
        start_date=new.start_date,
        lead_professional=new.lead_professional,
        assessment_completed=new.assessment_completed,
        sensitive=sensitive,
        consent_given_by=new.consent_given_by,
        consent_recorded_by=actor if consent else None,
        consent_recorded_at=(new.consent_given_at or now) if consent else None,
        override_by=actor if new.override_reason else None,
        override_reason=new.override_reason,
        override_at=now if new.override_reason else None,
    )
    child.involvements.append(involvement)
    session.flush()
    details: dict[str, object] = {
        "involvement_id": involvement.id,
        "sensitive": sensitive,
        "changed_fields": _started_fields(new),
    }
    audit_child_change(
        session, AuditEventType.INVOLVEMENT_STARTED, context=context, child=child, details=details
    )
    # Consent and overrides keep the events they have always had (the misuse report reads them).
    if consent:
        audit_child_change(
            session,
            AuditEventType.CONSENT_RECORDED,
            context=context,
            child=child,
            details={"involvement_id": involvement.id, "given_by": new.consent_given_by},
        )
    if new.override_reason:
        audit_child_change(
            session,
            AuditEventType.CONSENT_OVERRIDE,
            context=context,
            child=child,
            details={"involvement_id": involvement.id, "reason": new.override_reason},
        )
    # The notices, in this transaction: a change that rolls back tells no one.
    notify_involvement_started(
        session=session, child=child, involvement=involvement, acting_email=context.actor.email
    )
    return involvement


def _started_fields(new: NewInvolvement) -> list[str]:
    fields = ["practitioner", "start_date"]
    fields += ["lead_professional"] if new.lead_professional else []
    fields += ["assessment_completed"] if new.assessment_completed else []
    fields += ["consent"] if new.consent_given_by else []
    fields += ["override"] if new.override_reason else []
    return fields


def change_involvement(
    *,
    session: Session,
    context: AuditContext,
    child: Child,
    involvement: Involvement,
    change: InvolvementChange,
    today: date,
) -> list[str]:
    """End an involvement, or set or clear its flags; the names of the fields it changed."""
    if involvement.end_date is not None:
        raise Conflict(
            f"This involvement ended on {involvement.end_date.isoformat()}: it takes no changes."
        )
    if change.end_date is not None:
        if change.lead_professional:
            raise InvalidInput(
                "an involvement that ends cannot become the lead professional",
                field="body.lead_professional",
            )
        if change.end_date < involvement.start_date:
            raise InvalidInput("is before the involvement's start date", field="body.end_date")
        if change.end_date > today:
            raise InvalidInput("is in the future", field="body.end_date")
    changed: list[str] = []
    previous_leads = current_lead_practitioners(child)
    if change.lead_professional and not involvement.lead_professional:
        _clear_lead(session, child, keep=involvement)
    for name in ("lead_professional", "assessment_completed", "end_date"):
        value = getattr(change, name)
        if value is not None and getattr(involvement, name) != value:
            setattr(involvement, name, value)
            changed.append(name)
    if not changed:
        return changed
    session.flush()
    audit_child_change(
        session,
        AuditEventType.INVOLVEMENT_CHANGED,
        context=context,
        child=child,
        details={"involvement_id": involvement.id, "changed_fields": changed},
    )
    if "lead_professional" in changed:
        notify_lead_changed(
            session=session,
            child=child,
            involvement=involvement,
            previous_leads=previous_leads,
            acting_email=context.actor.email,
        )
    return changed


@dataclass(frozen=True)
class NewAddress:
    """A child's address as a permitted source sends it (normalised by the request model)."""

    lines: Sequence[str]
    town: str
    postcode: str


@dataclass(frozen=True)
class AddressChange:
    """What an address change did: whether anything changed, and the authority the child
    moved from and to when the new postcode lies in another one."""

    changed: bool
    moved_from: str | None = None
    moved_to: str | None = None


def change_address(
    *, session: Session, context: AuditContext, child: Child, address: NewAddress, today: date
) -> AddressChange:
    """Replace the child's address, keeping the old one in its previous addresses (the oldest
    dropped beyond the schema's ten). A postcode in another local authority moves the child's
    responsibility there: its shield and the practitioners named to see past it go with the
    child, whose authority's managers are now the new one's."""
    lines = list(address.lines)
    if (child.address_lines, child.town, child.postcode) == (
        lines,
        address.town,
        address.postcode,
    ):
        return AddressChange(changed=False)
    area = authority_of_postcode(session=session, postcode=address.postcode or "")
    moved_from = child.local_authority_code
    moving = area is not None and area != moved_from
    earlier = [
        {
            "postcode": item.postcode,
            "town": item.town,
            "from_date": item.from_date,
            "to_date": item.to_date,
        }
        for item in child.previous_addresses
    ]
    if child.postcode != address.postcode:
        # The history is of postcodes (as the import's): a move within one keeps none.
        earlier.append(
            {"postcode": child.postcode, "town": child.town, "from_date": None, "to_date": today}
        )
    kept = earlier[-MAX_PREVIOUS_ADDRESSES:]
    # Core statements, positions renumbered: the unique (child_id, position) is not deferrable.
    session.execute(delete(PreviousAddress).where(PreviousAddress.child_id == child.id))
    if kept:
        session.execute(
            insert(PreviousAddress),
            [
                {"child_id": child.id, "position": position, **row}
                for position, row in enumerate(kept)
            ],
        )
    values: dict[str, object] = {
        "address_lines": lines,
        "town": address.town,
        "postcode": address.postcode,
    }
    details: dict[str, object] = {
        "changed_fields": ["address"],
        "previous_postcode": child.postcode,
    }
    if moving:
        values["local_authority_code"] = area
        details = {
            "changed_fields": ["address", "local_authority"],
            "previous_postcode": child.postcode,
            "moved_from": moved_from,
            "moved_to": area,
        }
    session.execute(update(Child).where(Child.id == child.id).values(**values))
    if not moving:
        audit_child_change(
            session, AuditEventType.ADDRESS_CHANGED, context=context, child=child, details=details
        )
        return AddressChange(changed=True)
    # Audited under both authorities: each team's managers read their own children's audit.
    record_audit(
        session=session,
        event=AuditEventType.ADDRESS_CHANGED,
        context=context,
        subject=child.identifier,
        authorities=sorted(code for code in (moved_from, area) if code),
        details={"identifier": child.identifier, **details},
    )
    assert area is not None
    notify_child_moved(session=session, child=child, moved_from=moved_from, moved_to=area)
    return AddressChange(changed=True, moved_from=moved_from, moved_to=area)
