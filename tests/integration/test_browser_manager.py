"""The managers' pages in a real browser: consent, named practitioners and break-glass.

Every page visited is checked with axe-core, and the browser must report no breach of the
Content-Security-Policy (each breach is logged to the console by a listener the tests install).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import text

from db.access import Role
from feeds import Source
from feeds.linking import Outcome
from tests.integration.access_support import fast_settings, new_account, new_authority
from tests.integration.browser_support import (
    assert_no_axe_violations,
    new_user,
    screenshot,
    sign_in_by_cookie,
)
from tests.integration.feeds_support import CENSUS_HEADER, census_row, import_file
from tests.integration.search_support import Kid, Population

pytestmark = pytest.mark.integration

# Installed before any page script: the browser fires this event for each refused resource.
_REPORT_POLICY_BREACHES = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@dataclass
class Console:
    """What the browser reported while a test ran."""

    errors: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def policy_breaches(self) -> list[str]:
        return [
            message
            for message in self.errors
            if message.startswith("CSP violation") or "Content Security Policy" in message
        ]


@pytest.fixture
def console(page: Page) -> Iterator[Console]:
    seen = Console()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.script_errors.append(str(error)))
    page.add_init_script(_REPORT_POLICY_BREACHES)
    yield seen


def _checked(page: Page, console: Console, name: str) -> None:
    """axe-core finds nothing, no policy breach or script error so far, and a screenshot."""
    assert_no_axe_violations(page)
    assert console.policy_breaches() == [], console.policy_breaches()
    assert console.script_errors == []
    screenshot(page, name)


_SENSITIVE = """
SELECT c.identifier, i.id FROM involvement i JOIN child c ON c.id = i.child_id
JOIN organisation o ON o.id = i.organisation_id
WHERE o.kind IN ('sexual_health', 'mental_health', 'substance_misuse')
  AND i.consent_recorded_at IS NULL AND i.override_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id AND s.removed_at IS NULL)
ORDER BY i.id LIMIT 1
"""


def _shielded(pop: Population, index: int) -> Kid:
    return [kid for kid in pop.kids if kid.shielded and kid.status == "active"][index]


def test_the_policy_is_enforced_and_a_breach_would_be_reported(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    sign_in_by_cookie(page, population, new_user(population, Role.PRACTITIONER))
    page.goto("/search")
    assert console.policy_breaches() == []
    with page.expect_console_message(lambda m: m.text.startswith("CSP violation")) as breach:
        page.evaluate("document.body.setAttribute('style', 'background: red')")
    assert "style-src" in breach.value.text
    # The GOV.UK Frontend script ran under the policy.
    expect(page.locator("body.js-enabled.govuk-frontend-supported")).to_have_count(1)


def test_a_manager_records_consent_for_a_sensitive_service(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    with population.engine.connect() as connection:
        identifier, involvement_id = connection.execute(text(_SENSITIVE)).one()
    kid = next(kid for kid in population.kids if kid.identifier == identifier)
    manager = new_user(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in_by_cookie(page, population, manager)
    page.goto(f"/children/{identifier}")
    path = f"/children/{identifier}/involvements/{involvement_id}/consent"
    page.locator(f"a[href='{path}']").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("to practitioners")
    expect(page.locator("#consent-status")).to_contain_text("Not recorded")
    _checked(page, console, "consent")
    page.get_by_role("button", name="Record consent").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter who gave consent")
    _checked(page, console, "consent-error")
    page.get_by_label("Who gave consent").fill("Jordan Leech (the young person)")
    page.get_by_role("button", name="Record consent").click()
    expect(
        page.get_by_text("Consent is recorded: practitioners now see this service.")
    ).to_be_visible()
    expect(page.locator(".cp-service").filter(has_text="Yes, consent is recorded")).to_have_count(1)
    _checked(page, console, "consent-recorded")


def test_a_manager_names_a_practitioner_then_removes_them(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    kid = _shielded(population, 0)
    manager = new_user(population, Role.LA_MANAGER, authorities=(kid.authority,))
    practitioner = new_user(population, Role.PRACTITIONER)
    sign_in_by_cookie(page, population, manager)
    page.goto(f"/children/{kid.identifier}")
    page.get_by_role("link", name="Manage the shield").click()
    expect(page.get_by_text("No practitioners are named for this child.")).to_be_visible()
    _checked(page, console, "shield-none-named")
    page.get_by_label("Username of the practitioner").fill(practitioner.username)
    page.get_by_role("button", name="Name the practitioner").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason")
    _checked(page, console, "shield-name-error")
    page.get_by_label("Reason for naming them").fill("Allocated social worker")
    page.get_by_role("button", name="Name the practitioner").click()
    expect(page.get_by_text("The practitioner is named")).to_be_visible()
    expect(page.locator("#named-table")).to_contain_text(practitioner.username)
    _checked(page, console, "shield-named")
    page.get_by_label(practitioner.username, exact=True).check()
    page.get_by_label("Reason for removing").fill("Case closed")
    page.get_by_role("button", name="Remove the practitioner").click()
    expect(page.get_by_text("The practitioner is no longer named for this child.")).to_be_visible()
    expect(page.locator("#named-table")).to_have_count(0)
    _checked(page, console, "shield-un-named")


def test_a_child_protection_practitioner_of_another_authority_breaks_glass_on_a_shielded_record(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    kid = _shielded(population, 1)
    elsewhere = (new_authority(population.engine),)
    protector = new_account(
        population.engine,
        fast_settings(population.settings),
        roles=(Role.PRACTITIONER,),
        authorities=elsewhere,
        child_protection=True,
    )
    sign_in_by_cookie(page, population, protector)
    page.goto(f"/children/{kid.identifier}")
    expect(page.locator("#child-address")).to_have_text("Withheld (shielded)")
    _checked(page, console, "break-glass-offered")
    page.get_by_role("link", name="See the location (child-protection override)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "See the location (child-protection override)"
    )
    _checked(page, console, "break-glass-form")
    page.get_by_label("Reason", exact=True).fill("abc")
    page.get_by_role("button", name="See the location").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("in at least 10 letters or digits")
    _checked(page, console, "break-glass-error")
    page.get_by_label("Reason", exact=True).fill("Child missing, police request")
    page.get_by_role("button", name="See the location").click()
    expect(page.locator("#child-address")).to_contain_text(kid.postcode)
    expect(page.get_by_text("This view is recorded with your reason.")).to_be_visible()
    assert "break-glass" in page.url and "reason" not in page.url
    _checked(page, console, "break-glass-record")
    page.goto(f"/children/{kid.identifier}")
    expect(page.locator("#child-address")).to_have_text("Withheld (shielded)")


def test_a_manager_reviews_a_break_glass_from_their_home_page(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    kid = _shielded(population, 3)
    protector = new_account(
        population.engine,
        fast_settings(population.settings),
        roles=(Role.PRACTITIONER,),
        authorities=(new_authority(population.engine),),
        child_protection=True,
    )
    sign_in_by_cookie(page, population, protector)
    page.goto(f"/children/{kid.identifier}/break-glass")
    page.get_by_label("Reason", exact=True).fill("Child missing, police request")
    page.get_by_role("button", name="See the location").click()
    expect(page.locator("#child-address")).to_contain_text(kid.postcode)
    page.context.clear_cookies()
    manager = new_user(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in_by_cookie(page, population, manager)
    page.goto("/")
    row = page.locator("#reviews tbody tr", has_text=protector.username)
    expect(row).to_contain_text(kid.identifier)
    expect(row).to_contain_text("Child missing, police request")
    _checked(page, console, "break-glass-to-review")
    row.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review a break glass")
    _checked(page, console, "break-glass-review")
    page.get_by_label("Justified").check()
    page.get_by_label("Why").fill("ok")
    page.get_by_role("button", name="Record the outcome").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("10 letters or digits")
    _checked(page, console, "break-glass-review-error")
    page.get_by_label("Why").fill("Police request confirmed with the duty officer")
    page.get_by_role("button", name="Record the outcome").click()
    expect(page.get_by_text("The review is recorded.")).to_be_visible()
    expect(page.locator("#reviews tbody tr", has_text=protector.username)).to_have_count(0)


def test_a_manager_works_through_the_review_queue_by_keyboard(
    page: Page,
    console: Console,
    population: Population,
    tmp_path: Path,
) -> None:
    kid = next(
        k
        for k in population.unique(
            lambda k: (k.family_name, k.date_of_birth),
            where=lambda k: not k.shielded and k.status == "active" and bool(k.authority),
        )
    )
    held = _shielded(population, 1)
    # A sibling (another given name, the rest the same) and a record that may be a shielded
    # child: one for the authority's queue, one held for the shielded child's.
    path = tmp_path / "census.csv"
    path.write_text(
        CENSUS_HEADER
        + census_row(kid, "R213012326008", forename="Zebedee")
        + census_row(held, "F213012326009", postcode="ZE1 0AA")
    )
    result = import_file(population, Source.SCHOOL_CENSUS, path)
    assert [outcome for *_, outcome, _ in result.decisions] == [Outcome.REVIEW, Outcome.HELD]
    authorities = tuple(sorted({kid.authority, held.authority}))
    manager = new_user(population, Role.LA_MANAGER, authorities=authorities)
    sign_in_by_cookie(page, population, manager)
    page.goto("/")
    page.get_by_role("link", name="Records to review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Records to review")
    expect(page.locator("#queue-age")).to_contain_text("waiting")
    expect(page.locator("#feed-reviews")).to_contain_text("May be a shielded child")
    _checked(page, console, "feed-review-queue")

    page.get_by_role("link", name=f"Zebedee {kid.family_name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Is this one of these children?")
    expect(page.locator("#compare")).to_contain_text("Disagrees")
    _checked(page, console, "feed-review-item")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select whether the record")
    _checked(page, console, "feed-review-error")
    # By keyboard: the first candidate's radio, Space to choose it, Enter to send the form.
    page.locator(f"input[value='same:{kid.identifier}']").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The record is linked to the child.")).to_be_visible()
    _checked(page, console, "feed-review-decided")

    page.get_by_role("link", name=f"{held.given_names.split()[0]} {held.family_name}").click()
    expect(page.locator(".govuk-warning-text")).to_contain_text("may be a shielded child")
    _checked(page, console, "feed-review-held")
    page.get_by_label("A new child, none of these").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("A new child was created from the record.")).to_be_visible()


def test_a_manager_lists_and_filters_their_shielded_children(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    kid = _shielded(population, 2)
    manager = new_user(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in_by_cookie(page, population, manager)
    page.goto("/")
    page.get_by_role("link", name="Shielded children").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Shielded children")
    expect(page.locator("#shields")).to_contain_text(kid.family_name)
    _checked(page, console, "shield-list")
    page.get_by_label("Name starts with").fill(kid.family_name[:4])
    page.get_by_label("Name starts with").press("Enter")
    expect(page.locator("#shields-caption")).to_contain_text(f"starts with “{kid.family_name[:4]}”")
    expect(page.locator("#shields")).to_contain_text(kid.family_name)
    _checked(page, console, "shield-list-filtered")
    page.get_by_role("link", name=f"{kid.given_names} {kid.family_name}").first.click()
    expect(page.locator("#shield-summary")).to_be_visible()


def _unshielded(pop: Population, index: int) -> Kid:
    kids = [k for k in pop.kids if not k.shielded and k.status == "active" and k.authority]
    return kids[-1 - index]


def test_a_practitioners_shield_request_reaches_a_manager_and_the_outcome_comes_back(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    kid = _unshielded(population, 0)
    practitioner = new_user(population, Role.PRACTITIONER)
    manager = new_user(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in_by_cookie(page, population, practitioner)
    page.goto(f"/children/{kid.identifier}")
    page.get_by_role("link", name="Ask for this child to be shielded").click()
    _checked(page, console, "shield-request-form")
    # Keyboard only: type the reason, Tab to the button, Enter.
    page.get_by_label("Why").focus()
    page.keyboard.type("Mother fled domestic abuse; father must not find them")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(
        page.get_by_text("Your request is sent to the child's local authority team")
    ).to_be_visible()
    expect(page.locator("#my-shield-requests")).to_contain_text("Waiting")
    _checked(page, console, "my-requests-waiting")

    sign_in_by_cookie(page, population, manager)
    page.goto("/")
    expect(page.locator("#shield-requests")).to_contain_text(kid.family_name)
    _checked(page, console, "request-queues")
    page.locator("#shield-requests").get_by_role("link", name="Decide").first.click()
    _checked(page, console, "shield-request-decide")
    page.get_by_label("Apply the shield").focus()
    page.keyboard.press("Space")
    page.get_by_label("Reason").focus()
    page.keyboard.type("Risk confirmed with the social worker")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The shield request is decided")).to_be_visible()

    sign_in_by_cookie(page, population, practitioner)
    page.goto("/requests")
    expect(page.locator("#my-shield-requests")).to_contain_text("Shield applied")
    expect(page.locator("#my-shield-requests")).to_contain_text(
        "Risk confirmed with the social worker"
    )
    _checked(page, console, "my-requests-decided")


def test_a_brokering_request_goes_from_open_to_brokered_with_the_time_recorded(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    kid = _shielded(population, 3)
    practitioner = new_user(population, Role.PRACTITIONER)
    manager = new_user(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in_by_cookie(page, population, practitioner)
    page.goto(f"/children/{kid.identifier}")
    page.get_by_role("link", name="Ask the team to put you in touch").first.click()
    _checked(page, console, "contact-request-form")
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason")
    expect(page.locator(".govuk-error-summary")).to_contain_text("how the team can reach you")
    _checked(page, console, "contact-request-error")
    page.get_by_label("Why you need to be in touch").fill("Safeguarding referral, need their view")
    page.get_by_label("How the team can reach you").fill("07700 900123, weekdays")
    page.get_by_label("How the team can reach you").press("Enter")
    expect(page.locator("#my-contact-requests")).to_contain_text("Waiting")

    sign_in_by_cookie(page, population, manager)
    page.goto("/")
    expect(page.locator("#contact-requests")).to_contain_text(kid.family_name)
    page.locator("#contact-requests").get_by_role("link", name="Broker").first.click()
    expect(page.locator("#request-summary")).to_contain_text("07700 900123")
    _checked(page, console, "contact-request-decide")
    # Keyboard only: Space on the choice, type the note, Tab to the button, Enter.
    page.get_by_label("Contact brokered").focus()
    page.keyboard.press("Space")
    page.get_by_label("Note for the practitioner").focus()
    page.keyboard.type("Put you in touch with the social worker")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The request is recorded")).to_be_visible()
    page.goto("/reports/brokering")
    expect(page.locator("#brokering-report")).to_contain_text("hours")
    _checked(page, console, "brokering-report")

    sign_in_by_cookie(page, population, practitioner)
    page.goto("/requests")
    row = page.locator("#my-contact-requests tbody tr").first
    expect(row).to_contain_text("Contact brokered")
    expect(row).to_contain_text(manager.username)
    with population.engine.connect() as connection:
        decided_at = connection.execute(
            text(
                "SELECT decided_at FROM contact_request r JOIN child c ON c.id = r.child_id"
                " WHERE c.identifier = :i AND r.outcome = 'brokered'"
            ),
            {"i": kid.identifier},
        ).scalar_one()
    assert decided_at is not None


def test_a_manager_corrects_an_address_and_reads_the_history_on_the_record(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    kid = _unshielded(population, 3)
    manager = new_user(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in_by_cookie(page, population, manager)
    page.goto(f"/children/{kid.identifier}")
    expect(page.locator("#no-corrections")).to_be_visible()
    expect(page.locator("#subject-access-links")).to_contain_text("Download the report (PDF)")
    page.locator("#correct-links").get_by_role("link", name="the address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Correct the address")
    _checked(page, console, "correction-form")
    page.get_by_label("Postcode").fill("NOT A POSTCODE")
    page.get_by_role("button", name="Correct the address").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a real UK postcode")
    expect(summary).to_contain_text("at least")
    _checked(page, console, "correction-form-error")
    page.get_by_label("Address line 1", exact=True).fill("14 Corrected Terrace")
    page.get_by_label("Postcode").fill("LS6 2AB")
    page.get_by_label("Why the record is wrong").fill("The family showed us a council tax bill")
    page.get_by_role("button", name="Correct the address").click()
    expect(page.get_by_text("The correction is recorded")).to_be_visible()
    expect(page.locator("#corrections")).to_contain_text("14 Corrected Terrace")
    expect(page.locator("#corrections")).to_contain_text(kid.address_lines[0])
    expect(page.locator("#child-address")).to_contain_text("14 Corrected Terrace")
    _checked(page, console, "record-corrections")


def test_an_archivist_opens_an_archived_record_with_a_reason(
    page: Page,
    console: Console,
    population: Population,
) -> None:
    archived = next(kid for kid in population.kids if kid.status == "archived")
    archivist = new_account(
        population.engine,
        fast_settings(population.settings),
        roles=(Role.LA_MANAGER,),
        authorities=(new_authority(population.engine),),
        archive_access=True,
    )
    sign_in_by_cookie(page, population, archivist)
    page.goto("/search")
    page.get_by_role("link", name="Archive", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open an archived record")
    _checked(page, console, "archive-form")
    page.get_by_label("The child's identifier").fill(archived.identifier)
    page.get_by_label("Legal proceedings: a court order, or the rules of court").check()
    page.get_by_role("button", name="Open the archived record").click()
    expect(page.locator("#words-error")).to_contain_text("at least 10 letters or digits")
    _checked(page, console, "archive-form-error")
    page.get_by_label("In your words").fill("Family court order FD26P00123, disclosure")
    page.get_by_role("button", name="Open the archived record").click()
    expect(page.locator("#archived-tag")).to_have_text("Archived")
    expect(page.locator("#archive-notice")).to_contain_text("Legal proceedings")
    expect(page.get_by_role("heading", level=1)).to_contain_text(archived.family_name)
    _checked(page, console, "archive-record")
