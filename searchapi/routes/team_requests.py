"""Practitioners' requests to a child's authority team, and the team's decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from db.requests import (
    BrokeringReport,
    ContactOutcome,
    ShieldOutcome,
    brokering_report,
    month_bounds,
)
from searchapi.deps import (
    AuditContextDep,
    ContactBroker,
    SessionDep,
    SettingsDep,
    ShieldManager,
    TeamAsker,
)
from searchapi.paths import IdentifierPath, ReviewPath
from searchapi.schemas import ErrorBody
from searchapi.team_requests import (
    ContactAsk,
    MonthQuery,
    RequestList,
    RequestView,
    ask_for_contact,
    ask_for_shield,
    decide_contact,
    decide_shield,
    my_requests,
    request_view,
    team_queue,
)
from searchapi.text_input import Reason

router = APIRouter(
    prefix="/v1",
    tags=["requests to the team"],
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
)


class ShieldAsk(BaseModel):
    """Why the child should be shielded (words, never case notes)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(examples=["Mother fled domestic abuse; father must not find them"])


class Decision(BaseModel):
    """The team's decision, and why (kept for the requester and the audit)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(examples=["Risk confirmed with the allocated social worker"])


class ShieldDecision(Decision):
    outcome: ShieldOutcome


class ContactDecision(Decision):
    outcome: ContactOutcome


class BrokeringReportView(BaseModel):
    """A month of contact requests to your authorities' teams."""

    month: str
    requests: int
    brokered: int
    declined: int
    open: int
    overdue: int
    median_hours_to_broker: float | None


@router.post("/children/{identifier}/shield-requests", status_code=201)
def post_shield_request(
    identifier: IdentifierPath,
    body: ShieldAsk,
    principal: TeamAsker,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> RequestView:
    """Ask the child's authority team to shield the child (audited)."""
    made = ask_for_shield(
        session=session, context=context, identifier=identifier, reason=body.reason
    )
    return request_view(made, settings, team=False)


@router.post("/children/{identifier}/contact-requests", status_code=201)
def post_contact_request(
    identifier: IdentifierPath,
    body: ContactAsk,
    principal: TeamAsker,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> RequestView:
    """Ask the child's authority team to put you in touch with a service (audited)."""
    made = ask_for_contact(
        session=session,
        context=context,
        identifier=identifier,
        involvement_id=body.involvement_id,
        reason=body.reason,
        contact=body.contact,
    )
    return request_view(made, settings, team=False)


@router.get("/requests/mine")
def get_my_requests(
    principal: TeamAsker, session: SessionDep, settings: SettingsDep
) -> RequestList:
    """Your requests, newest first, and what the team decided."""
    return my_requests(session=session, principal=principal, settings=settings)


@router.get("/shield-requests")
def get_shield_requests(
    principal: ShieldManager, session: SessionDep, settings: SettingsDep
) -> RequestList:
    """The open shield requests to your authorities' teams, oldest first."""
    return team_queue(
        session=session, principal=principal, settings=settings, shields=True, contacts=False
    )


@router.post("/shield-requests/{request_id}/decision")
def post_shield_decision(
    request_id: ReviewPath,
    body: ShieldDecision,
    principal: ShieldManager,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> RequestView:
    """Apply the shield asked for, or decline, with a reason (audited)."""
    decided = decide_shield(
        session=session,
        context=context,
        request_id=request_id,
        outcome=body.outcome,
        reason=body.reason,
    )
    return request_view(decided, settings, team=True)


@router.get("/contact-requests")
def get_contact_requests(
    principal: ContactBroker, session: SessionDep, settings: SettingsDep
) -> RequestList:
    """The open contact requests to your authorities' teams, overdue first."""
    return team_queue(
        session=session, principal=principal, settings=settings, shields=False, contacts=True
    )


@router.post("/contact-requests/{request_id}/decision")
def post_contact_decision(
    request_id: ReviewPath,
    body: ContactDecision,
    principal: ContactBroker,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> RequestView:
    """Record the contact brokered, or declined with a reason (audited as contact_brokered)."""
    decided = decide_contact(
        session=session,
        context=context,
        request_id=request_id,
        outcome=body.outcome,
        reason=body.reason,
    )
    return request_view(decided, settings, team=True)


def report_view(month: str, report: BrokeringReport) -> BrokeringReportView:
    return BrokeringReportView(
        month=month,
        requests=report.requests,
        brokered=report.brokered,
        declined=report.declined,
        open=report.open,
        overdue=report.overdue,
        median_hours_to_broker=report.median_hours_to_broker,
    )


@router.get("/reports/brokering")
def get_brokering_report(
    principal: ContactBroker,
    session: SessionDep,
    settings: SettingsDep,
    month: MonthQuery = None,
) -> BrokeringReportView:
    """A month's contact requests to your authorities' teams: how many, brokered, median time
    to broker, and overdue."""
    name, since, until = month_bounds(month, datetime.now(UTC))
    report = brokering_report(
        session=session,
        since=since,
        until=until,
        authorities=principal.authorities,
        target_days=settings.brokering_response_working_days,
        zone=ZoneInfo(settings.working_hours_timezone),
    )
    return report_view(name, report)
