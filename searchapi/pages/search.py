"""The practitioners' pages: sign in, search, sign out (and the static files).

Thin: each page calls the same service functions as the API (`sign_in`, `run_search`), so
search, shielding and audit have one implementation. The record view is in `searchapi.pages.record`.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from db.access import (
    RESULTS_TOKEN,
    AccessError,
    Attempt,
    Forbidden,
    Principal,
    TooManyAttempts,
    save_search,
    saved_search,
    sign_in,
)
from db.access.sign_in import CODE_ALREADY_USED
from db.normalise import has_control_characters
from searchapi.access import Permission, permissions_of
from searchapi.break_glass_reviews import reviews_for
from searchapi.corrections import value_text, waiting_for
from searchapi.deps import (
    PUBLIC,
    AuditContextDep,
    EsDep,
    RankerDep,
    RequestContextDep,
    Searcher,
    SessionDep,
    SettingsDep,
    SignedIn,
    SigningOut,
)
from searchapi.pages.csrf import (
    PageForm,
    SignInForm,
    csrf_token,
    new_sign_in_secret,
    page_csrf,
    set_sign_in_cookie,
    sign_in_secret,
)
from searchapi.pages.fields import field
from searchapi.pages.render import STATIC_DIR, render
from searchapi.pages.search_form import (
    GENDERS,
    MINIMUM_RULE,
    SearchForm,
    match_tags,
    parse_search_form,
    probability_words,
    too_many_advice,
)
from searchapi.refusals import note_refusal
from searchapi.search import run_search
from searchapi.sessions import clear_session_cookie, end_session, set_session_cookie
from searchapi.team_requests import team_queue
from searchapi.text_input import plain_text

router = APIRouter(include_in_schema=False)

_SIGN_IN_FIELDS = (
    ("username", "Enter your username"),
    ("password", "Enter your password"),
    ("pin", "Enter your PIN"),
    ("code", "Enter the security code from your token"),
)
# The API's limits (LoginRequest): what is longer cannot be right, and is not hashed.
_SIGN_IN_LIMITS: Final = {"username": 200, "password": 1024, "pin": 32, "code": 16}


def _sign_in_errors(values: dict[str, str]) -> dict[str, str]:
    """A message for each missing, overlong or unprintable factor, by field."""
    errors: dict[str, str] = {}
    for name, missing in _SIGN_IN_FIELDS:
        value = values[name]
        if not value:
            errors[name] = missing
        elif len(value) > _SIGN_IN_LIMITS[name]:
            errors[name] = f"Enter {_SIGN_IN_LIMITS[name]} characters or fewer"
        elif has_control_characters(value):
            # PostgreSQL cannot take a NUL, and no factor holds control characters.
            errors[name] = "Enter it without control characters (such as a tab or a NUL)"
    return errors


@router.get("/static/{path:path}", dependencies=[PUBLIC])
def static_file(path: str) -> FileResponse:
    """GOV.UK Frontend's built files and the page script (cacheable: nothing personal)."""
    root = STATIC_DIR.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(404, "There is no such file.")
    return FileResponse(target, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/sign-in", dependencies=[PUBLIC])
def sign_in_page(
    request: Request, settings: SettingsDep, expired: bool = False, signed_out: bool = False
) -> Response:
    """The sign-in form: username, password, PIN and security code on one page."""
    known = sign_in_secret(request)
    secret = known or new_sign_in_secret()
    response = render(
        request,
        "sign_in.html",
        csrf=csrf_token(secret),
        errors={},
        values={},
        expired=expired,
        signed_out=signed_out,
        idle_minutes=settings.session_idle_timeout_s // 60,
    )
    if known is None:
        set_sign_in_cookie(response, settings, secret)
    return response


def _sign_in_status(error: AccessError) -> int:
    # A refusal that is not about the factors (a suspended account, a network outside the
    # secure ones) is a 403, as the API answers it.
    return 403 if isinstance(error, Forbidden) else 401


@router.post("/sign-in", dependencies=[PUBLIC])
def sign_in_submit(
    request: Request,
    form: SignInForm,
    session: SessionDep,
    settings: SettingsDep,
    context: RequestContextDep,
) -> Response:
    """Check the three factors with the API's sign-in; open a session cookie or say why not."""
    values = {name: field(form, name) for name, _ in _SIGN_IN_FIELDS}
    errors = _sign_in_errors(values)
    status = 400
    if not errors:
        try:
            signed = sign_in(
                session=session,
                settings=settings,
                attempt=Attempt(
                    username=values["username"],
                    password=values["password"],
                    pin=values["pin"],
                    code=values["code"],
                ),
                context=context,
            )
        except AccessError as exc:
            # One message for every wrong factor (no enumeration), or the lockout's; a code
            # used already (said only when the password and PIN were right) is the code's.
            field_name = "code" if exc.message == CODE_ALREADY_USED else "username"
            errors = {field_name: exc.message}
            status = 429 if isinstance(exc, TooManyAttempts) else _sign_in_status(exc)
        else:
            # Practitioners start at the search; managers at their break glass to review;
            # auditors and admins at the list of their pages.
            response = RedirectResponse(_start_page(signed.principal), status_code=303)
            set_session_cookie(response, settings, signed.token)
            return response
    secret = sign_in_secret(request)
    return render(
        request,
        "sign_in.html",
        status_code=status,
        csrf=csrf_token(secret) if secret else None,
        errors=errors,
        # Secrets are never sent back into the page.
        values={"username": plain_text(values["username"])[: _SIGN_IN_LIMITS["username"]]},
        expired=False,
        signed_out=False,
        idle_minutes=settings.session_idle_timeout_s // 60,
    )


@router.post("/sign-out")
def sign_out(
    principal: SigningOut,
    form: PageForm,
    session: SessionDep,
    settings: SettingsDep,
    context: AuditContextDep,
) -> Response:
    """End the session and forget the cookie."""
    end_session(session=session, context=context)
    response = RedirectResponse("/sign-in?signed_out=true", status_code=303)
    clear_session_cookie(response, settings)
    return response


# What a decision of a team's request did, told by the home page it leads back to.
DECIDED: Final = {
    "shield": "The shield request is decided: the practitioner sees your decision.",
    "contact": "The request is recorded: the practitioner sees it.",
}


def _start_page(principal: Principal) -> str:
    granted = permissions_of(principal)
    if Permission.SEARCH_CHILDREN in granted and Permission.REVIEW_BREAK_GLASS not in granted:
        return "/search"
    return "/"


@router.get("/")
def home(
    request: Request,
    principal: SignedIn,
    session: SessionDep,
    settings: SettingsDep,
    reviewed: bool = False,
    decided: str | None = None,
) -> Response:
    """Practitioners go to the search; other roles see what this page offers them, managers
    first the break glass on their authorities' children that waits for their review."""
    if _start_page(principal) != "/":
        return RedirectResponse("/search", status_code=303)
    granted = permissions_of(principal)
    reviewing = Permission.REVIEW_BREAK_GLASS in granted
    queue = team_queue(
        session=session,
        principal=principal,
        settings=settings,
        shields=Permission.MANAGE_SHIELDS in granted,
        contacts=Permission.BROKER_CONTACT in granted,
    )
    return render(
        request,
        "home.html",
        csrf=page_csrf(request, settings),
        reviewing=reviewing,
        reviews=reviews_for(session=session, principal=principal) if reviewing else [],
        reviewed=reviewed,
        queue=queue,
        shield_team=Permission.MANAGE_SHIELDS in granted,
        contact_team=Permission.BROKER_CONTACT in granted,
        decided={
            "shield": "The shield request is decided.",
            "contact": "The request is recorded.",
            "correction-confirmed": "Confirmed: the feed's value replaces the correction.",
            "correction-rejected": "Rejected: the correction stands.",
        }.get(decided or ""),
        corrects=Permission.CORRECT_RECORDS in granted,
        waiting=waiting_for(session=session, principal=principal)
        if Permission.CORRECT_RECORDS in granted
        else [],
        describe=value_text,
        target=settings.brokering_response_working_days,
    )


def _search_page(
    request: Request,
    settings: SettingsDep,
    form: SearchForm,
    status_code: int = 200,
    **extra: object,
) -> Response:
    return render(
        request,
        "search.html",
        status_code=status_code,
        csrf=page_csrf(request, settings),
        form=form,
        errors=form.errors if extra.pop("errors_shown", False) else {},
        genders=GENDERS,
        minimum_rule=MINIMUM_RULE,
        **extra,
    )


@router.get("/search")
def search_page(
    request: Request,
    principal: Searcher,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    context: AuditContextDep,
    ranker: RankerDep,
    results: str | None = None,
) -> Response:
    """The empty search form; or, with `results`, the form and results of a search this
    session made, searched again now (so a shield applied since is in force, and the search
    is audited each time it is shown)."""
    if results is None:
        return _search_page(request, settings, parse_search_form({}), errors_shown=False)
    kept = (
        saved_search(session=session, session_id=principal.session_id, token=results)
        if principal.session_id is not None and RESULTS_TOKEN.fullmatch(results)
        else None
    )
    if kept is None:
        return _search_page(
            request, settings, parse_search_form({}), errors_shown=False, forgotten=True
        )
    parsed = parse_search_form(kept)
    if parsed.request is None:
        # Kept only when it searched; a rule changed since: the form shows why.
        return _search_page(request, settings, parsed, status_code=400, errors_shown=True)
    return _results_page(request, session, es, settings, context, ranker, parsed, results)


@router.post("/search")
def search_submit(
    request: Request,
    principal: Searcher,
    form: PageForm,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    context: AuditContextDep,
    ranker: RankerDep,
) -> Response:
    """Search with the API's search (same filter, scoring and audit). A browser's session
    keeps what was typed, and is sent to the results page's address (POST/redirect/GET), so
    that Back and "Back to search" return to the same results."""
    parsed = parse_search_form(form)
    if parsed.request is None:
        note_refusal(request, "; ".join(f"{k}: {v}" for k, v in parsed.errors.items()))
        return _search_page(request, settings, parsed, status_code=400, errors_shown=True)
    if principal.session_id is not None:
        token = save_search(
            session=session, session_id=principal.session_id, criteria=parsed.values
        )
        return RedirectResponse(f"/search?results={token}#results", status_code=303)
    return _results_page(request, session, es, settings, context, ranker, parsed, None)


def _results_page(
    request: Request,
    session: SessionDep,
    es: EsDep,
    settings: SettingsDep,
    context: AuditContextDep,
    ranker: RankerDep,
    parsed: SearchForm,
    token: str | None,
) -> Response:
    assert parsed.request is not None
    answer = run_search(
        session=session,
        es=es,
        alias=settings.index_alias,
        context=context,
        request=parsed.request,
        ranker=ranker,
    )
    return _search_page(
        request,
        settings,
        parsed,
        errors_shown=True,
        answer=answer,
        tags={result.identifier: match_tags(result) for result in answer.results},
        probability_words=probability_words,
        advice=too_many_advice(parsed.request) if answer.too_many_matches else None,
        results_token=token,
    )
