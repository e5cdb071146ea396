"""The pages in a real browser (Debian's Chromium via Playwright) over the real app and servers.

Signs in with the three factors, searches, opens records (shielded ones too), checks CSRF and
keyboard-only use, runs axe-core on every page and saves full-page screenshots.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import text

from contactpoint.settings import Settings
from db.access import Role
from db.vocabulary import SENSITIVE_KINDS
from searchapi.deps import settings_dependency
from searchapi.main import create_app
from tests.integration.access_support import (
    Account,
    fast_settings,
    new_account,
    new_authority,
    session_token,
)
from tests.integration.search_support import Kid, Population
from tests.integration.test_search_matching import dob_one_digit_wrong, nickname

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture(scope="module")
def base_url(population: Population) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port (plain HTTP: no Secure cookie)."""
    yield from serve(population.settings)


def serve(settings: Settings) -> Iterator[str]:
    """Run the real app with `settings` (cheap argon2, no Secure cookie); yield its address."""
    app_settings = fast_settings(settings, session_cookie_secure=False)
    app = create_app()
    app.dependency_overrides[settings_dependency] = lambda: app_settings
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1000, "height": 800})
    tab = context.new_page()
    yield tab
    context.close()


def _account(pop: Population, *roles: Role, authorities: tuple[str, ...] = ()) -> Account:
    codes = authorities or (new_authority(pop.engine),)
    settings = fast_settings(pop.settings)
    return new_account(pop.engine, settings, roles=roles, authorities=codes)


def _signed_in(page: Page, pop: Population, account: Account) -> None:
    """A session cookie opened without the form (the form is tested on its own)."""
    token = session_token(pop.engine, account.username)
    page.goto("/sign-in")
    url = page.url
    page.context.add_cookies([{"name": "cp_session", "value": token, "url": url}])


def _no_axe_violations(page: Page) -> None:
    # Evaluated rather than added as a <script>: the pages' policy refuses inline scripts.
    page.evaluate(AXE.read_text())
    violations: list[dict[str, Any]] = page.evaluate("async () => (await axe.run()).violations")
    summary = [(v["id"], v["help"], [n["target"] for n in v["nodes"]]) for v in violations]
    assert summary == [], summary


def _screenshot(page: Page, name: str, *, focus: str | None = None) -> None:
    """A full-page screenshot, and a small one of the viewport (scrolled to `focus`)."""
    (SCREENSHOTS / "small").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if focus is not None:
        page.locator(focus).evaluate("element => element.scrollIntoView()")
    page.screenshot(path=str(SCREENSHOTS / "small" / f"{name}.png"))


def _fill_sign_in(page: Page, account: Account, **changes: str) -> None:
    values = {**account.login_body(), **changes}
    page.goto("/sign-in")
    page.get_by_label("Username").fill(values["username"])
    page.get_by_label("Password").fill(values["password"])
    page.get_by_label("PIN").fill(values["pin"])
    page.get_by_label("Security code").fill(values["code"])
    page.get_by_role("button", name="Sign in").click()


def _search(page: Page, body: dict[str, str]) -> None:
    page.goto("/search")
    page.get_by_label("Given name").fill(body.get("given_name", ""))
    page.get_by_label("Family name").fill(body.get("family_name", ""))
    if "date_of_birth" in body:
        born = date.fromisoformat(body["date_of_birth"])
        page.get_by_label("Day").fill(str(born.day))
        page.get_by_label("Month").fill(str(born.month))
        page.get_by_label("Year").fill(str(born.year))
    page.get_by_role("button", name="Search").click()


def _first_result(page: Page) -> Any:
    return page.locator("#results-table tbody tr").first


def test_signing_in_with_all_three_factors_opens_the_search_page(
    page: Page,
    population: Population,
) -> None:
    account = _account(population, Role.PRACTITIONER)
    page.goto("/sign-in")
    _no_axe_violations(page)
    _screenshot(page, "sign-in")
    _fill_sign_in(page, account)
    expect(page.get_by_role("heading", name="Find a child")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {account.username}")).to_be_visible()
    _no_axe_violations(page)


@pytest.mark.parametrize("missing", ["password", "pin", "code"])
def test_signing_in_without_one_factor_is_refused(
    page: Page,
    population: Population,
    missing: str,
) -> None:
    _fill_sign_in(page, _account(population, Role.PRACTITIONER), **{missing: ""})
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in to ContactPoint")).to_be_visible()
    assert "cp_session" not in {cookie["name"] for cookie in page.context.cookies()}
    _no_axe_violations(page)


def test_a_wrong_security_code_is_refused(
    page: Page,
    population: Population,
) -> None:
    _fill_sign_in(page, _account(population, Role.PRACTITIONER), code="000000")
    expect(page.locator(".govuk-error-summary")).to_contain_text("is not right")


def test_a_nickname_search_finds_the_child_at_the_top(
    page: Page,
    population: Population,
) -> None:
    kid, body, _, _ = nickname(population)
    _signed_in(page, population, _account(population, Role.PRACTITIONER))
    _search(page, body)
    first = _first_result(page)
    expect(first).to_contain_text(f"{kid.given_names} {kid.family_name}")
    expect(first).to_contain_text("nickname")
    _no_axe_violations(page)
    _screenshot(page, "search-results", focus="#results")


def test_a_typo_in_the_date_of_birth_finds_the_child_at_the_top(
    page: Page,
    population: Population,
) -> None:
    kid, body, _, _ = dob_one_digit_wrong(population)
    _signed_in(page, population, _account(population, Role.PRACTITIONER))
    _search(page, body)
    first = _first_result(page)
    expect(first).to_contain_text(f"{kid.given_names} {kid.family_name}")
    expect(first).to_contain_text("typo in date of birth")


_WITH_SERVICE_PHONE = """
SELECT c.identifier, o.phone FROM child c
JOIN involvement i ON i.child_id = c.id JOIN organisation o ON o.id = i.organisation_id
WHERE o.phone IS NOT NULL AND NOT o.sensitive AND NOT i.sensitive AND NOT (o.kind = ANY(:kinds))
  AND NOT EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id AND s.removed_at IS NULL)
ORDER BY c.identifier LIMIT 1
"""


def test_the_record_shows_the_services_phone_numbers_as_tel_links(
    page: Page,
    population: Population,
) -> None:
    with population.engine.connect() as connection:
        identifier, phone = connection.execute(
            text(_WITH_SERVICE_PHONE), {"kinds": sorted(SENSITIVE_KINDS)}
        ).one()
    _signed_in(page, population, _account(population, Role.PRACTITIONER))
    page.goto(f"/children/{identifier}")
    link = page.locator(".cp-service a[href^='tel:']", has_text=phone).first
    expect(link).to_be_visible()
    assert link.get_attribute("href") == "tel:" + phone.replace(" ", "")
    _no_axe_violations(page)
    _screenshot(page, "record", focus=".cp-service")


def _shielded_kid(pop: Population) -> Kid:
    return next(kid for kid in pop.kids if kid.shielded and kid.status == "active")


def test_a_shielded_childs_location_is_withheld_from_a_practitioner_but_not_its_manager(
    page: Page,
    population: Population,
) -> None:
    kid = _shielded_kid(population)
    _signed_in(page, population, _account(population, Role.PRACTITIONER))
    page.goto(f"/children/{kid.identifier}")
    expect(page.locator("#shielded-notice")).to_contain_text(
        "Shielded: contact the local authority management team"
    )
    expect(page.locator("#child-address")).to_have_text("Withheld (shielded)")
    assert kid.postcode not in page.content()
    _no_axe_violations(page)
    _screenshot(page, "shielded-record")
    page.context.clear_cookies()
    manager = _account(population, Role.LA_MANAGER, authorities=(kid.authority,))
    _signed_in(page, population, manager)
    page.goto(f"/children/{kid.identifier}")
    expect(page.locator("#child-address")).to_contain_text(kid.postcode)
    expect(page.locator("#shielded-notice")).to_have_count(0)


def test_a_manager_shields_and_unshields_a_child_with_a_reason(
    page: Page,
    population: Population,
) -> None:
    kid = next(k for k in reversed(population.kids) if not k.shielded and k.status == "active")
    manager = _account(population, Role.LA_MANAGER, authorities=(kid.authority,))
    _signed_in(page, population, manager)
    page.goto(f"/children/{kid.identifier}")
    page.get_by_role("link", name="Manage the shield").click()
    page.get_by_role("button", name="Apply the shield").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason")
    _no_axe_violations(page)
    page.get_by_label("Reason", exact=True).fill("Risk of harm from a relative")
    page.get_by_role("button", name="Apply the shield").click()
    expect(page.get_by_text("The child is shielded.")).to_be_visible()
    page.get_by_role("link", name="Manage the shield").click()
    page.get_by_label("Reason", exact=True).fill("Risk has passed")
    page.get_by_role("button", name="Remove the shield").click()
    expect(page.get_by_text("The shield is removed.")).to_be_visible()


def test_a_form_post_without_the_csrf_token_is_refused(
    page: Page,
    population: Population,
) -> None:
    _signed_in(page, population, _account(population, Role.PRACTITIONER))
    page.goto("/search")
    refused = page.request.post("/search", form={"family_name": "Smith", "given_name": "Jo"})
    assert refused.status == 403
    allowed = page.request.post(
        "/search",
        form={
            "family_name": "Smith",
            "given_name": "Jo",
            "csrf_token": page.locator("input[name=csrf_token]").first.input_value(),
        },
    )
    assert allowed.status == 200


def _tab_to(page: Page, element_id: str) -> None:
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} cannot be reached with the Tab key")


def test_signing_in_and_searching_work_with_the_keyboard_alone(
    page: Page,
    population: Population,
) -> None:
    account = _account(population, Role.PRACTITIONER)
    kid, body, _, _ = nickname(population)
    page.goto("/sign-in")
    _tab_to(page, "username")
    page.keyboard.type(account.username)
    for value in (account.password, account.pin, account.code()):
        page.keyboard.press("Tab")
        page.keyboard.type(value)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Find a child")).to_be_visible()
    born = date.fromisoformat(body["date_of_birth"])
    _tab_to(page, "given_name")
    page.keyboard.type(body["given_name"])
    for value in (body["family_name"], str(born.day), str(born.month), str(born.year)):
        page.keyboard.press("Tab")
        page.keyboard.type(value)
    page.keyboard.press("Enter")
    expect(_first_result(page)).to_contain_text(f"{kid.given_names} {kid.family_name}")
