"""The pages in a real browser (Debian's Chromium via Playwright) over the real app and servers.

Signs in with the three factors, searches, opens records (shielded ones too), checks CSRF and
keyboard-only use, runs axe-core on every page and saves full-page screenshots.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from db.access import Role
from db.vocabulary import SENSITIVE_KINDS
from tests.integration.access_support import session_token
from tests.integration.browser_support import (
    assert_no_axe_violations,
    fill_sign_in,
    new_user,
    screenshot,
    sign_in_by_cookie,
    tab_to,
)
from tests.integration.notify_support import Writer, user_with_email, working_practitioner
from tests.integration.search_support import Kid, Population
from tests.integration.test_search_matching import dob_one_digit_wrong, nickname

pytestmark = pytest.mark.integration


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
    account = new_user(population, Role.PRACTITIONER)
    page.goto("/sign-in")
    assert_no_axe_violations(page)
    screenshot(page, "sign-in")
    fill_sign_in(page, account)
    expect(page.get_by_role("heading", name="Find a child")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {account.username}")).to_be_visible()
    assert_no_axe_violations(page)


@pytest.mark.parametrize("missing", ["password", "pin", "code"])
def test_signing_in_without_one_factor_is_refused(
    page: Page,
    population: Population,
    missing: str,
) -> None:
    fill_sign_in(page, new_user(population, Role.PRACTITIONER), **{missing: ""})
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in to ContactPoint")).to_be_visible()
    assert "cp_session" not in {cookie["name"] for cookie in page.context.cookies()}
    assert_no_axe_violations(page)


def test_a_wrong_security_code_is_refused(
    page: Page,
    population: Population,
) -> None:
    fill_sign_in(page, new_user(population, Role.PRACTITIONER), code="000000")
    expect(page.locator(".govuk-error-summary")).to_contain_text("is not right")


def test_a_nickname_search_finds_the_child_at_the_top(
    page: Page,
    population: Population,
) -> None:
    kid, body, _, _ = nickname(population)
    sign_in_by_cookie(page, population, new_user(population, Role.PRACTITIONER))
    _search(page, body)
    first = _first_result(page)
    expect(first).to_contain_text(f"{kid.given_names} {kid.family_name}")
    expect(first).to_contain_text("nickname")
    # Nickname, exact family name and date of birth: nearly certain, and shown as such.
    expect(first.locator(".cp-match--strong")).to_contain_text("Strong match")
    expect(first).to_contain_text("more than 99 in 100 likely")
    assert_no_axe_violations(page)
    screenshot(page, "search-results", focus="#results")


def test_the_results_survive_opening_a_record_and_coming_back_either_way(
    page: Page,
    population: Population,
) -> None:
    kid, body, _, _ = nickname(population)
    sign_in_by_cookie(page, population, new_user(population, Role.PRACTITIONER))
    _search(page, body)
    results = page.url
    assert "/search?results=" in results and body["family_name"] not in results
    name = f"{kid.given_names} {kid.family_name}"
    for way_back in ("browser", "link"):
        _first_result(page).get_by_role("link").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(name)
        if way_back == "browser":
            page.go_back()  # a GET of the results address: no "Confirm Form Resubmission"
        else:
            page.get_by_role("link", name="Back to search").click()
        assert page.url == results
        expect(_first_result(page)).to_contain_text(name)
        expect(page.get_by_label("Family name")).to_have_value(body["family_name"])
    assert_no_axe_violations(page)
    screenshot(page, "results-after-back", focus="#results")


def test_the_results_fit_a_320_px_screen_as_cards(
    page: Page,
    population: Population,
) -> None:
    kid, body, _, _ = nickname(population)
    sign_in_by_cookie(page, population, new_user(population, Role.PRACTITIONER))
    page.set_viewport_size({"width": 320, "height": 720})
    _search(page, body)
    expect(_first_result(page)).to_contain_text(f"{kid.given_names} {kid.family_name}")
    # Nothing scrolls sideways; each cell says what it is.
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    expect(_first_result(page).locator("td").first).to_have_attribute("data-label", "Date of birth")
    assert_no_axe_violations(page)
    screenshot(page, "results-320px", focus="#results")


def test_a_printed_record_is_marked_with_its_handling_who_printed_it_and_when(
    page: Page,
    population: Population,
) -> None:
    account = new_user(population, Role.PRACTITIONER)
    sign_in_by_cookie(page, population, account)
    kid = next(k for k in population.kids if not k.shielded and k.status == "active")
    page.goto(f"/children/{kid.identifier}")
    marking = page.locator(".cp-print-marking").first
    expect(marking).to_be_hidden()  # on screen, the page carries no marking
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    expect(marking).to_be_visible()
    expect(marking).to_contain_text("OFFICIAL-SENSITIVE")
    expect(marking).to_contain_text(f"Printed by {account.username} on ")
    expect(marking).to_contain_text(str(datetime.now().year))
    expect(page.locator("#navigation")).to_be_hidden()
    expect(page.get_by_role("link", name="Back to search")).to_be_hidden()
    expect(page.locator(".govuk-footer")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_contain_text(kid.family_name)
    screenshot(page, "print-view")
    page.emulate_media(media="screen")


def test_a_typo_in_the_date_of_birth_finds_the_child_at_the_top(
    page: Page,
    population: Population,
) -> None:
    kid, body, _, _ = dob_one_digit_wrong(population)
    sign_in_by_cookie(page, population, new_user(population, Role.PRACTITIONER))
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
    sign_in_by_cookie(page, population, new_user(population, Role.PRACTITIONER))
    page.goto(f"/children/{identifier}")
    link = page.locator(".cp-service a[href^='tel:']", has_text=phone).first
    expect(link).to_be_visible()
    assert link.get_attribute("href") == "tel:" + phone.replace(" ", "")
    assert_no_axe_violations(page)
    screenshot(page, "record", focus=".cp-service")


def _shielded_kid(pop: Population) -> Kid:
    return next(kid for kid in pop.kids if kid.shielded and kid.status == "active")


def test_a_shielded_childs_location_is_withheld_from_a_practitioner_but_not_its_manager(
    page: Page,
    population: Population,
) -> None:
    kid = _shielded_kid(population)
    sign_in_by_cookie(page, population, new_user(population, Role.PRACTITIONER))
    page.goto(f"/children/{kid.identifier}")
    expect(page.locator("#shielded-notice")).to_contain_text(
        "Shielded: contact the local authority management team"
    )
    expect(page.locator("#child-address")).to_have_text("Withheld (shielded)")
    assert kid.postcode not in page.content()
    assert_no_axe_violations(page)
    screenshot(page, "shielded-record")
    page.context.clear_cookies()
    manager = new_user(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in_by_cookie(page, population, manager)
    page.goto(f"/children/{kid.identifier}")
    expect(page.locator("#child-address")).to_contain_text(kid.postcode)
    expect(page.locator("#shielded-notice")).to_have_count(0)


def test_a_manager_shields_and_unshields_a_child_with_a_reason(
    page: Page,
    population: Population,
) -> None:
    kid = next(k for k in reversed(population.kids) if not k.shielded and k.status == "active")
    manager = new_user(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in_by_cookie(page, population, manager)
    page.goto(f"/children/{kid.identifier}")
    page.get_by_role("link", name="Manage the shield").click()
    page.get_by_role("button", name="Apply the shield").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason")
    assert_no_axe_violations(page)
    page.get_by_label("Reason", exact=True).fill("Risk of harm from a relative")
    page.get_by_role("button", name="Apply the shield").click()
    expect(page.get_by_text("The child is shielded.")).to_be_visible()
    expect(page.locator("#shield-tag")).to_contain_text("Shielded")
    page.get_by_role("link", name="Manage the shield").click()
    # Who applied it, when and why, and the history; removal is asked again.
    expect(page.locator("#shield-summary")).to_contain_text("Risk of harm from a relative")
    expect(page.locator("#shield-summary")).to_contain_text(manager.username)
    expect(page.locator("#shield-history")).to_contain_text("In force")
    assert_no_axe_violations(page)
    screenshot(page, "shield-details")
    page.get_by_label("Reason", exact=True).fill("Risk has passed, confirmed")
    page.get_by_role("button", name="Remove the shield").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Are you sure you want to remove the shield?"
    )
    assert_no_axe_violations(page)
    screenshot(page, "shield-remove-confirm")
    # "No" keeps it; then "Yes" by keyboard alone removes it.
    page.get_by_role("link", name="No, keep the shield").click()
    expect(page.locator("#shield-summary")).to_be_visible()
    page.get_by_label("Reason", exact=True).fill("Risk has passed, confirmed")
    page.get_by_role("button", name="Remove the shield").click()
    tab_to(page, page.get_by_role("button", name="Yes, remove the shield"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("The shield is removed.")).to_be_visible()
    page.get_by_role("link", name="Manage the shield").click()
    expect(page.locator("#shield-history")).to_contain_text("Risk has passed, confirmed")


def test_a_form_post_without_the_csrf_token_is_refused(
    page: Page,
    population: Population,
) -> None:
    sign_in_by_cookie(page, population, new_user(population, Role.PRACTITIONER))
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
    account = new_user(population, Role.PRACTITIONER)
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


_WITH_LEAD = """
SELECT c.identifier FROM child c
WHERE c.status = 'active'
  AND NOT EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id AND s.removed_at IS NULL)
  AND EXISTS (SELECT 1 FROM involvement i JOIN organisation o ON o.id = i.organisation_id
              WHERE i.child_id = c.id AND i.lead_professional AND i.end_date IS NULL
                AND NOT i.sensitive)
  AND (SELECT count(*) FROM involvement i WHERE i.child_id = c.id) >= 2
ORDER BY c.identifier LIMIT 1
"""


def test_the_record_leads_with_who_to_contact_first(
    page: Page,
    population: Population,
) -> None:
    from sqlalchemy import text

    with population.engine.connect() as connection:
        identifier = connection.execute(text(_WITH_LEAD)).scalar_one()
    sign_in_by_cookie(page, population, new_user(population, Role.PRACTITIONER))
    page.goto(f"/children/{identifier}")
    headings = page.locator("main h2.govuk-heading-m").all_inner_texts()
    order = ["Who to contact first", "Services working with the child", "School and GP"]
    assert [h for h in headings if h in order + ["Parents and carers"]] == [
        *order,
        "Parents and carers",
    ]
    lead = page.locator("#contact-first + .govuk-summary-card")
    expect(lead).to_contain_text("Lead professional")
    assert_no_axe_violations(page)
    screenshot(page, "record-order")


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.LA_MANAGER, Role.AUDITOR, Role.ADMIN])
def test_the_help_page_of_each_role_is_reached_from_the_navigation(
    page: Page,
    population: Population,
    role: Role,
) -> None:
    sign_in_by_cookie(page, population, new_user(population, role))
    page.goto("/")
    page.locator("#navigation").get_by_role("link", name="Help").click()
    expect(page.get_by_role("heading", level=1, name="Help")).to_be_visible()
    expect(page.locator("#who-to-call")).to_be_visible()
    assert_no_axe_violations(page)
    if role is Role.LA_MANAGER:
        screenshot(page, "help-manager")


def test_the_inbox_tells_a_practitioner_who_else_started_working_with_their_child(
    page: Page,
    population: Population,
    base_url: str,
) -> None:
    working = working_practitioner(population.engine, offset=7)
    username = user_with_email(
        population.engine,
        population.settings,
        email=working.email,
        authorities=frozenset({working.authority}),
    )
    writer = Writer(population.engine, population.settings, authority=working.authority)
    with httpx.Client(base_url=base_url) as client:
        assert writer.start(client, working.identifier).status_code == 201
    token = session_token(population.engine, username)
    page.goto("/sign-in")
    page.context.add_cookies([{"name": "cp_session", "value": token, "url": page.url}])
    page.goto("/search")
    inbox = page.locator("#navigation").get_by_role("link", name="Inbox (1)")
    expect(inbox).to_be_visible()
    inbox.click()
    notice = page.locator("#notices li").first
    expect(notice).to_contain_text("Someone new is working with this child")
    expect(notice).to_contain_text("Nia Adeyemi")
    assert_no_axe_violations(page)
    screenshot(page, "inbox")
