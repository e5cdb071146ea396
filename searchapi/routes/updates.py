"""Updates from CMS clients: involvements of the client's organisation, and addresses.

Thin routes over `db.child_updates`, each run by `searchapi.updates.run_write` (Idempotency-Key,
If-Match, the answer as the record view).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from db.access import Forbidden, Principal
from db.child_updates import (
    InvolvementChange,
    NewAddress,
    NewInvolvement,
    PractitionerDetails,
    change_address,
    change_involvement,
    start_involvement,
)
from db.models import Child
from searchapi.access import may_override_consent, require_own_involvement
from searchapi.deps import (
    AddressChanger,
    AuditContextDep,
    InvolvementWriter,
    SessionDep,
    WriteRequestDep,
)
from searchapi.managed_children import involvement_of
from searchapi.paths import IdentifierPath, InvolvementPath
from searchapi.schemas import error_responses
from searchapi.update_schemas import (
    AddressRequest,
    ChangeInvolvementRequest,
    StartInvolvementRequest,
    UpdateResponse,
)
from searchapi.updates import Outcome, run_write, today

router = APIRouter(
    prefix="/v1/children/{identifier}",
    tags=["updates from CMS clients"],
    responses=error_responses(403, 404, 409, 412, 428),
)

OVERRIDE_REFUSAL = (
    "A child-protection override needs a manager of the child's authority or a practitioner "
    "with the child-protection capability; send the consent instead."
)


def _organisation_of(principal: Principal) -> int:
    # Allowed(WRITE_INVOLVEMENTS) grants only clients registered for an organisation.
    if principal.client_organisation_id is None:
        raise Forbidden("This client is registered for no organisation: it is read-only.")
    return principal.client_organisation_id


@router.post("/involvements", status_code=201, response_model=UpdateResponse)
def post_involvement(
    identifier: IdentifierPath,
    body: StartInvolvementRequest,
    principal: InvolvementWriter,
    session: SessionDep,
    context: AuditContextDep,
    write: WriteRequestDep,
) -> JSONResponse:
    """Start an involvement of the client's organisation, with its practitioner."""
    organisation_id = _organisation_of(principal)
    if body.child_protection_override is not None and not may_override_consent(principal):
        raise Forbidden(OVERRIDE_REFUSAL)
    practitioner = body.practitioner
    new = NewInvolvement(
        practitioner=PractitionerDetails(
            name=practitioner.name,
            email=practitioner.email,
            phone=practitioner.phone,
            job_title=practitioner.job_title,
        ),
        start_date=body.start_date or today(),
        lead_professional=body.lead_professional,
        assessment_completed=body.assessment_completed,
        sensitive=body.sensitive,
        consent_given_by=body.consent.given_by if body.consent else None,
        consent_given_at=body.consent.given_at if body.consent else None,
        override_reason=body.child_protection_override.reason
        if body.child_protection_override
        else None,
    )

    def change(child: Child) -> Outcome:
        involvement = start_involvement(
            session=session,
            context=context,
            child=child,
            organisation_id=organisation_id,
            new=new,
        )
        return Outcome(message="Involvement started.", involvement_id=involvement.id)

    return run_write(session=session, context=context, request=write, status=201, change=change)


@router.patch("/involvements/{involvement_id}", response_model=UpdateResponse)
def patch_involvement(
    identifier: IdentifierPath,
    involvement_id: InvolvementPath,
    body: ChangeInvolvementRequest,
    principal: InvolvementWriter,
    session: SessionDep,
    context: AuditContextDep,
    write: WriteRequestDep,
) -> JSONResponse:
    """End an involvement of the client's organisation, or set or clear its flags; a new lead
    professional takes over from the child's current one in the same transaction."""
    change_of = InvolvementChange(
        end_date=body.end_date,
        lead_professional=body.lead_professional,
        assessment_completed=body.assessment_completed,
    )

    def change(child: Child) -> Outcome:
        involvement = involvement_of(child, involvement_id)
        require_own_involvement(principal, organisation_id=involvement.organisation_id)
        changed = change_involvement(
            session=session,
            context=context,
            child=child,
            involvement=involvement,
            change=change_of,
            today=today(),
        )
        message = f"Changed: {', '.join(changed)}." if changed else "Nothing to change."
        return Outcome(message=message, involvement_id=involvement.id)

    return run_write(session=session, context=context, request=write, status=200, change=change)


@router.put("/address", response_model=UpdateResponse)
def put_address(
    identifier: IdentifierPath,
    body: AddressRequest,
    principal: AddressChanger,
    session: SessionDep,
    context: AuditContextDep,
    write: WriteRequestDep,
) -> JSONResponse:
    """A permitted source's address change (`ADDRESS_SOURCES`); the old postcode is kept in the
    child's previous addresses."""
    address = NewAddress(lines=body.lines, town=body.town, postcode=body.postcode)

    def change(child: Child) -> Outcome:
        done = change_address(
            session=session, context=context, child=child, address=address, today=today()
        )
        if not done.changed:
            return Outcome(message="The address was already this.")
        if done.moved_to is not None:
            return Outcome(
                message=f"Address changed: the child moved into local authority "
                f"{done.moved_to} (from {done.moved_from}), whose team now manages the record."
            )
        return Outcome(message="Address changed.")

    return run_write(session=session, context=context, request=write, status=200, change=change)
