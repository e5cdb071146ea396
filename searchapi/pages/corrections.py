"""The managers' correction form, and their decisions on the feeds' changes that wait over a
correction (the home page's queue).

The same service functions as the API's routes (`searchapi.corrections`), and the form's values
go through the API's own request model, so a page accepts exactly what the API would.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from contactpoint.settings import Settings
from db.access import Principal
from db.corrections import CorrectedField
from db.errors import InvalidInput
from db.models import Child
from searchapi.correction_schemas import CorrectionRequest
from searchapi.corrections import correct, decide
from searchapi.deps import AuditContextDep, Corrector, SessionDep, SettingsDep
from searchapi.managed_children import managed_child
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import REASON, field, text_field
from searchapi.pages.form_dates import DATE_HINT, parse_day, show_day
from searchapi.pages.render import render
from searchapi.paths import IdentifierPath, ReviewPath

router = APIRouter(include_in_schema=False)

LABELS: Final = {
    CorrectedField.NAME: "name",
    CorrectedField.DATE_OF_BIRTH: "date of birth",
    CorrectedField.ADDRESS: "address",
}
ADDRESS_LINES: Final = 4
_FIRST_INPUT: Final = {
    CorrectedField.NAME: "given_names",
    CorrectedField.DATE_OF_BIRTH: "date_of_birth",
    CorrectedField.ADDRESS: "line_1",
}
# Where each error of the API's model is shown on the form.
_FORM_FIELD: Final = {
    "given_names": "given_names",
    "family_name": "family_name",
    "date_of_birth": "date_of_birth",
    "address.lines": "line_1",
    "address.lines.0": "line_1",
    "address.lines.1": "line_2",
    "address.lines.2": "line_3",
    "address.lines.3": "line_4",
    "address.town": "town",
    "address.postcode": "postcode",
    "reason": "reason",
}
_PROBLEMS: Final = {
    "given_names": "Enter the given names",
    "family_name": "Enter the family name",
    "date_of_birth": "Enter a real date of birth, from 1 January 1990 and not in the future",
    "line_1": "Enter the first line of the address, up to 100 characters",
    "line_2": "The second line must be 100 characters or fewer",
    "line_3": "The third line must be 100 characters or fewer",
    "line_4": "The fourth line must be 100 characters or fewer",
    "town": "Enter the town, up to 60 characters",
    "postcode": "Enter a real UK postcode, for example LS6 2AB",
}


def _field_of(text: str) -> CorrectedField:
    try:
        return CorrectedField(text)
    except ValueError:
        raise InvalidInput(
            "Choose what to correct: the name, the date of birth or the address.", field="field"
        ) from None


def _values_of(child: Child, chosen: CorrectedField) -> dict[str, str]:
    values: dict[str, str] = {"given_names": child.given_names, "family_name": child.family_name}
    values["date_of_birth"] = show_day(child.date_of_birth)
    for number in range(ADDRESS_LINES):
        lines = child.address_lines
        values[f"line_{number + 1}"] = lines[number] if number < len(lines) else ""
    values |= {"town": child.town, "postcode": child.postcode, "reason": ""}
    return values


def _form_page(
    request: Request,
    settings: Settings,
    child: Child,
    chosen: CorrectedField,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "correction.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        child=child,
        chosen=chosen.value,
        label=LABELS[chosen],
        fields=[(item.value, LABELS[item]) for item in CorrectedField],
        values=values,
        errors=errors or {},
        reason_rule=REASON,
        date_hint=DATE_HINT,
        address_lines=ADDRESS_LINES,
    )


def _request_body(form: FormData, chosen: CorrectedField) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's request body of the form, and the form's own errors (a date not understood)."""
    body: dict[str, Any] = {"field": chosen.value, "reason": text_field(form, "reason")}
    errors: dict[str, str] = {}
    if chosen is CorrectedField.NAME:
        body |= {"given_names": text_field(form, "given_names")}
        body |= {"family_name": text_field(form, "family_name")}
    elif chosen is CorrectedField.DATE_OF_BIRTH:
        day = parse_day(field(form, "date_of_birth"))
        if day is None:
            errors["date_of_birth"] = f"Enter the date of birth as a real date. {DATE_HINT}"
        body["date_of_birth"] = day.isoformat() if day else None
    else:
        lines = [text_field(form, f"line_{n + 1}") for n in range(ADDRESS_LINES)]
        # Empty lines after the first are left out; an empty first line is the API's error.
        kept = [lines[0], *(line for line in lines[1:] if line)]
        body["address"] = {
            "lines": kept,
            "town": text_field(form, "town"),
            "postcode": text_field(form, "postcode"),
        }
    return body, errors


def _errors_of(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(part) for part in error.get("loc", ()))
        name = _FORM_FIELD.get(path)
        if name == "reason":
            errors["reason"] = REASON.error(str(error.get("input") or "")) or "Enter the reason"
        elif name is not None:
            errors.setdefault(name, _PROBLEMS[name])
    return errors or {"reason": "The correction is not valid: check each field."}


def _child(session: Session, principal: Principal, identifier: str) -> Child:
    return managed_child(session, principal, identifier)


@router.get("/children/{identifier}/correct")
def correction_page(
    identifier: IdentifierPath,
    request: Request,
    principal: Corrector,
    session: SessionDep,
    settings: SettingsDep,
    field: str = "name",
) -> Response:
    """The form to correct one field (name, date of birth or address), with the reason."""
    child = _child(session, principal, identifier)
    chosen = _field_of(field)
    return _form_page(request, settings, child, chosen, values=_values_of(child, chosen))


@router.post("/children/{identifier}/correct")
def correction_submit(
    identifier: IdentifierPath,
    request: Request,
    principal: Corrector,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Correct the field (audited; the earlier value is kept), back to the record."""
    child = _child(session, principal, identifier)
    chosen = _field_of(text_field(form, "field"))
    values = {name: text_field(form, name) for name in _values_of(child, chosen)}
    body, errors = _request_body(form, chosen)
    try:
        request_body = CorrectionRequest.model_validate(body)
    except ValidationError as exc:
        errors = _errors_of(exc) | errors
    if not errors:
        try:
            correct(session=session, context=context, identifier=identifier, body=request_body)
        except InvalidInput as exc:
            errors = {_FIRST_INPUT[chosen]: exc.message}
    if errors:
        return _form_page(
            request, settings, child, chosen, values=values, errors=errors, status_code=400
        )
    return RedirectResponse(f"/children/{identifier}?changed=corrected", status_code=303)


@router.post("/corrections/waiting/{confirmation_id}")
def decision_submit(
    confirmation_id: ReviewPath,
    principal: Corrector,
    form: PageForm,
    session: SessionDep,
    context: AuditContextDep,
) -> Response:
    """Confirm or reject a feed's change to a corrected field (audited), back to the home page."""
    decision = field(form, "decision")
    if decision not in ("confirmed", "rejected"):
        raise InvalidInput("Choose confirm or reject.", field="decision")
    decide(session=session, context=context, confirmation_id=confirmation_id, decision=decision)
    return RedirectResponse(f"/?decided=correction-{decision}", status_code=303)
