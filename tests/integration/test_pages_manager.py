"""The managers' pages without a browser: consent, named practitioners, break-glass, headers, 503.

Real PostgreSQL and Elasticsearch with the demo population; targets are picked by rule.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import text
from sqlalchemy.orm import Session

from contactpoint.es_client import make_client
from db.access import Role
from db.audit import MisuseRules, misuse_report
from mappings.normalise import normalise_postcode
from tests.integration.access_support import (
    bearer,
    build_client,
    fast_settings,
    new_authority,
    session_token,
)
from tests.integration.pages_support import (
    HTML,
    new_username,
    post_form,
    search_form,
    sensitive_involvement,
    sign_in,
)
from tests.integration.search_support import Kid, Population, audit_rows

pytestmark = pytest.mark.integration

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
CSRF_REFUSAL = "did not come from this service"


def _shielded(pop: Population, index: int = 0) -> Kid:
    return [kid for kid in pop.kids if kid.shielded and kid.status == "active"][index]


def test_a_manager_records_consent_and_a_practitioner_then_sees_the_service(
    pages: TestClient,
    population: Population,
) -> None:
    kid, involvement_id, service = sensitive_involvement(population, 0)
    practitioner = new_username(population, Role.PRACTITIONER)
    sign_in(pages, population, practitioner)
    before = pages.get(f"/children/{kid.identifier}", headers=HTML)
    assert "Sensitive service" in before.text and service not in before.text
    assert "/consent" not in before.text
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    token = sign_in(pages, population, manager)
    record = pages.get(f"/children/{kid.identifier}", headers=HTML).text
    path = f"/children/{kid.identifier}/involvements/{involvement_id}/consent"
    assert f'href="{path}"' in record and "No, shown as a sensitive service" in record
    form = pages.get(path, headers=HTML)
    assert form.status_code == 200 and f"Show {service} to practitioners" in form.text
    given_by = "Jordan Leech (the young person)"
    done = post_form(pages, path, token, given_by=given_by)
    assert done.status_code == 303
    assert done.headers["location"] == f"/children/{kid.identifier}?changed=consent"
    banner = pages.get(done.headers["location"], headers=HTML).text
    assert "Consent is recorded: practitioners now see this service." in banner
    assert "Yes, consent is recorded" in banner
    sign_in(pages, population, practitioner)
    after = pages.get(f"/children/{kid.identifier}", headers=HTML).text
    assert service in after
    (row,) = audit_rows(population.engine, username=manager, event="consent_recorded")
    assert row.subject == kid.identifier
    assert row.details["involvement_id"] == involvement_id
    assert row.details["given_by"] == given_by


def test_a_child_protection_override_with_its_reason_is_audited(
    pages: TestClient,
    population: Population,
) -> None:
    kid, involvement_id, service = sensitive_involvement(population, 1)
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    token = sign_in(pages, population, manager)
    path = f"/children/{kid.identifier}/involvements/{involvement_id}/override"
    reason = "Child protection conference needs every service"
    done = post_form(pages, path, token, reason=reason)
    assert done.status_code == 303
    assert done.headers["location"] == f"/children/{kid.identifier}?changed=override"
    (row,) = audit_rows(population.engine, username=manager, event="consent_override")
    assert row.details["reason"] == reason and row.details["involvement_id"] == involvement_id
    sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    assert service in pages.get(f"/children/{kid.identifier}", headers=HTML).text


def test_a_practitioner_or_another_authoritys_manager_is_refused_the_consent_pages(
    pages: TestClient,
    population: Population,
) -> None:
    kid, involvement_id, _ = sensitive_involvement(population, 2)
    base = f"/children/{kid.identifier}/involvements/{involvement_id}"
    practitioner = new_username(population, Role.PRACTITIONER)
    stranger = new_username(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    for username in (practitioner, stranger):
        token = sign_in(pages, population, username)
        assert pages.get(f"{base}/consent", headers=HTML).status_code == 403
        consent = post_form(pages, f"{base}/consent", token, given_by="Jordan Leech")
        override = post_form(pages, f"{base}/override", token, reason="Child protection enquiry")
        assert consent.status_code == 403 and override.status_code == 403
        assert "You cannot do this" in consent.text
    with population.engine.connect() as connection:
        recorded = connection.execute(
            text("SELECT consent_recorded_at, override_at FROM involvement WHERE id = :id"),
            {"id": involvement_id},
        ).one()
    assert recorded == (None, None)


@pytest.mark.parametrize(
    ("action", "name", "value", "message"),
    [
        ("consent", "given_by", "", "Enter who gave consent, in at least 2 characters"),
        ("consent", "given_by", "J" * 201, "Who gave consent must be 200 characters or fewer"),
        ("override", "reason", "abc", "Enter the reason, in at least 10 letters or digits"),
        (
            "override",
            "reason",
            "\u200b" * 12,
            "Enter the reason, in at least 10 letters or digits",
        ),
        ("override", "reason", "x" * 201, "The reason must be 200 characters or fewer"),
    ],
    ids=["no-consenter", "long-consenter", "short-reason", "invisible-reason", "long-reason"],
)
def test_a_bad_consent_or_override_is_refused_with_the_error_tied_to_its_field(
    pages: TestClient,
    population: Population,
    action: str,
    name: str,
    value: str,
    message: str,
) -> None:
    kid, involvement_id, _ = sensitive_involvement(population, 3)
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    token = sign_in(pages, population, manager)
    path = f"/children/{kid.identifier}/involvements/{involvement_id}/{action}"
    refused = post_form(pages, path, token, **{name: value})
    assert refused.status_code == 400
    assert f'<a href="#{name}">{message}</a>' in refused.text
    assert f'id="{name}-error"' in refused.text
    for event in ("consent_recorded", "consent_override"):
        assert audit_rows(population.engine, username=manager, event=event) == []


def test_the_consent_page_of_a_service_that_is_not_sensitive_is_not_found(
    pages: TestClient,
    population: Population,
) -> None:
    with population.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT c.identifier, c.local_authority_code, i.id FROM involvement i"
                " JOIN child c ON c.id = i.child_id JOIN organisation o ON o.id = i.organisation_id"
                " WHERE o.kind = 'health_visiting' AND NOT o.sensitive AND NOT i.sensitive"
                " ORDER BY i.id LIMIT 1"
            )
        ).one()
    manager = new_username(population, Role.LA_MANAGER, authorities=(row.local_authority_code,))
    sign_in(pages, population, manager)
    page = pages.get(f"/children/{row.identifier}/involvements/{row.id}/consent", headers=HTML)
    assert page.status_code == 404 and "practitioners see it without consent" in page.text
    missing = pages.get(f"/children/{row.identifier}/involvements/999999999/consent", headers=HTML)
    assert missing.status_code == 404


def test_naming_a_practitioner_shows_them_the_location_and_removing_them_withholds_it(
    pages: TestClient,
    population: Population,
) -> None:
    kid = _shielded(population, 0)
    record = f"/children/{kid.identifier}"
    practitioner = new_username(population, Role.PRACTITIONER)
    sign_in(pages, population, practitioner)
    assert kid.postcode not in pages.get(record, headers=HTML).text
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    token = sign_in(pages, population, manager)
    shield = pages.get(f"{record}/shield", headers=HTML).text
    assert "No practitioners are named for this child." in shield
    named = post_form(
        pages,
        f"{record}/shield/access",
        token,
        name_username=practitioner,
        name_reason="Allocated social worker",
    )
    assert named.status_code == 303
    assert named.headers["location"] == f"{record}/shield?changed=named"
    listed = pages.get(named.headers["location"], headers=HTML).text
    assert "The practitioner is named" in listed
    assert f'<th scope="row" class="govuk-table__header">{practitioner}</th>' in listed
    sign_in(pages, population, practitioner)
    assert kid.postcode in pages.get(record, headers=HTML).text
    token = sign_in(pages, population, manager)
    removed = post_form(
        pages,
        f"{record}/shield/access/remove",
        token,
        remove_username=practitioner,
        remove_reason="Case closed",
    )
    assert removed.status_code == 303
    assert removed.headers["location"] == f"{record}/shield?changed=un-named"
    assert "No practitioners are named" in pages.get(removed.headers["location"], headers=HTML).text
    sign_in(pages, population, practitioner)
    assert kid.postcode not in pages.get(record, headers=HTML).text
    (granted,) = audit_rows(population.engine, username=manager, event="shield_access_granted")
    (revoked,) = audit_rows(population.engine, username=manager, event="shield_access_revoked")
    assert granted.details == {
        "identifier": kid.identifier,
        "username": practitioner,
        "reason": "Allocated social worker",
    }
    assert revoked.details["reason"] == "Case closed" and revoked.subject == kid.identifier


@pytest.mark.parametrize(
    ("action", "fields", "name", "message"),
    [
        (
            "access",
            {"name_username": "no-such-user-anywhere", "name_reason": "Allocated social worker"},
            "name_username",
            "There is no user &#39;no-such-user-anywhere&#39;.",
        ),
        (
            "access",
            {"name_username": "", "name_reason": "Allocated social worker"},
            "name_username",
            "Enter the username, in at least 3 characters",
        ),
        (
            "access",
            {"name_username": "someone", "name_reason": "abc"},
            "name_reason",
            "Enter the reason, in at least 10 letters or digits",
        ),
        (
            "access/remove",
            {"remove_reason": "Case closed"},
            "remove_username",
            "Select the practitioner to remove",
        ),
        (
            "access/remove",
            {"remove_username": "nobody-named", "remove_reason": "Case closed"},
            "remove_username",
            "nobody-named is not named for this child.",
        ),
    ],
    ids=["unknown-user", "no-username", "short-reason", "none-selected", "not-named"],
)
def test_naming_or_removing_with_bad_input_is_refused_with_the_error_tied_to_its_field(
    pages: TestClient,
    population: Population,
    action: str,
    fields: dict[str, str],
    name: str,
    message: str,
) -> None:
    kid = _shielded(population, 1)
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    token = sign_in(pages, population, manager)
    shield = f"/children/{kid.identifier}/shield"
    # Someone is named, so that the form to remove one is on the page.
    named = new_username(population, Role.PRACTITIONER)
    reason = "Allocated social worker"
    setup = post_form(pages, f"{shield}/access", token, name_username=named, name_reason=reason)
    assert setup.status_code == 303
    refused = post_form(pages, f"{shield}/{action}", token, **fields)
    assert refused.status_code == 400
    assert f'<a href="#{name}">{message}</a>' in refused.text
    assert f'id="{name}"' in refused.text and f'id="{name}-error"' in refused.text
    granted = audit_rows(population.engine, username=manager, event="shield_access_granted")
    assert [row.details["username"] for row in granted] == [named]
    assert audit_rows(population.engine, username=manager, event="shield_access_revoked") == []


def test_break_glass_shows_the_location_once_and_is_audited_and_reported(
    pages: TestClient,
    population: Population,
) -> None:
    kid = _shielded(population, 2)
    record = f"/children/{kid.identifier}"
    protector = new_username(population, Role.PRACTITIONER, child_protection=True)
    token = sign_in(pages, population, protector)
    withheld = pages.get(record, headers=HTML).text
    assert kid.postcode not in withheld
    assert f'href="{record}/break-glass">See the location (child-protection override)' in withheld
    form = pages.get(f"{record}/break-glass", headers=HTML)
    assert form.status_code == 200 and kid.postcode not in form.text
    reason = "Section 47 enquiry, child at immediate risk"
    shown = post_form(pages, f"{record}/break-glass", token, reason=reason)
    assert shown.status_code == 200 and kid.postcode in shown.text
    assert (
        "Child-protection override</strong> This view is recorded with your reason." in shown.text
    )
    again = pages.get(record, headers=HTML).text
    assert kid.postcode not in again and "Withheld (shielded)" in again
    glass, plain = audit_rows(population.engine, username=protector, event="view")[-2:]
    assert glass.details["break_glass"] is True and glass.details["reason"] == reason
    assert "address" in glass.details["shown_fields"]
    assert plain.details["break_glass"] is False and plain.details["reason"] is None
    with Session(population.engine) as session:
        now = datetime.now(UTC)
        report = misuse_report(
            session=session,
            since=now - timedelta(hours=1),
            until=now + timedelta(seconds=1),
            rules=MisuseRules(),
        )
    (flag,) = [f for f in report.sensitive_views if f.username == protector]
    assert flag.break_glass == 1 and kid.identifier in flag.identifiers


_PLAIN_SERVICES = """
SELECT o.name, la.team_phone FROM involvement i JOIN organisation o ON o.id = i.organisation_id
JOIN child c ON c.id = i.child_id JOIN local_authority la ON la.code = c.local_authority_code
WHERE c.identifier = :identifier AND NOT i.sensitive AND NOT o.sensitive
  AND o.kind NOT IN ('sexual_health', 'mental_health', 'substance_misuse')
"""


def test_a_shielded_childs_record_page_points_to_the_team_instead_of_contacts(
    pages: TestClient,
    population: Population,
) -> None:
    kid = next(
        k
        for k in population.kids
        if k.shielded and k.status == "active" and _plain_services(population, k)
    )
    services = _plain_services(population, kid)
    team_phone = services[0][1]
    record = f"/children/{kid.identifier}"
    sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    withheld = pages.get(record, headers=HTML).text
    assert "Contact through the local authority team: <a" in withheld
    assert str(escape(team_phone)) in withheld and "Service withheld (shielded)" in withheld
    assert not any(str(escape(name)) in withheld for name, _ in services)
    sign_in(
        pages, population, new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    )
    shown = pages.get(record, headers=HTML).text
    assert all(str(escape(name)) in shown for name, _ in services)
    assert "Contact through the local authority team" not in shown


def _plain_services(pop: Population, kid: Kid) -> list[tuple[str, str]]:
    with pop.engine.connect() as connection:
        rows = connection.execute(text(_PLAIN_SERVICES), {"identifier": kid.identifier}).all()
    return [(row.name, row.team_phone) for row in rows]


def test_a_manager_of_another_authority_may_not_break_glass_and_is_told_whom_to_call(
    pages: TestClient,
    population: Population,
) -> None:
    kid = _shielded(population, 2)
    manager = new_username(
        population, Role.LA_MANAGER, authorities=(new_authority(population.engine),)
    )
    token = sign_in(pages, population, manager)
    assert (
        "See the location (child-protection override)"
        not in pages.get(f"/children/{kid.identifier}", headers=HTML).text
    )
    refused = post_form(
        pages, f"/children/{kid.identifier}/break-glass", token, reason="Missing child"
    )
    assert refused.status_code == 403 and kid.postcode not in refused.text
    assert "local authority team" in refused.text


def test_a_child_protection_practitioner_of_another_authority_may_break_glass(
    pages: TestClient,
    population: Population,
) -> None:
    kid = _shielded(population, 2)
    elsewhere = (new_authority(population.engine),)
    protector = new_username(
        population, Role.PRACTITIONER, authorities=elsewhere, child_protection=True
    )
    token = sign_in(pages, population, protector)
    shown = post_form(
        pages, f"/children/{kid.identifier}/break-glass", token, reason="Missing child"
    )
    assert shown.status_code == 200 and kid.postcode in shown.text


def test_a_practitioner_without_break_glass_gets_no_link_and_is_refused(
    pages: TestClient,
    population: Population,
) -> None:
    kid = _shielded(population, 2)
    practitioner = new_username(population, Role.PRACTITIONER)
    token = sign_in(pages, population, practitioner)
    record = pages.get(f"/children/{kid.identifier}", headers=HTML).text
    assert "Withheld (shielded)" in record and "break-glass" not in record
    assert pages.get(f"/children/{kid.identifier}/break-glass", headers=HTML).status_code == 403
    refused = post_form(pages, f"/children/{kid.identifier}/break-glass", token, reason="Curious")
    assert refused.status_code == 403 and kid.postcode not in refused.text
    assert "child-protection capability" in refused.text
    views = audit_rows(population.engine, username=practitioner, event="view")
    assert [row.details["break_glass"] for row in views] == [False]
    denied = audit_rows(population.engine, username=practitioner, event="access_denied")
    assert [row.subject for row in denied] == [
        f"{method} /children/{kid.identifier}/break-glass" for method in ("GET", "POST")
    ]


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Enter the reason, in at least 10 letters or digits"),
        ("Curious", "Enter the reason, in at least 10 letters or digits"),
        ("\u200b" * 10, "Enter the reason, in at least 10 letters or digits"),
        ("\u00a0\u200b\u2028" * 10, "Enter the reason, in at least 10 letters or digits"),
        ("x" * 201, "The reason must be 200 characters or fewer"),
    ],
    ids=["missing", "short", "zero-width-spaces", "invisible-mixture", "long"],
)
def test_a_break_glass_without_a_proper_reason_is_refused_with_the_error_tied_to_its_field(
    pages: TestClient,
    population: Population,
    reason: str,
    message: str,
) -> None:
    kid = _shielded(population, 2)
    protector = new_username(population, Role.PRACTITIONER, child_protection=True)
    token = sign_in(pages, population, protector)
    refused = post_form(pages, f"/children/{kid.identifier}/break-glass", token, reason=reason)
    assert refused.status_code == 400 and kid.postcode not in refused.text
    assert (
        f'<a href="#reason">{message}</a>' in refused.text and 'id="reason-error"' in refused.text
    )
    assert audit_rows(population.engine, username=protector, event="view") == []


@pytest.mark.parametrize(
    "family_name",
    ["-", "*", "1234", "\U0001f600\U0001f600", "S"],
    ids=["hyphen", "star", "digits", "emoji", "one-letter"],
)
def test_the_search_page_refuses_a_family_name_without_two_letters(
    pages: TestClient,
    population: Population,
    family_name: str,
) -> None:
    token = sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    fields = {"family_name": family_name, "dob_day": "11", "dob_month": "4", "dob_year": "2015"}
    refused = search_form(pages, token, **fields)
    assert refused.status_code == 400 and "results-table" not in refused.text
    assert '<a href="#family_name">Enter the family name, in at least 2 letters</a>' in refused.text


def test_the_search_page_finds_a_child_by_given_name_full_date_of_birth_and_postcode(
    pages: TestClient,
    population: Population,
) -> None:
    kid = next(
        k
        for k in population.kids
        if not k.shielded and k.status == "active" and normalise_postcode(k.postcode)
    )
    token = sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    born = kid.date_of_birth
    fields = {
        "given_name": kid.given_names.split()[0],
        "dob_day": str(born.day),
        "dob_month": str(born.month),
        "dob_year": str(born.year),
        "postcode": kid.postcode,
    }
    found = search_form(pages, token, **fields)
    assert found.status_code == 200, found.text
    assert f'href="/children/{kid.identifier}?results=' in found.text
    without_postcode = search_form(pages, token, **{**fields, "postcode": ""})
    assert without_postcode.status_code == 400
    assert "a full postcode, like DD8 9AB" in without_postcode.text


def _unshielded_kid(population: Population) -> Kid:
    return next(
        k
        for k in population.kids
        if not k.shielded and k.status == "active" and normalise_postcode(k.postcode)
    )


def _kid_fields(kid: Kid) -> dict[str, str]:
    born = kid.date_of_birth
    return {
        "given_name": kid.given_names.split()[0],
        "family_name": kid.family_name,
        "dob_day": str(born.day),
        "dob_month": str(born.month),
        "dob_year": str(born.year),
    }


def test_a_search_is_sent_to_a_results_address_that_names_no_one_and_is_searched_again_when_shown(
    pages: TestClient,
    population: Population,
) -> None:
    kid = _unshielded_kid(population)
    username = new_username(population, Role.PRACTITIONER)
    token = sign_in(pages, population, username)
    fields = _kid_fields(kid)
    posted = post_form(pages, "/search", token, **fields)
    assert posted.status_code == 303
    location = posted.headers["location"]
    assert location.startswith("/search?results=") and location.endswith("#results")
    # Nothing typed is in the address (nor so in the history, logs or the Referer).
    assert all(typed.lower() not in location.lower() for typed in fields.values() if len(typed) > 2)
    address = location.split("#")[0]
    shown, again = pages.get(address, headers=HTML), pages.get(address, headers=HTML)
    for page in (shown, again):
        assert page.status_code == 200 and f'href="/children/{kid.identifier}?results=' in page.text
        # The form holds what was typed, for the next search.
        assert f'value="{escape(kid.family_name)}"' in page.text
    searches = audit_rows(population.engine, username=username, event="search")
    assert len(searches) == 2  # each showing is a search, audited
    record = pages.get(f"/children/{kid.identifier}?{address.split('?')[1]}", headers=HTML)
    assert f'href="{address}#results" class="govuk-back-link"' in record.text


def test_results_are_kept_for_their_session_only_and_forgotten_at_sign_out(
    pages: TestClient,
    population: Population,
) -> None:
    kid = _unshielded_kid(population)
    token = sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    location = post_form(pages, "/search", token, **_kid_fields(kid)).headers["location"]
    address = location.split("#")[0]
    # Another practitioner's session holding the same address gets no results and a notice.
    sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    other = pages.get(address, headers=HTML)
    assert other.status_code == 200 and 'id="forgotten"' in other.text
    assert kid.identifier not in other.text and "results-table" not in other.text
    # Its own session, signed out, forgets them.
    owner = sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    mine = post_form(pages, "/search", owner, **_kid_fields(kid)).headers["location"]
    assert "results-table" in pages.get(mine.split("#")[0], headers=HTML).text
    with population.engine.connect() as connection:
        kept = connection.execute(text("SELECT count(*) FROM saved_search")).scalar_one()
    assert kept >= 1
    out = post_form(pages, "/sign-out", owner)
    assert out.status_code == 303
    with population.engine.connect() as connection:
        left = connection.execute(
            text("SELECT count(*) FROM saved_search WHERE token = :t"),
            {"t": mine.split("=")[1].split("#")[0]},
        ).scalar_one()
    assert left == 0


@pytest.mark.parametrize(
    "results", ["", "short", "a" * 65, "../../etc", "%00" * 22, "x" * 22 + "'--"]
)
def test_a_results_address_that_is_not_a_token_is_a_fresh_form_with_a_notice(
    pages: TestClient,
    population: Population,
    results: str,
) -> None:
    sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    page = pages.get(f"/search?results={results}", headers=HTML)
    if "%00" in results:
        assert page.status_code == 400  # a NUL anywhere in the address
        return
    assert page.status_code == 200 and 'id="forgotten"' in page.text
    assert "results-table" not in page.text


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/involvements/{involvement}/consent", {"given_by": "Jordan Leech"}),
        ("/involvements/{involvement}/override", {"reason": "Child protection enquiry"}),
        ("/shield/access", {"name_username": "someone", "name_reason": "Allocated worker"}),
        ("/shield/access/remove", {"remove_username": "someone", "remove_reason": "Closed"}),
        ("/break-glass", {"reason": "Section 47 enquiry"}),
    ],
    ids=["consent", "override", "name", "un-name", "break-glass"],
)
@pytest.mark.parametrize("token", [None, "forged"], ids=["no-token", "forged-token"])
def test_a_managers_form_post_without_the_right_csrf_token_is_refused(
    pages: TestClient,
    population: Population,
    path: str,
    fields: dict[str, str],
    token: str | None,
) -> None:
    kid, involvement_id, _ = sensitive_involvement(population, 4)
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in(pages, population, manager)
    target = f"/children/{kid.identifier}" + path.format(involvement=involvement_id)
    refused = post_form(pages, target, token, **fields)
    assert refused.status_code == 403 and CSRF_REFUSAL in refused.text
    assert kid.postcode not in refused.text
    with population.engine.connect() as connection:
        changes = connection.scalar(
            text(
                "SELECT count(*) FROM audit_event WHERE username = :username"
                " AND event NOT IN ('access_denied', 'view')"
            ),
            {"username": manager},
        )
    assert changes == 0


def test_pages_and_json_answers_carry_the_security_headers(
    pages: TestClient,
    population: Population,
) -> None:
    kid = _shielded(population, 0)
    manager = new_username(population, Role.LA_MANAGER, authorities=(kid.authority,))
    sign_in(pages, population, manager)
    answers = [
        pages.get("/sign-in", headers=HTML),
        pages.get(f"/children/{kid.identifier}", headers=HTML),
        pages.get(f"/children/{kid.identifier}/shield", headers=HTML),
        pages.get(f"/children/{kid.identifier}/break-glass", headers=HTML),
        pages.get("/no/such/page", headers=HTML),
        pages.get("/healthz"),
        pages.get("/v1/me"),
    ]
    for answer in answers:
        assert answer.headers["Content-Security-Policy"] == POLICY, answer.url
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 404, 200, 200]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def test_an_unreachable_elasticsearch_is_a_503_page_for_a_browser_and_json_for_the_api(
    population: Population,
    closed_port: int,
) -> None:
    app_settings = fast_settings(population.settings)
    unreachable = app_settings.model_copy(
        update={"elasticsearch_url": f"http://127.0.0.1:{closed_port}"}
    )
    app, client = build_client(app_settings)
    with client:
        app.state.es.close()
        app.state.es = make_client(unreachable, purpose="api")
        username = new_username(population, Role.PRACTITIONER)
        token = sign_in(client, population, username)
        page = search_form(client, token, given_name="Jo", family_name="Smith")
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        assert page.headers["content-type"].startswith("text/html")
        assert '<h1 class="govuk-heading-l">Sorry, the service is unavailable</h1>' in page.text
        assert "Searching is not working at the moment" in page.text
        assert page.headers["Content-Security-Policy"] == POLICY
        client.cookies.clear()
        headers = bearer(session_token(population.engine, username))
        body = {"given_name": "Jo", "family_name": "Smith", "birth_year": 2019}
        api = client.post("/v1/search", json=body, headers=headers)
        assert api.status_code == 503 and api.headers["Retry-After"] == "5"
        assert api.json() == {
            "message": "Search is unavailable for a moment; try again shortly.",
            "request_id": api.headers["X-Request-ID"],
        }
    # Asked, nothing shown: both searches are in the audit, as failures.
    rows = audit_rows(population.engine, username=username, event="search")
    assert [row.request_id for row in rows][-2:] == [
        page.headers["X-Request-ID"],
        api.headers["X-Request-ID"],
    ]
    for row in rows[-2:]:
        assert row.details["identifiers_shown"] == [] and "unavailable" in row.details["error"]


def test_the_record_names_relationships_and_services_in_words_not_stored_values(
    pages: TestClient,
    population: Population,
) -> None:
    with population.engine.connect() as connection:
        identifier = connection.execute(
            text(
                "SELECT c.identifier FROM child c JOIN carer k ON k.child_id = c.id"
                " WHERE k.relationship IN ('step_parent', 'foster_carer') AND c.status = 'active'"
                " AND NOT EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id"
                " AND s.removed_at IS NULL) ORDER BY c.identifier LIMIT 1"
            )
        ).scalar_one()
    sign_in(pages, population, new_username(population, Role.PRACTITIONER))
    page = pages.get(f"/children/{identifier}", headers=HTML)
    assert page.status_code == 200
    assert "(step-parent)" in page.text or "(foster carer)" in page.text
    for raw in ("step_parent", "foster_carer", "gp_practice", "social_care", "health_visiting"):
        assert raw not in page.text
