"""The record view of one child, read from PostgreSQL and redacted by `searchapi.access`."""

from __future__ import annotations

from typing import Final

from sqlalchemy.orm import Session

from db.audit import AuditContext, AuditEventType, Outcome, raise_kept, record_audit
from db.break_glass import record_break_glass
from db.child_records import active_shield, get_child
from db.errors import Moved, NotFound
from db.merges import survivor_of
from db.models import Child, Involvement, Organisation
from db.vocabulary import SENSITIVE_KINDS
from searchapi.access import AuthorityTeam, ChildAccess, RecordRedaction, child_access
from searchapi.record_schemas import (
    SENSITIVE_SERVICE,
    WITHHELD_SERVICE,
    Address,
    CarerView,
    ChildRecordView,
    FieldSourceView,
    InvolvementView,
    OrganisationView,
    OtherNameView,
    PractitionerView,
    PreviousAddressView,
    TeamContact,
)

NO_CHILD: Final = "There is no child with this identifier."
# An archived record has left ContactPoint's ordinary view: the notice says so and nothing else
# (not when, not why, nothing of the record); the guarded archive is another door.
ARCHIVED_NOTICE: Final = (
    "This record has been archived and is no longer available on ContactPoint. "
    "Records are archived when a young person reaches 18; a manager with the archive "
    "capability opens one from the archive, for a reason the regulations allow."
)
# The fields of child_field_source that locate a child.
_LOCATION_SOURCES: Final = frozenset({"address", "education_setting", "gp_practice"})
# Every field that locates a child: withheld together when the child is shielded.
LOCATION_PARTS = (
    "address",
    "previous_addresses",
    "carers.address",
    "education_setting",
    "gp_practice",
)
# The contacts that lead to a shielded child's home: withheld with the location (the record
# then points to the local authority team instead).
CONTACT_PARTS = (
    "carers.phone",
    "carers.email",
    "involvements.service",
    "involvements.phone",
    "involvements.email",
)


def _organisation(org: Organisation | None) -> OrganisationView | None:
    if org is None:
        return None
    address = Address(lines=list(org.address_lines or []), town=org.town, postcode=org.postcode)
    return OrganisationView(name=org.name, phone=org.phone, email=org.email, address=address)


def is_sensitive(involvement: Involvement) -> bool:
    """Sexual health, mental health and substance misuse, or any service flagged sensitive."""
    org = involvement.organisation
    return involvement.sensitive or org.sensitive or org.kind in SENSITIVE_KINDS


def _involvement(
    item: Involvement, child: Child, access: ChildAccess, redaction: RecordRedaction
) -> tuple[InvolvementView, bool]:
    sensitive = is_sensitive(item)
    consent = item.consent_recorded_at is not None
    override = item.override_at is not None
    shown = not sensitive or access.may_see_sensitive(
        authority=child.local_authority_code, consent_recorded=consent, override_recorded=override
    )
    practitioner = item.practitioner
    common = {
        "id": item.id,
        "lead_professional": item.lead_professional,
        "assessment_completed": item.assessment_completed,
        "sensitive": sensitive,
        "consent_recorded": consent,
        "override_recorded": override,
    }
    team = child.local_authority
    if shown:
        # A shielded child's service ("Kent Early Help East") locates the child: its name and
        # contacts give way to the team's, its practitioner (why the service exists) stays.
        org = item.organisation
        contacts = redaction.show_contacts
        view = InvolvementView(
            service=org.name if contacts else WITHHELD_SERVICE,
            kind=org.kind,
            phone=org.phone if contacts else (team.team_phone if team else None),
            email=org.email if contacts else (team.team_email if team else None),
            practitioner=None
            if practitioner is None
            else PractitionerView(
                name=practitioner.name,
                job_title=practitioner.job_title,
                phone=practitioner.phone,
                email=practitioner.email,
            ),
            start_date=item.start_date,
            end_date=item.end_date,
            details_withheld=False,
            service_withheld=not contacts,
            # Where a shielded child's service works would hint where the child is.
            area=org.local_authority.name if contacts and org.local_authority else None,
            **common,
        )
        return view, sensitive
    # Even the dates of a sensitive service say too much; the authority's team brokers contact.
    view = InvolvementView(
        service=SENSITIVE_SERVICE,
        kind=None,
        phone=team.team_phone if team else None,
        email=team.team_email if team else None,
        practitioner=None,
        start_date=None,
        end_date=None,
        details_withheld=True,
        service_withheld=True,
        **common,
    )
    return view, False


def build_view(
    child: Child, access: ChildAccess, *, break_glass_reason: str | None, request_id: str
) -> tuple[ChildRecordView, dict[str, object]]:
    """The view and the audit details of what it showed and withheld."""
    shielded = active_shield(child) is not None
    la = child.local_authority
    redaction = access.record_redaction(
        shielded=shielded,
        authority=child.local_authority_code,
        identifier=child.identifier,
        break_glass_reason=break_glass_reason,
        team=None if la is None else AuthorityTeam(code=la.code, name=la.name, phone=la.team_phone),
    )
    located = redaction.show_location
    contacts = redaction.show_contacts
    carers = [
        CarerView(
            name=carer.name,
            relationship=carer.relationship,
            parental_responsibility=carer.parental_responsibility,
            phone=carer.phone if contacts else None,
            email=carer.email if contacts else None,
            address=Address(
                lines=list(carer.address_lines), town=carer.town, postcode=carer.postcode
            )
            if located and carer.address_lines
            else None,
            address_withheld=not located,
            contact_withheld=not contacts,
        )
        for carer in child.carers
    ]
    involvements = [_involvement(item, child, access, redaction) for item in child.involvements]
    withheld = [] if located else list(LOCATION_PARTS)
    withheld += [] if contacts else list(CONTACT_PARTS)
    withheld += [f"involvements[{view.id}]" for view, _ in involvements if view.details_withheld]
    # The feeds' provenance: for the managers of the child's authority; a location field's
    # source only where the location is shown (it always is to them).
    sources = None
    if access.may_administer(child.local_authority_code):
        sources = [
            FieldSourceView(
                field=row.field, source=row.source, record_id=row.record_id, as_of=row.as_of
            )
            for row in child.field_sources
            if located or row.field not in _LOCATION_SOURCES
        ]
    view = ChildRecordView(
        identifier=child.identifier,
        given_names=child.given_names,
        family_name=child.family_name,
        gender=child.gender,
        date_of_birth=child.date_of_birth,
        status=child.status,
        local_authority=None
        if la is None
        else TeamContact(
            code=la.code, name=la.name, team_phone=la.team_phone, team_email=la.team_email
        ),
        other_names=[
            OtherNameView(family_name=n.family_name, given_names=n.given_names, kind=n.kind)
            for n in child.other_names
        ],
        address=Address(lines=list(child.address_lines), town=child.town, postcode=child.postcode)
        if located
        else None,
        previous_addresses=[
            PreviousAddressView(
                postcode=a.postcode, town=a.town, from_date=a.from_date, to_date=a.to_date
            )
            for a in child.previous_addresses
        ]
        if located
        else None,
        location_withheld=not located,
        shielded=shielded,
        carers=carers,
        education_setting=_organisation(child.education_setting) if located else None,
        gp_practice=_organisation(child.gp_practice) if located else None,
        involvements=[view for view, _ in involvements],
        withheld=withheld,
        field_sources=sources,
        break_glass=redaction.break_glass,
        record_version=child.record_version,
        request_id=request_id,
    )
    shown = ["names", "gender", "date_of_birth", "carers", "involvements"]
    shown += list(LOCATION_PARTS) if located else []
    shown += list(CONTACT_PARTS) if contacts else []
    details: dict[str, object] = {
        "identifier": child.identifier,
        "shown_fields": shown,
        "withheld_fields": withheld,
        "shielded": shielded,
        "sensitive": any(sensitive_shown for _, sensitive_shown in involvements),
        "break_glass": redaction.break_glass,
        "reason": break_glass_reason if redaction.break_glass else None,
        "field_sources_shown": sources is not None,
    }
    return view, details


def _view(
    *,
    session: Session,
    context: AuditContext,
    identifier: str,
    break_glass_reason: str | None,
) -> ChildRecordView:
    child = get_child(session=session, identifier=identifier)
    if child is None:
        record_audit(
            session=session,
            context=context,
            event=AuditEventType.VIEW,
            outcome=Outcome.FAILURE,
            subject=identifier,
            details={"identifier": identifier, "found": False},
        )
        raise_kept(session=session, error=NotFound(NO_CHILD))
    if child.status == "archived":
        record_audit(
            session=session,
            context=context,
            event=AuditEventType.VIEW,
            outcome=Outcome.FAILURE,
            subject=child.identifier,
            details={"identifier": child.identifier, "found": True, "archived": True},
        )
        raise_kept(session=session, error=NotFound(ARCHIVED_NOTICE))
    if child.status == "merged":
        # Answered with the survivor, which carries any shield either record had.
        survivor = survivor_of(session, child)
        record_audit(
            session=session,
            context=context,
            event=AuditEventType.VIEW,
            subject=child.identifier,
            details={
                "identifier": child.identifier,
                "found": True,
                "merged_into": survivor.identifier,
                "identifiers_shown": [survivor.identifier],
            },
        )
        raise_kept(
            session=session,
            error=Moved(
                f"This record was merged into {survivor.identifier}.",
                identifier=survivor.identifier,
            ),
        )
    principal = context.actor
    access = child_access(principal, named_children=principal.named_children)
    view, details = build_view(
        child, access, break_glass_reason=break_glass_reason, request_id=context.request_id or ""
    )
    view_event_id = record_audit(
        session=session,
        context=context,
        event=AuditEventType.VIEW,
        subject=child.identifier,
        authorities=[child.local_authority_code] if child.local_authority_code else [],
        details=details,
    )
    if view.break_glass and break_glass_reason is not None:
        # Beside its audit row: the child's managers review every break glass.
        record_break_glass(
            session=session,
            principal=principal,
            child=child,
            view_event_id=view_event_id,
            reason=break_glass_reason,
        )
    return view


def record_etag(record_version: int) -> str:
    """The strong ETag of a record view: its record version, quoted."""
    return f'"{record_version}"'


def view_child(*, session: Session, context: AuditContext, identifier: str) -> ChildRecordView:
    """The record view, audited; an unknown identifier is audited too, and a NotFound."""
    return _view(session=session, context=context, identifier=identifier, break_glass_reason=None)


def break_glass_view(
    *, session: Session, context: AuditContext, identifier: str, reason: str
) -> ChildRecordView:
    """The record view with a shielded location shown for this one view (child protection),
    audited with the reason and queued for review; the API's POST and the page's form both
    come here."""
    return _view(session=session, context=context, identifier=identifier, break_glass_reason=reason)


def involvement_view(
    child: Child, involvement: Involvement, access: ChildAccess
) -> InvolvementView:
    """One involvement as the child's record view shows it to `access` (without break glass):
    the inbox shows a notice's service by the same rules."""
    redaction = access.record_redaction(
        shielded=active_shield(child) is not None,
        authority=child.local_authority_code,
        identifier=child.identifier,
        break_glass_reason=None,
        team=None,
    )
    return _involvement(involvement, child, access, redaction)[0]
