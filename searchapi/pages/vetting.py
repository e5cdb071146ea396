"""The administrators' vetting pages: who has lapsed or lapses soon, and recording a check.

The same service functions as the API's admin routes and `contactpoint users vetting` /
`users record-vetting` (`vetting_due`, `record_vetting`), so the rule of what is current and
the audit of each record have one implementation.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contactpoint.settings import Settings
from db.access import (
    PROBLEM_LABELS,
    VettingRules,
    check_lapses_after,
    get_user,
    record_vetting,
    vetting_due,
    vetting_problems,
)
from db.errors import Conflict, DomainError, NotFound
from db.models import AppUser
from searchapi.deps import AuditContextDep, SessionDep, SettingsDep, UserAdmin
from searchapi.pages.admin_form import ROLE_LABELS, sentence
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import field
from searchapi.pages.form_dates import DATE_HINT, show_day
from searchapi.pages.render import render
from searchapi.pages.vetting_form import VETTING_FIELDS, form_values, parse_vetting_form
from searchapi.pages.words import plural

router = APIRouter(include_in_schema=False)

LIST_PATH: Final = "/admin/users/vetting"
RECORD_PATH: Final = "/admin/users/vetting/record"
# The longest look ahead the list takes (ten years).
WITHIN_MAX: Final = 3660
# The most rows the page shows (the most urgent); `contactpoint users vetting` lists them all.
LIST_MAX: Final = 200
_PRIVATE: Final = {"Cache-Control": "no-store"}
# ASCII digits only ("²" is a digit to str.isdigit, not to int).
_DAYS: Final = re.compile(r"[0-9]{1,4}")


def _page(
    request: Request, settings: Settings, template: str, status: int, **context: Any
) -> Response:
    response = render(
        request, template, status_code=status, csrf=page_csrf(request, settings), **context
    )
    response.headers.update(_PRIVATE)
    return response


def _within(text: str, default: int) -> tuple[int, str | None]:
    """The days typed into the list's filter, or the default and what was wrong."""
    text = text.strip()
    if not text:
        return default, None
    if _DAYS.fullmatch(text) and int(text) <= WITHIN_MAX:
        return int(text), None
    return default, f"Enter the number of days as a whole number from 0 to {WITHIN_MAX}"


def _list_page(
    request: Request,
    settings: Settings,
    session: SessionDep,
    *,
    within_text: str = "",
    status: int = 200,
    **context: Any,
) -> Response:
    rules = VettingRules.from_settings(settings)
    within, error = _within(within_text, rules.warning_days)
    errors = {"within": error} if error else {}
    rows = vetting_due(session=session, rules=rules, now=datetime.now(UTC), within_days=within)
    return _page(
        request,
        settings,
        "admin_vetting.html",
        400 if error else status,
        rows=rows[:LIST_MAX],
        total=len(rows),
        within=within,
        within_value=within_text.strip()[:10] if error else str(within),
        errors={**errors, **context.pop("errors", {})},
        labels=PROBLEM_LABELS,
        role_labels=ROLE_LABELS,
        show_day=show_day,
        valid_years=rules.check_valid_years,
        **context,
    )


@router.get(LIST_PATH)
def vetting_page(
    request: Request,
    principal: UserAdmin,
    session: SessionDep,
    settings: SettingsDep,
    within: str = "",
) -> Response:
    """Accounts whose vetting has lapsed, or whose DBS check lapses within the days asked."""
    return _list_page(request, settings, session, within_text=within[:100])


def _record_page(
    request: Request,
    settings: Settings,
    user: AppUser,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    rules = VettingRules.from_settings(settings)
    today = rules.today(datetime.now(UTC))
    problems = vetting_problems(user, rules=rules, today=today)
    lapses = check_lapses_after(user.dbs_checked_on, rules=rules) if user.dbs_checked_on else None
    return _page(
        request,
        settings,
        "admin_vetting_record.html",
        status,
        user=user,
        problems=sentence("; ".join(PROBLEM_LABELS[problem] for problem in problems)),
        lapses=show_day(lapses) if lapses else None,
        values=values,
        errors=errors,
        date_hint=DATE_HINT,
        valid_years=rules.check_valid_years,
    )


def _current(user: AppUser) -> dict[str, str]:
    return form_values({name: getattr(user, name) for name in VETTING_FIELDS})


def _unknown(
    request: Request, settings: Settings, session: SessionDep, error: DomainError
) -> Response:
    status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, Conflict) else 400
    return _list_page(
        request, settings, session, status=status, errors={"record": sentence(error.message)}
    )


@router.get(RECORD_PATH)
def record_page(
    request: Request,
    principal: UserAdmin,
    session: SessionDep,
    settings: SettingsDep,
    username: str = "",
) -> Response:
    """The form to record or update an account's vetting, filled with what is recorded."""
    try:
        user = get_user(session=session, username=username)
    except DomainError as exc:
        return _unknown(request, settings, session, exc)
    return _record_page(request, settings, user, values=_current(user), errors={})


@router.post(RECORD_PATH)
def record_submit(
    request: Request,
    principal: UserAdmin,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Record the vetting typed in; back to the list, saying whether it is now current."""
    try:
        user = get_user(session=session, username=field(form, "username"))
    except DomainError as exc:
        return _unknown(request, settings, session, exc)
    rules = VettingRules.from_settings(settings)
    parsed = parse_vetting_form(form, today=rules.today(datetime.now(UTC)))
    if parsed.errors:
        return _record_page(
            request, settings, user, values=parsed.values, errors=parsed.errors, status=400
        )
    try:
        recorded = record_vetting(
            session=session,
            settings=settings,
            context=context,
            username=user.username,
            change=parsed.change,
        )
    except DomainError as exc:
        # Your own account (the form's rules were checked above).
        return _unknown(request, settings, session, exc)
    if recorded.problems:
        still = ", ".join(PROBLEM_LABELS[problem] for problem in recorded.problems)
        notice = (
            f"Vetting of {recorded.username} recorded. It is still not current ({still}): "
            f"they cannot sign in; {plural(recorded.sessions_ended, 'session')} ended."
        )
    else:
        notice = f"Vetting of {recorded.username} recorded: it is current."
    return _list_page(request, settings, session, notice=notice)
