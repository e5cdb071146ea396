"""The administrators' pages: accounts (create, suspend, reinstate) and CMS clients.

The same service functions as the API's admin routes (`create_user`, `suspend_user`,
`create_client`, ...), so the rules and the audit of each change have one implementation. A
new account's one-time-code secret and a new client's key are shown once, on the page that
answers the form, and are never kept anywhere they could be shown again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from contactpoint.settings import Settings
from db.access import (
    PROBLEM_LABELS,
    VettingRules,
    account_problems,
    check_lapses_after,
    client_problems,
    create_client,
    create_user,
    describe_client,
    describe_user,
    list_clients,
    list_users,
    reinstate_user,
    revoke_client,
    suspend_user,
    suspendable_user,
    vetting_problems,
)
from db.errors import Conflict, DomainError, NotFound
from db.models import AppUser
from searchapi.deps import AuditContextDep, ClientAdmin, SessionDep, SettingsDep, UserAdmin
from searchapi.pages.admin_form import (
    CLIENT_FORM_ORDER,
    CLIENT_ROLE_LABELS,
    ROLE_LABELS,
    USER_FORM_ORDER,
    form_errors,
    parse_client_form,
    parse_user_form,
    sentence,
)
from searchapi.pages.confirmation import Confirmation, confirmation_page
from searchapi.pages.csrf import PageForm, page_csrf
from searchapi.pages.fields import field
from searchapi.pages.form_dates import DATE_HINT, local_day, show_day
from searchapi.pages.render import SERVICE_NAME, render
from searchapi.pages.words import plural

router = APIRouter(include_in_schema=False)

# The most rows a list shows; the filter finds the others.
LIST_MAX: Final = 100
# No-store: these pages can hold a secret shown once; no cache may keep a copy.
_PRIVATE: Final = {"Cache-Control": "no-store"}


def _status(error: DomainError) -> int:
    return 409 if isinstance(error, Conflict) else 404 if isinstance(error, NotFound) else 400


def _listed(rows: list[dict[str, Any]], key: str, wanted: str) -> tuple[list[dict[str, Any]], int]:
    """The rows whose `key` holds `wanted` (all when blank), at most LIST_MAX, and how many."""
    matching = [row for row in rows if wanted.lower() in str(row[key]).lower()]
    return matching[:LIST_MAX], len(matching)


def _back(path: str, wanted: str) -> str:
    """The list, filtered as it was."""
    return f"{path}?{urlencode({'q': wanted})}" if wanted else path


def _page(
    request: Request, settings: Settings, template: str, status: int, **context: Any
) -> Response:
    response = render(
        request, template, status_code=status, csrf=page_csrf(request, settings), **context
    )
    response.headers.update(_PRIVATE)
    return response


def _vetting_cell(user: AppUser, *, rules: VettingRules, now: datetime) -> dict[str, Any]:
    """What the users' list says of an account's vetting: not current (why), or until when."""
    problems = vetting_problems(user, rules=rules, today=rules.today(now))
    lapses = check_lapses_after(user.dbs_checked_on, rules=rules) if user.dbs_checked_on else None
    return {
        "vetting_problems": sentence("; ".join(PROBLEM_LABELS[problem] for problem in problems)),
        "vetting_until": show_day(lapses) if lapses and not problems else None,
    }


def _users_page(
    request: Request,
    settings: Settings,
    session: SessionDep,
    *,
    status: int = 200,
    wanted: str = "",
    **context: Any,
) -> Response:
    now = datetime.now(UTC)
    rules = VettingRules.from_settings(settings)
    users = [
        describe_user(user, now=now) | _vetting_cell(user, rules=rules, now=now)
        for user in list_users(session=session)
    ]
    shown, total = _listed(users, "username", wanted)
    context = {
        "errors": {},
        "values": {},
        "roles": [],
        "child_protection": False,
        "archive_access": False,
        **context,
    }
    return _page(
        request,
        settings,
        "admin_users.html",
        status,
        users=shown,
        total=total,
        wanted=wanted,
        role_labels=ROLE_LABELS,
        date_hint=DATE_HINT,
        password_min=settings.password_min_length,
        **context,
    )


@router.get("/admin/users")
def users_page(
    request: Request, principal: UserAdmin, session: SessionDep, settings: SettingsDep, q: str = ""
) -> Response:
    """Every account (no secrets), the form to create one, and suspend or reinstate buttons."""
    return _users_page(request, settings, session, wanted=q.strip()[:100])


@router.post("/admin/users")
def create_user_submit(
    request: Request,
    principal: UserAdmin,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Create the account and show its one-time-code secret, this once."""
    zone = ZoneInfo(settings.working_hours_timezone)
    parsed = parse_user_form(form, zone=zone, today=local_day(datetime.now(UTC), zone))
    problems = account_problems(
        session=session, settings=settings, new=parsed.new, password=parsed.password, pin=parsed.pin
    )
    errors, status = form_errors(parsed.errors, problems, USER_FORM_ORDER)
    if not errors:
        try:
            enrolment = create_user(
                session=session,
                settings=settings,
                context=context,
                new=parsed.new,
                password=parsed.password,
                pin=parsed.pin,
            )
        except DomainError as exc:
            # Only a race is left here (the name taken since the check).
            errors, status = form_errors({}, {"username": exc}, USER_FORM_ORDER)
        else:
            return _page(request, settings, "admin_user_created.html", 200, enrolment=enrolment)
    return _users_page(
        request,
        settings,
        session,
        status=status,
        errors=errors,
        values=parsed.values,
        roles=parsed.roles,
        child_protection=parsed.child_protection,
        archive_access=parsed.archive_access,
    )


def _account_change(
    request: Request,
    settings: Settings,
    session: SessionDep,
    form: FormData,
    run: Callable[[], str | Response],
) -> Response:
    # The list comes back as it was filtered when the button was pressed.
    wanted = field(form, "q")[:100]
    try:
        notice = run()
    except DomainError as exc:
        errors = {"users": sentence(exc.message)}
        return _users_page(
            request, settings, session, status=_status(exc), wanted=wanted, errors=errors
        )
    if isinstance(notice, Response):
        return notice
    return _users_page(request, settings, session, wanted=wanted, notice=notice)


def _suspend_question(request: Request, settings: Settings, user: AppUser, wanted: str) -> Response:
    places = [*sorted(user.authorities), *([user.organisation] if user.organisation else [])]
    confirmation = Confirmation(
        question=f"Are you sure you want to suspend {user.username}?",
        warning="They are signed out at once, and cannot sign in again until an administrator "
        "reinstates the account. Their audit history stays.",
        summary=[
            ("Username", user.username),
            ("Roles", ", ".join(ROLE_LABELS.get(role, role) for role in sorted(user.roles))),
            ("Authorities and organisation", ", ".join(places) or "None"),
        ],
        action="/admin/users/suspend",
        hidden={"username": user.username, "q": wanted},
        button="Yes, suspend",
        cancel_href=_back("/admin/users", wanted),
        back_label="Back to users",
    )
    response = confirmation_page(request, settings, confirmation)
    response.headers.update(_PRIVATE)
    return response


@router.get("/admin/users/suspend")
def suspend_page(
    request: Request,
    principal: UserAdmin,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
    username: str = "",
    q: str = "",
) -> Response:
    """Asks before suspending: what it does, and a way back (your own account is refused)."""
    wanted = q.strip()[:100]
    try:
        user = suspendable_user(session=session, context=context, username=username)
    except DomainError as exc:
        errors = {"users": sentence(exc.message)}
        return _users_page(
            request, settings, session, status=_status(exc), wanted=wanted, errors=errors
        )
    return _suspend_question(request, settings, user, wanted)


@router.post("/admin/users/suspend")
def suspend_submit(
    request: Request,
    principal: UserAdmin,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Suspend an account and end its sessions, once confirmed."""
    username = field(form, "username")

    def run() -> str | Response:
        if field(form, "confirm") != "yes":
            user = suspendable_user(session=session, context=context, username=username)
            return _suspend_question(request, settings, user, field(form, "q")[:100])
        ended = suspend_user(session=session, context=context, username=username)
        return f"{username} is suspended; {plural(ended, 'session')} ended."

    return _account_change(request, settings, session, form, run)


@router.post("/admin/users/reinstate")
def reinstate_submit(
    request: Request,
    principal: UserAdmin,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Lift an account's suspension."""
    username = field(form, "username")

    def run() -> str | Response:
        reinstate_user(session=session, context=context, username=username)
        return f"{username} is reinstated and can sign in again."

    return _account_change(request, settings, session, form, run)


def _clients_page(
    request: Request,
    settings: Settings,
    session: SessionDep,
    *,
    status: int = 200,
    wanted: str = "",
    **context: Any,
) -> Response:
    shown, total = _listed(list_clients(session=session), "name", wanted)
    context = {"errors": {}, "values": {}, "roles": ["practitioner"], **context}
    return _page(
        request,
        settings,
        "admin_clients.html",
        status,
        clients=shown,
        total=total,
        wanted=wanted,
        role_labels=CLIENT_ROLE_LABELS,
        **context,
    )


@router.get("/admin/clients")
def clients_page(
    request: Request,
    principal: ClientAdmin,
    session: SessionDep,
    settings: SettingsDep,
    q: str = "",
) -> Response:
    """Every CMS client (no keys), the form to register one, and revoke buttons."""
    return _clients_page(request, settings, session, wanted=q.strip()[:100])


@router.post("/admin/clients")
def create_client_submit(
    request: Request,
    principal: ClientAdmin,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Register the client and show its API key, this once."""
    parsed = parse_client_form(form)
    problems = client_problems(
        session=session,
        name=parsed.values["name"],
        roles=parsed.role_set,
        authority=parsed.values["authority"],
        networks=parsed.networks,
    )
    errors, status = form_errors(parsed.errors, problems, CLIENT_FORM_ORDER)
    if not errors:
        try:
            issued = create_client(
                session=session,
                context=context,
                name=parsed.values["name"],
                roles=parsed.role_set,
                authority=parsed.values["authority"],
                networks=parsed.networks,
            )
        except DomainError as exc:
            # Only a race is left here (the name taken since the check).
            errors, status = form_errors({}, {"name": exc}, CLIENT_FORM_ORDER)
        else:
            return _page(request, settings, "admin_client_created.html", 200, issued=issued)
    return _clients_page(
        request,
        settings,
        session,
        status=status,
        errors=errors,
        values=parsed.values,
        roles=parsed.roles,
    )


def _revoke_question(
    request: Request, settings: Settings, client: dict[str, Any], wanted: str
) -> Response:
    confirmation = Confirmation(
        question=f"Are you sure you want to revoke the key of {client['name']}?",
        warning=f"Its next request to {SERVICE_NAME} is refused. A revoked key cannot be "
        "restored: the system would need to be registered again, with a new key.",
        summary=[
            ("Name", str(client["name"])),
            ("Key id", str(client["key_id"])),
            ("Acts for", ", ".join(CLIENT_ROLE_LABELS.get(r, r) for r in client["roles"])),
            ("Authority", str(client["authority"])),
        ],
        action="/admin/clients/revoke",
        hidden={"name": str(client["name"]), "q": wanted},
        button="Yes, revoke the key",
        cancel_href=_back("/admin/clients", wanted),
        back_label="Back to CMS clients",
    )
    response = confirmation_page(request, settings, confirmation)
    response.headers.update(_PRIVATE)
    return response


@router.get("/admin/clients/revoke")
def revoke_page(
    request: Request,
    principal: ClientAdmin,
    session: SessionDep,
    settings: SettingsDep,
    name: str = "",
    q: str = "",
) -> Response:
    """Asks before revoking a client's key: what it does, and a way back."""
    wanted = q.strip()[:100]
    try:
        client = describe_client(session=session, name=name)
    except DomainError as exc:
        errors = {"clients": sentence(exc.message)}
        return _clients_page(
            request, settings, session, status=_status(exc), wanted=wanted, errors=errors
        )
    return _revoke_question(request, settings, client, wanted)


@router.post("/admin/clients/revoke")
def revoke_submit(
    request: Request,
    principal: ClientAdmin,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """Revoke a client's API key, once confirmed: its next request is refused."""
    name, wanted = field(form, "name"), field(form, "q")[:100]
    try:
        if field(form, "confirm") != "yes":
            client = describe_client(session=session, name=name)
            return _revoke_question(request, settings, client, wanted)
        revoke_client(session=session, context=context, name=name)
    except DomainError as exc:
        errors = {"clients": sentence(exc.message)}
        return _clients_page(
            request, settings, session, status=_status(exc), wanted=wanted, errors=errors
        )
    notice = f"The key of {name} is revoked: its next request will be refused."
    return _clients_page(request, settings, session, wanted=wanted, notice=notice)
