"""The auditors' and administrators' pages in a real browser (Debian's Chromium via Playwright).

Signs in with the three factors, filters the audit, opens the misuse report, creates an
account and a CMS client; runs axe-core on every page and saves full-page screenshots. No
children are needed, so the app runs over the bare test database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine, text

from contactpoint.settings import Settings
from db.access import Role, VettingChange, VettingRules
from db.access.vetting import add_years
from tests.integration.access_support import (
    PASSWORD,
    PIN,
    Account,
    fast_settings,
    new_account,
    new_authority,
    unique,
)
from tests.integration.browser_support import (
    assert_no_axe_violations,
    fill_sign_in,
    screenshot,
    serve,
    tab_to,
)

pytestmark = pytest.mark.integration

CHILD = "9434765919"


@pytest.fixture(scope="module")
def base_url(engine: Engine, settings: Settings) -> Iterator[str]:
    """The real app under uvicorn, over the migrated test database."""
    yield from serve(settings)


def _account(engine: Engine, settings: Settings, role: Role) -> Account:
    authorities = [new_authority(engine)] if role is Role.LA_MANAGER else []
    return new_account(engine, fast_settings(settings), roles=[role], authorities=authorities)


def _nav(page: Page, name: str) -> Locator:
    """A link of the service navigation."""
    return page.get_by_role("navigation", name="Menu").get_by_role("link", name=name, exact=True)


def _audit(engine: Engine, *, username: str, event: str, details: dict[str, object]) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_event (occurred_at, event, outcome, username, authorities, "
                "subject, request_id, details) VALUES (:at, :event, 'success', :username, "
                "ARRAY['E08000035'], :subject, :request_id, CAST(:details AS jsonb))"
            ),
            {
                "at": datetime.now(UTC),
                "event": event,
                "username": username,
                "subject": CHILD if event == "view" else None,
                "request_id": unique("req"),
                "details": json.dumps(details),
            },
        )


def test_an_auditor_filters_the_audit_and_reads_the_misuse_report(
    page: Page,
    engine: Engine,
    settings: Settings,
) -> None:
    actor = unique("amara.okafor")
    search = {
        "criteria": {"family_name": "Okafor", "given_name": "Bill", "birth_year": 2019},
        "result_count": 1,
        "identifiers_shown": [CHILD],
    }
    view = {
        "identifier": CHILD,
        "shown_fields": ["name", "date_of_birth", "address"],
        "withheld_fields": [],
        "shielded": True,
        "sensitive": False,
        "break_glass": True,
        "reason": "Section 47 enquiry",
    }
    _audit(engine, username=actor, event="search", details=search)
    _audit(engine, username=actor, event="view", details=view)
    fill_sign_in(page, _account(engine, settings, Role.AUDITOR))
    expect(page.get_by_role("link", name="Read the audit")).to_be_visible()
    expect(_nav(page, "Search")).to_have_count(0)
    assert_no_axe_violations(page)
    screenshot(page, "home-auditor")

    _nav(page, "Audit").click()
    expect(page.get_by_role("heading", name="Audit", exact=True)).to_be_visible()
    assert_no_axe_violations(page)
    page.get_by_label("Username", exact=True).fill(actor)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-table tbody tr")).to_have_count(2)
    page.get_by_label("Event", exact=True).select_option(label="Record view")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Break-glass")
    expect(rows.first).to_contain_text("Section 47 enquiry")
    assert_no_axe_violations(page)
    screenshot(page, "audit", focus="#results")
    # On a phone the username and the time stay whole: the table scrolls within its region.
    page.set_viewport_size({"width": 320, "height": 800})
    lines = "c => { const r = document.createRange(); r.selectNodeContents(c); "
    lines += "return r.getClientRects().length; }"
    for cell in rows.first.locator("td").all()[:2]:
        assert cell.evaluate(lines) == 1, cell.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_label("From", exact=True).fill("31/2/2025")
    page.get_by_role("button", name="Filter").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the from date as a real date")
    summary.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "from"
    assert_no_axe_violations(page)
    screenshot(page, "audit-error")

    _nav(page, "Misuse report").click()
    flagged = page.locator("#sensitive-views tbody tr", has_text=actor)
    expect(flagged).to_contain_text(CHILD)
    assert_no_axe_violations(page)
    screenshot(page, "misuse-report", focus="#sensitive-views-heading")


def test_an_admin_creates_an_account_and_a_cms_client(
    page: Page,
    engine: Engine,
    settings: Settings,
) -> None:
    authority = new_authority(engine)
    fill_sign_in(page, _account(engine, settings, Role.ADMIN))
    expect(_nav(page, "Search")).to_have_count(0)
    _nav(page, "Users").click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    assert_no_axe_violations(page)

    page.get_by_role("button", name="Create the account").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    assert_no_axe_violations(page)
    username = unique("new.practitioner")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("Practitioner", exact=True).check()
    page.get_by_label("Local authorities", exact=True).fill(authority)
    page.get_by_label("Organisation (optional)").fill("Leeds Health Visiting")
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_role("heading", name="Account created")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    assert len(secret) >= 16
    assert_no_axe_violations(page)
    screenshot(page, "admin-user-created")

    page.goto(f"/admin/users?q={username}")
    expect(page.locator("#users-table")).to_contain_text(username)
    assert secret not in page.content()
    page.get_by_role("button", name=f"Suspend {username}").click()
    expect(
        page.get_by_role("heading", name=f"Are you sure you want to suspend {username}?")
    ).to_be_visible()
    assert_no_axe_violations(page)
    screenshot(page, "admin-suspend-confirm")
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator("#users-table")).to_contain_text("Active")
    page.get_by_role("button", name=f"Suspend {username}").click()
    tab_to(page, page.get_by_role("button", name="Yes, suspend"))  # by keyboard alone
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"{username} is suspended")).to_be_visible()
    assert_no_axe_violations(page)
    screenshot(page, "admin-users")

    _nav(page, "CMS clients").click()
    assert_no_axe_violations(page)
    name = unique("Leeds CMS")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Local authority", exact=True).fill(authority)
    page.get_by_role("button", name="Register the client").click()
    expect(page.get_by_role("heading", name="Client registered")).to_be_visible()
    key = page.locator("#api-key").inner_text()
    assert key.startswith("cpk_")
    assert_no_axe_violations(page)
    screenshot(page, "admin-client-created")

    page.goto(f"/admin/clients?q={name}")
    assert key not in page.content()
    page.get_by_role("button", name=f"Revoke the key of {name}").click()
    expect(
        page.get_by_role("heading", name=f"Are you sure you want to revoke the key of {name}?")
    ).to_be_visible()
    assert_no_axe_violations(page)
    tab_to(page, page.get_by_role("button", name="Yes, revoke the key"))
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"The key of {name} is revoked")).to_be_visible()
    expect(page.locator("#clients-table")).to_contain_text("Revoked")
    assert_no_axe_violations(page)
    screenshot(page, "admin-clients")


def test_an_admin_sees_who_lapsed_and_records_a_renewed_check(
    page: Page,
    engine: Engine,
    settings: Settings,
) -> None:
    fast = fast_settings(settings)
    today = VettingRules.from_settings(settings).today(datetime.now(UTC))
    old = add_years(today, -3) - timedelta(days=20)
    lapsed = new_account(
        engine,
        fast,
        roles=[Role.PRACTITIONER],
        authorities=[new_authority(engine)],
        vetting=VettingChange(
            identity_checked_by="Jo Bloggs, HR officer",
            identity_checked_on=old,
            dbs_checked_on=old,
            training_completed_on=old,
        ),
    )
    # The person is told what lapsed, and whom to ask.
    fill_sign_in(page, lapsed)
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("is more than 3 years old")
    expect(summary).to_contain_text(f"ask {settings.vetting_contact}")
    assert_no_axe_violations(page)
    screenshot(page, "sign-in-vetting-lapsed")

    fill_sign_in(page, _account(engine, settings, Role.ADMIN))
    _nav(page, "Users").click()
    page.get_by_role("link", name="Vetting: who has lapsed, or lapses soon").click()
    expect(page.get_by_role("heading", name="Vetting", exact=True)).to_be_visible()
    row = page.locator("#vetting-table tbody tr", has_text=lapsed.username)
    expect(row).to_contain_text("Not current")
    expect(row).to_contain_text("DBS check lapsed")
    assert_no_axe_violations(page)
    screenshot(page, "admin-vetting", focus="#vetting-table")
    page.get_by_label("Show the checks that lapse within this many days").fill("soon")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("whole number")
    assert_no_axe_violations(page)

    page.goto("/admin/users/vetting")
    page.get_by_role("link", name=f"Record vetting of {lapsed.username}").click()
    expect(page.get_by_role("heading", name="Record vetting")).to_be_visible()
    assert_no_axe_violations(page)
    dbs = page.get_by_label("Date of the enhanced DBS check")
    dbs.fill("31/2/2026")
    page.get_by_role("button", name="Record vetting").click()
    errors = page.locator(".govuk-error-summary")
    expect(errors).to_contain_text("Enter the date of the DBS check as a real date")
    errors.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "dbs_checked_on"
    assert_no_axe_violations(page)
    screenshot(page, "admin-vetting-record-error")
    dbs.fill(f"{today.day}/{today.month}/{today.year}")
    page.get_by_role("button", name="Record vetting").click()
    expect(
        page.get_by_text(f"Vetting of {lapsed.username} recorded: it is current.")
    ).to_be_visible()
    expect(page.locator("#vetting-table tbody tr", has_text=lapsed.username)).to_have_count(0)
    assert_no_axe_violations(page)
