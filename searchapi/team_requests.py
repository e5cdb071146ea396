"""Requests to a child's authority team, for the API and the pages alike: who may make, see and
decide them, and how each is shown.

A practitioner asks (`ask_the_team`) about any child they may view; the managers of the
child's authority at the request decide (`manage_shields` for a shield, `broker_contact` for
contact). A requester sees their own requests and the outcome; a sensitive service is named to
them only as "Sensitive service", as on the record.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Final
from zoneinfo import ZoneInfo

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.access import Principal
from db.audit import AuditContext
from db.audit.working_days import add_working_days
from db.child_records import active_shield, get_child
from db.errors import Conflict, InvalidInput, NotFound
from db.models import Child, ContactRequest, ShieldRequest
from db.requests import (
    ContactOutcome,
    Request,
    ShieldOutcome,
    decide_contact_request,
    decide_shield_request,
    get_request,
    open_requests,
    request_contact,
    request_shield,
    requests_of,
)
from searchapi.text_input import OneLine, Reason

NO_REQUEST: Final = "There is no such request for your authorities' team."


class ContactAsk(BaseModel):
    """Why you need to be put in touch, and how the team reaches you."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(examples=["Safeguarding referral: need the service's view today"])
    contact: OneLine = Field(min_length=5, max_length=200, examples=["07700 900123, j.smith"])
    involvement_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


MonthQuery = Annotated[
    str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; this month")
]


class RequestView(BaseModel):
    """A request to a child's authority team, and its outcome."""

    id: int
    kind: str = Field(description="shield or contact")
    identifier: str
    child_name: str
    date_of_birth: date
    local_authority_code: str | None
    requested_by: str
    requested_at: datetime
    reason: str
    contact: str | None = Field(description="How to reach the requester (contact requests)")
    service: str | None = Field(description="The service asked about, as the reader may see it")
    due_at: datetime | None = Field(description="When the response target passes (contact)")
    overdue: bool
    outcome: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None


class RequestList(BaseModel):
    """Requests, oldest first for a team, newest first for a requester."""

    shield_requests: list[RequestView]
    contact_requests: list[RequestView]


def _service(request: ContactRequest, *, team: bool) -> str | None:
    if request.involvement_id is None:
        return None
    involvement = next(
        (i for i in request.child.involvements if i.id == request.involvement_id), None
    )
    if involvement is None:
        return None
    # The team brokers it, so may name it; the requester saw it as the record shows it.
    if team:
        return involvement.organisation.name
    if involvement.sensitive:
        return "Sensitive service"
    if active_shield(request.child) is not None:
        return "Service withheld (shielded)"
    return involvement.organisation.name


def _view(
    request: ShieldRequest | ContactRequest, settings: Settings, *, team: bool, now: datetime
) -> RequestView:
    child = request.child
    contact = isinstance(request, ContactRequest)
    due = None
    if isinstance(request, ContactRequest):
        due = add_working_days(
            request.requested_at,
            settings.brokering_response_working_days,
            zone=ZoneInfo(settings.working_hours_timezone),
        )
    return RequestView(
        id=request.id,
        kind="contact" if contact else "shield",
        identifier=child.identifier,
        child_name=f"{child.given_names} {child.family_name}",
        date_of_birth=child.date_of_birth,
        local_authority_code=request.local_authority_code,
        requested_by=request.requested_by,
        requested_at=request.requested_at,
        reason=request.reason,
        contact=request.contact if isinstance(request, ContactRequest) else None,
        service=_service(request, team=team) if isinstance(request, ContactRequest) else None,
        due_at=due,
        overdue=due is not None and request.outcome is None and due <= now,
        outcome=request.outcome,
        decided_by=request.decided_by,
        decided_at=request.decided_at,
        decision_reason=request.decision_reason,
    )


def _askable(session: Session, identifier: str) -> Child:
    child = get_child(session=session, identifier=identifier)
    if child is None:
        raise NotFound("There is no child with this identifier.")
    if child.status != "active":
        raise Conflict("This record is not active: ask about the child's current record.")
    return child


def ask_for_shield(
    *, session: Session, context: AuditContext, identifier: str, reason: str
) -> ShieldRequest:
    """A practitioner's request that the child be shielded (audited)."""
    child = _askable(session, identifier)
    return request_shield(session=session, context=context, child=child, reason=reason)


def ask_for_contact(
    *,
    session: Session,
    context: AuditContext,
    identifier: str,
    involvement_id: int | None,
    reason: str,
    contact: str,
) -> ContactRequest:
    """A practitioner's request that the team put them in touch (audited)."""
    child = _askable(session, identifier)
    involvement = None
    if involvement_id is not None:
        involvement = next((i for i in child.involvements if i.id == involvement_id), None)
        if involvement is None:
            raise InvalidInput("This child has no such service.", field="body.involvement_id")
    return request_contact(
        session=session,
        context=context,
        child=child,
        involvement=involvement,
        reason=reason,
        contact=contact,
    )


def my_requests(*, session: Session, principal: Principal, settings: Settings) -> RequestList:
    """The requests `principal` made, newest first, with their outcomes."""
    now = datetime.now(UTC)
    return RequestList(
        shield_requests=[
            _view(r, settings, team=False, now=now)
            for r in requests_of(session=session, model=ShieldRequest, username=principal.username)
        ],
        contact_requests=[
            _view(r, settings, team=False, now=now)
            for r in requests_of(session=session, model=ContactRequest, username=principal.username)
        ],
    )


def team_queue(
    *, session: Session, principal: Principal, settings: Settings, shields: bool, contacts: bool
) -> RequestList:
    """The open requests to `principal`'s authorities' teams: shields oldest first, contact
    requests overdue first, then oldest first."""
    now = datetime.now(UTC)
    authorities = principal.authorities
    shield_views = (
        [
            _view(r, settings, team=True, now=now)
            for r in open_requests(session=session, model=ShieldRequest, authorities=authorities)
        ]
        if shields
        else []
    )
    contact_views = (
        [
            _view(r, settings, team=True, now=now)
            for r in open_requests(session=session, model=ContactRequest, authorities=authorities)
        ]
        if contacts
        else []
    )
    contact_views.sort(key=lambda view: (not view.overdue, view.requested_at))
    return RequestList(shield_requests=shield_views, contact_requests=contact_views)


def team_request(
    *,
    session: Session,
    principal: Principal,
    model: type[Request],
    request_id: int,
    lock: bool = False,
) -> Request:
    """One request to `principal`'s authorities' team (404 for anyone else's)."""
    found = get_request(session=session, model=model, request_id=request_id, lock=lock)
    if found is None or found.local_authority_code not in principal.authorities:
        raise NotFound(NO_REQUEST)
    return found


def request_view(
    request: ShieldRequest | ContactRequest, settings: Settings, *, team: bool
) -> RequestView:
    """How one request is shown to its team (or its requester)."""
    return _view(request, settings, team=team, now=datetime.now(UTC))


def decide_shield(
    *, session: Session, context: AuditContext, request_id: int, outcome: ShieldOutcome, reason: str
) -> ShieldRequest:
    found = team_request(
        session=session,
        principal=context.actor,
        model=ShieldRequest,
        request_id=request_id,
        lock=True,
    )
    decide_shield_request(
        session=session, context=context, request=found, outcome=outcome, reason=reason
    )
    return found


def decide_contact(
    *,
    session: Session,
    context: AuditContext,
    request_id: int,
    outcome: ContactOutcome,
    reason: str,
) -> ContactRequest:
    found = team_request(
        session=session,
        principal=context.actor,
        model=ContactRequest,
        request_id=request_id,
        lock=True,
    )
    decide_contact_request(
        session=session, context=context, request=found, outcome=outcome, reason=reason
    )
    return found
