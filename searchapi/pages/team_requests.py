"""The pages of requests to a child's authority team: asking (a shield, or to be put in touch),
a practitioner's own requests, the team's decision, and the brokering report.

The same service functions as the API's routes (`searchapi.team_requests`), so who may ask and
decide, and the audit, have one implementation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.child_records import get_child
from db.errors import Conflict, InvalidInput, NotFound
from db.models import ContactRequest, ShieldRequest
from db.requests import ContactOutcome, ShieldOutcome, brokering_report, month_bounds
from searchapi.deps import (
    AuditContextDep,
    ContactBroker,
    SessionDep,
    SettingsDep,
    ShieldManager,
    TeamAsker,
)
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import REASON, TextRule, field, rule_of, text_field
from searchapi.pages.render import render
from searchapi.paths import IdentifierPath, ReviewPath
from searchapi.refusals import note_refusal
from searchapi.team_requests import (
    ContactAsk,
    MonthQuery,
    ask_for_contact,
    ask_for_shield,
    decide_contact,
    decide_shield,
    my_requests,
    request_view,
    team_request,
)

router = APIRouter(include_in_schema=False)

CONTACT: Final[TextRule] = rule_of(ContactAsk, "contact", "how the team can reach you")
ASKED: Final = {
    "shield": "Your request is sent to the child's local authority team. You will see their "
    "decision here.",
    "contact": "Your request is sent to the child's local authority team. They will get in "
    "touch with you, and you will see it here.",
}
OUTCOMES: Final = {
    "shield": {
        ShieldOutcome.APPLIED.value: "Apply the shield",
        ShieldOutcome.DECLINED.value: "Decline",
    },
    "contact": {
        ContactOutcome.BROKERED.value: "Contact brokered: I have put them in touch",
        ContactOutcome.DECLINED.value: "Decline",
    },
}


def _child_or_404(session: Session, identifier: str) -> Any:
    child = get_child(session=session, identifier=identifier)
    if child is None:
        raise NotFound("There is no child with this identifier.")
    return child


def _ask_page(
    request: Request,
    settings: Settings,
    child: Any,
    kind: str,
    *,
    service: int | None = None,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "team_request_form.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        child=child,
        kind=kind,
        service=service,
        errors=errors or {},
        values=values or {},
        reason_rule=REASON,
        contact_rule=CONTACT,
    )


@router.get("/children/{identifier}/shield-request")
def shield_request_page(
    identifier: IdentifierPath,
    request: Request,
    principal: TeamAsker,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The form to ask for the child to be shielded."""
    return _ask_page(request, settings, _child_or_404(session, identifier), "shield")


@router.get("/children/{identifier}/contact-request")
def contact_request_page(
    identifier: IdentifierPath,
    request: Request,
    principal: TeamAsker,
    session: SessionDep,
    settings: SettingsDep,
    service: int | None = None,
) -> Response:
    """The form to ask the team to put you in touch (with one service, if `service`)."""
    child = _child_or_404(session, identifier)
    return _ask_page(request, settings, child, "contact", service=service)


def _ask_submit(
    request: Request,
    session: Session,
    settings: Settings,
    context: Any,
    identifier: str,
    kind: str,
    form: Any,
) -> Response:
    child = _child_or_404(session, identifier)
    values = {"reason": text_field(form, "reason"), "contact": text_field(form, "contact")}
    raw_service = field(form, "service")
    service = int(raw_service) if raw_service.isdigit() and len(raw_service) < 19 else None
    errors: dict[str, str] = {}
    if (problem := REASON.error(values["reason"])) is not None:
        errors["reason"] = problem
    if kind == "contact" and (problem := CONTACT.error(values["contact"])) is not None:
        errors["contact"] = problem
    if not errors:
        try:
            if kind == "shield":
                ask_for_shield(
                    session=session, context=context, identifier=identifier, reason=values["reason"]
                )
            else:
                ask_for_contact(
                    session=session,
                    context=context,
                    identifier=identifier,
                    involvement_id=service,
                    reason=values["reason"],
                    contact=values["contact"],
                )
        except (Conflict, InvalidInput) as refused:
            errors["reason"] = refused.message
            session.rollback()
        else:
            return RedirectResponse(f"/requests?asked={kind}", status_code=303)
    note_refusal(request, "; ".join(errors.values()))
    return _ask_page(
        request,
        settings,
        child,
        kind,
        service=service,
        status_code=400,
        errors=errors,
        values=values,
    )


@router.post("/children/{identifier}/shield-request")
def shield_request_submit(
    identifier: IdentifierPath,
    request: Request,
    principal: TeamAsker,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Send the request (audited) and show the practitioner's requests."""
    return _ask_submit(request, session, settings, context, identifier, "shield", form)


@router.post("/children/{identifier}/contact-request")
def contact_request_submit(
    identifier: IdentifierPath,
    request: Request,
    principal: TeamAsker,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Send the request (audited) and show the practitioner's requests."""
    return _ask_submit(request, session, settings, context, identifier, "contact", form)


@router.get("/requests")
def my_requests_page(
    request: Request,
    principal: TeamAsker,
    session: SessionDep,
    settings: SettingsDep,
    asked: str | None = None,
) -> Response:
    """Your requests to local authority teams and what they decided."""
    mine = my_requests(session=session, principal=principal, settings=settings)
    return render(request, "my_requests.html", mine=mine, asked=ASKED.get(asked or ""))


def _decide_page(
    request: Request,
    settings: Settings,
    found: ShieldRequest | ContactRequest,
    kind: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "team_request_decide.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        item=request_view(found, settings, team=True),
        kind=kind,
        outcomes=OUTCOMES[kind],
        errors=errors or {},
        values=values or {},
        reason_rule=REASON,
    )


@router.get("/shield-requests/{request_id}")
def shield_decide_page(
    request_id: ReviewPath,
    request: Request,
    principal: ShieldManager,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """A shield request to the team, and the form to decide it."""
    found = team_request(
        session=session, principal=principal, model=ShieldRequest, request_id=request_id
    )
    return _decide_page(request, settings, found, "shield")


@router.get("/contact-requests/{request_id}")
def contact_decide_page(
    request_id: ReviewPath,
    request: Request,
    principal: ContactBroker,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """A contact request to the team, and the form to record it brokered or declined."""
    found = team_request(
        session=session, principal=principal, model=ContactRequest, request_id=request_id
    )
    return _decide_page(request, settings, found, "contact")


def _decide_submit(
    request: Request,
    session: Session,
    settings: Settings,
    context: Any,
    request_id: int,
    kind: str,
    form: Any,
) -> Response:
    values = {"outcome": field(form, "outcome"), "reason": text_field(form, "reason")}
    errors: dict[str, str] = {}
    if values["outcome"] not in OUTCOMES[kind]:
        errors["outcome"] = "Select what the team decided"
    if (problem := REASON.error(values["reason"])) is not None:
        errors["reason"] = problem
    if not errors:
        try:
            if kind == "shield":
                decide_shield(
                    session=session,
                    context=context,
                    request_id=request_id,
                    outcome=ShieldOutcome(values["outcome"]),
                    reason=values["reason"],
                )
            else:
                decide_contact(
                    session=session,
                    context=context,
                    request_id=request_id,
                    outcome=ContactOutcome(values["outcome"]),
                    reason=values["reason"],
                )
        except Conflict as refused:
            errors["outcome"] = refused.message
            session.rollback()
        else:
            return RedirectResponse(f"/?decided={kind}", status_code=303)
    note_refusal(request, "; ".join(errors.values()))
    found: ShieldRequest | ContactRequest = (
        team_request(
            session=session, principal=context.actor, model=ShieldRequest, request_id=request_id
        )
        if kind == "shield"
        else team_request(
            session=session, principal=context.actor, model=ContactRequest, request_id=request_id
        )
    )
    return _decide_page(
        request, settings, found, kind, status_code=400, errors=errors, values=values
    )


@router.post("/shield-requests/{request_id}")
def shield_decide_submit(
    request_id: ReviewPath,
    request: Request,
    principal: ShieldManager,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Apply the shield or decline (audited), back to the home page."""
    return _decide_submit(request, session, settings, context, request_id, "shield", form)


@router.post("/contact-requests/{request_id}")
def contact_decide_submit(
    request_id: ReviewPath,
    request: Request,
    principal: ContactBroker,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Record the contact brokered or declined (audited), back to the home page."""
    return _decide_submit(request, session, settings, context, request_id, "contact", form)


@router.get("/reports/brokering")
def brokering_report_page(
    request: Request,
    principal: ContactBroker,
    session: SessionDep,
    settings: SettingsDep,
    month: MonthQuery = None,
) -> Response:
    """A month's contact requests to your authorities' teams."""
    name, since, until = month_bounds(month, datetime.now(UTC))
    report = brokering_report(
        session=session,
        since=since,
        until=until,
        authorities=principal.authorities,
        target_days=settings.brokering_response_working_days,
        zone=ZoneInfo(settings.working_hours_timezone),
    )
    return render(
        request,
        "brokering_report.html",
        month=name,
        report=report,
        target=settings.brokering_response_working_days,
    )
