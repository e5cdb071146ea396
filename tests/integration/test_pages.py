"""The pages without a browser: sign-in with three factors, cookies, CSRF, redirects, assets."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contactpoint.settings import Settings
from db.access import Role
from tests.integration.access_support import Account, new_account, new_authority

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def _practitioner(engine: Engine, fast: Settings) -> Account:
    return new_account(engine, fast, roles=[Role.PRACTITIONER], authorities=[new_authority(engine)])


def _sign_in(api: TestClient, account: Account, **changes: str) -> tuple[str, object]:
    token = _token(api.get("/sign-in", headers=HTML).text)
    response = api.post(
        "/sign-in",
        data={**account.login_body(), "csrf_token": token, **changes},
        headers=HTML,
        follow_redirects=False,
    )
    return token, response


def test_signing_in_with_all_three_factors_sets_a_strict_httponly_secure_cookie(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    _, response = _sign_in(api, _practitioner(engine, fast))
    assert response.status_code == 303 and response.headers["location"] == "/search"  # type: ignore[attr-defined]
    cookie = response.headers["set-cookie"].lower()  # type: ignore[attr-defined]
    assert "cp_session=" in cookie and "httponly" in cookie
    assert "samesite=strict" in cookie and "secure" in cookie
    page = api.get("/search", headers=HTML)
    assert page.status_code == 200 and "Find a child" in page.text


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("password", "Enter your password"),
        ("pin", "Enter your PIN"),
        ("code", "Enter the security code from your token"),
    ],
    ids=["no-password", "no-pin", "no-code"],
)
def test_signing_in_without_a_factor_is_refused_with_the_error_tied_to_its_field(
    api: TestClient,
    engine: Engine,
    fast: Settings,
    missing: str,
    message: str,
) -> None:
    _, response = _sign_in(api, _practitioner(engine, fast), **{missing: ""})
    assert response.status_code == 400  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert f'<a href="#{missing}">{message}</a>' in text
    assert f'id="{missing}-error"' in text and "cp_session" not in str(response.headers)  # type: ignore[attr-defined]


def test_a_wrong_pin_gets_the_one_answer_for_every_wrong_factor(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    _, response = _sign_in(api, _practitioner(engine, fast), pin="9999")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "The username, password, PIN or one-time code is not right." in response.text  # type: ignore[attr-defined]


def test_a_replayed_code_is_told_to_wait_for_the_next_one_only_when_all_else_is_right(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    account = _practitioner(engine, fast)
    code = account.code()
    _, first = _sign_in(api, account, code=code)
    assert first.status_code == 303  # type: ignore[attr-defined]
    api.cookies.clear()
    _, wrong = _sign_in(api, account, code=code, password="not the password")
    assert wrong.status_code == 401  # type: ignore[attr-defined]
    assert "already been used" not in wrong.text  # type: ignore[attr-defined]
    assert "The username, password, PIN or one-time code is not right." in wrong.text  # type: ignore[attr-defined]
    _, replayed = _sign_in(api, account, code=code)
    assert replayed.status_code == 401 and "cp_session" not in str(replayed.headers)  # type: ignore[attr-defined]
    assert (
        "That security code has already been used. Wait for the next code from your token "
        "and enter that one."
    ) in replayed.text  # type: ignore[attr-defined]
    assert '<li><a href="#code">That security code' in replayed.text  # type: ignore[attr-defined]


def test_a_form_post_without_the_csrf_token_is_refused(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    account = _practitioner(engine, fast)
    api.get("/sign-in", headers=HTML)
    refused = api.post("/sign-in", data=account.login_body(), headers=HTML)
    assert refused.status_code == 403 and "did not come from this service" in refused.text
    _, signed = _sign_in(api, account)
    assert signed.status_code == 303  # type: ignore[attr-defined]
    body = {"family_name": "Smith", "given_name": "Jo"}
    assert api.post("/search", data=body, headers=HTML).status_code == 403
    wrong = api.post("/search", data={**body, "csrf_token": "forged"}, headers=HTML)
    assert wrong.status_code == 403
    assert api.post("/sign-out", data={"confirm": "yes"}, headers=HTML).status_code == 403


def test_too_little_to_search_on_is_explained_in_plain_words(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    _sign_in(api, _practitioner(engine, fast))
    token = _token(api.get("/search", headers=HTML).text)
    page = api.post("/search", data={"csrf_token": token, "family_name": "Smith"}, headers=HTML)
    assert page.status_code == 400
    assert "at least one of: a given name, a date of birth" in page.text
    assert '<a href="#given_name">' in page.text


def test_a_stranger_is_sent_to_sign_in_and_an_ended_session_is_told_it_timed_out(
    api: TestClient,
    engine: Engine,
    fast: Settings,
) -> None:
    first = api.get("/search", headers=HTML, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/sign-in"
    assert api.get("/search").status_code == 401  # the API's JSON answer for non-browsers
    _sign_in(api, _practitioner(engine, fast))
    token = _token(api.get("/search", headers=HTML).text)
    out = api.post("/sign-out", data={"csrf_token": token}, headers=HTML, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/sign-in?signed_out=true"
    api.cookies.set("cp_session", "cps_no-longer-valid")
    again = api.get("/search", headers=HTML, follow_redirects=False)
    assert again.headers["location"] == "/sign-in?expired=1"


def test_static_files_are_served_but_nothing_outside_their_folder(
    api: TestClient,
) -> None:
    css = api.get("/static/govuk/govuk-frontend.min.css")
    assert css.status_code == 200 and "/static/govuk/assets/fonts/" in css.text
    assert api.get("/static/../main.py").status_code == 404
    assert api.get("/static/%2e%2e/main.py").status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [("/children/0000000000", 404), ("/admin/users", 403), ("/no/such/page", 404)],
    ids=["unknown-child", "not-allowed", "unknown-address"],
)
def test_a_signed_in_browsers_error_page_keeps_the_navigation_and_sign_out(
    api: TestClient,
    engine: Engine,
    fast: Settings,
    path: str,
    status: int,
) -> None:
    _sign_in(api, _practitioner(engine, fast))
    token = _token(api.get("/search", headers=HTML).text)
    page = api.get(path, headers=HTML)
    assert page.status_code == status
    assert 'href="/search"' in page.text and ">Sign out</button>" in page.text
    # Its Sign out works: the page's form token is the session's.
    assert _token(page.text) == token
    out = api.post("/sign-out", data={"csrf_token": token}, headers=HTML, follow_redirects=False)
    assert out.status_code == 303
