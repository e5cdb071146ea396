"""The audit and admin pages' forms and rows: pure parsing and wording, no servers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from starlette.datastructures import FormData

from db.access import Role
from db.audit import AuditEventType
from db.errors import Conflict, InvalidInput
from db.models import AuditEvent
from searchapi.access import ReadableDetails
from searchapi.pages.admin_form import USER_FORM_ORDER, form_errors, parse_user_form
from searchapi.pages.audit_form import parse_audit_form, parse_period_form
from searchapi.pages.audit_rows import audit_row
from searchapi.pages.form_dates import parse_day

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("27/3/2025", date(2025, 3, 27)),
        ("2025-03-27", date(2025, 3, 27)),
        (" 1.12.2024 ", date(2024, 12, 1)),
        ("31/2/2025", None),
        ("3/27/2025", None),
        ("yesterday", None),
        ("", None),
    ],
    ids=["uk", "iso", "dots-and-spaces", "no-31-feb", "us-order", "words", "blank"],
)
def test_a_typed_date_is_read_strictly(typed: str, expected: date | None) -> None:
    assert parse_day(typed) == expected


def test_the_audit_filter_reads_whole_local_days_into_a_query() -> None:
    form = parse_audit_form(
        {"user": " Amara ", "event": "view", "from": "1/7/2024", "to": "1/7/2024"}, zone=LONDON
    )
    assert form.errors == {} and form.query is not None
    # Midnight in London in July is 23:00 UTC the day before (BST).
    assert form.query.since == datetime(2024, 6, 30, 23, tzinfo=UTC)
    assert form.query.until == datetime(2024, 7, 1, 23, tzinfo=UTC)
    assert (form.query.username, form.query.event) == ("Amara", AuditEventType.VIEW)
    assert (
        form.link(before=42) == "?user=Amara&event=view&from=1%2F7%2F2024&to=1%2F7%2F2024&before=42"
    )


def test_a_bad_audit_filter_names_every_field_at_fault_and_makes_no_query() -> None:
    form = parse_audit_form(
        {"event": "nope", "from": "30/2/2024", "request_id": "a b", "after": "-1"}, zone=LONDON
    )
    assert form.query is None
    assert set(form.errors) == {"event", "from", "request_id", "cursor"}


def test_the_misuse_period_defaults_to_the_window_ending_today() -> None:
    today = date(2025, 3, 27)
    form = parse_period_form({}, today=today, window_days=7)
    assert (form.first, form.last) == (date(2025, 3, 21), today)
    late = parse_period_form({"from": "1/4/2025"}, today=today, window_days=7)
    assert "from" in late.errors and late.first is None


def test_a_cms_event_is_shown_as_the_client_acting_on_behalf_of_the_user() -> None:
    event = AuditEvent(
        id=7,
        occurred_at=datetime(2025, 1, 6, 10, 0, tzinfo=UTC),
        event="search",
        outcome="success",
        username="amara.okafor",
        client_id=3,
        client_name="Leeds CMS",
        subject=None,
        request_id="abc",
        details={
            "criteria": {"family_name": "Tomson", "birth_year": 2019},
            "result_count": 2,
            "identifiers_shown": ["1", "2"],
        },
    )
    row = audit_row(event, ReadableDetails(details=event.details), zone=LONDON)
    assert (row.who, row.on_behalf_of, row.event) == ("Leeds CMS", "amara.okafor", "Search")
    assert row.asked == "family name: Tomson; birth year: 2019"
    assert row.shown == "2 found; shown: 1, 2" and row.when == "6 Jan 2025, 10:00:00"


def _event(event: str, details: dict[str, object], subject: str | None = None) -> AuditEvent:
    return AuditEvent(
        id=8,
        occurred_at=datetime(2025, 1, 6, 10, 0, tzinfo=UTC),
        event=event,
        outcome="success",
        username="amara.okafor",
        subject=subject,
        request_id="abc",
        details=details,
    )


def test_a_views_withheld_column_holds_only_what_was_withheld_from_its_reader() -> None:
    located = {
        "identifier": "9434765919",
        "shown_fields": ["name", "address"],
        "withheld_fields": [],
        "shielded": True,
        "sensitive": True,
        "break_glass": False,
    }
    event = _event("view", located, subject="9434765919")
    row = audit_row(event, ReadableDetails(details=event.details), zone=LONDON)
    assert row.withheld == "Nothing" and row.shown == "name, address"
    assert row.asked == "Record 9434765919 (shielded and sensitive)"
    kept_back = {
        **located,
        "shown_fields": ["names"],
        "withheld_fields": ["address", "gp_practice", "carers.address", "involvements[7]"],
    }
    event = _event("view", kept_back, subject="9434765919")
    row = audit_row(event, ReadableDetails(details=event.details), zone=LONDON)
    assert row.withheld == (
        "address, GP practice, carers' addresses, sensitive service (involvement 7)"
    )
    assert row.shown == "names"


def test_a_search_withholds_only_when_it_matched_too_many_to_show() -> None:
    found = {"criteria": {"family_name": "Tomson"}, "result_count": 2, "identifiers_shown": ["1"]}
    event = _event("search", {**found, "too_many_matches": False})
    row = audit_row(event, ReadableDetails(details=event.details), zone=LONDON)
    assert row.withheld == "" and row.shown == "2 found; shown: 1"
    event = _event("search", {**found, "identifiers_shown": [], "too_many_matches": True})
    row = audit_row(event, ReadableDetails(details=event.details), zone=LONDON)
    assert row.withheld == "All 2 matches: too many to show" and row.shown == "2 found"


def test_the_form_and_service_errors_are_merged_in_the_forms_order_in_page_wording() -> None:
    problems = {
        "username": InvalidInput("a username has 3 to 100 letters"),
        "authorities": InvalidInput("a local authority manager needs at least one --authority"),
        "roles": InvalidInput("a user needs at least one role"),
    }
    errors, status = form_errors(
        {"roles": "Choose roles from the list", "expires": "Enter the expiry date"},
        problems,
        USER_FORM_ORDER,
    )
    assert list(errors) == ["username", "roles", "authorities", "expires"]
    assert errors["roles"] == "Choose roles from the list"  # the form's own reading wins
    assert errors["authorities"] == "A local authority manager needs at least one authority"
    assert status == 400


def test_a_taken_name_alone_is_a_409() -> None:
    taken = {"username": Conflict("The username 'x' is taken.")}
    assert form_errors({}, taken, USER_FORM_ORDER)[1] == 409
    assert form_errors({"expires": "Enter a date"}, taken, USER_FORM_ORDER)[1] == 400


def test_an_unreadable_role_is_left_out_of_the_account_but_kept_on_the_form() -> None:
    form = FormData([("username", "amara.okafor"), ("roles", "emperor"), ("roles", "auditor")])
    parsed = parse_user_form(form, zone=LONDON, today=date(2025, 1, 1))
    assert parsed.errors == {"roles": "Choose roles from the list"}
    assert parsed.new.roles == {Role.AUDITOR} and parsed.roles == ["emperor", "auditor"]


def test_the_account_form_takes_the_password_as_typed_and_authorities_in_any_case() -> None:
    form = FormData(
        [
            ("username", "amara.okafor"),
            ("password", " spaced pass phrase "),
            ("pin", "2580"),
            ("roles", "practitioner"),
            ("authorities", "e08000035, E08000036"),
            ("expires", "31/12/2030"),
        ]
    )
    parsed = parse_user_form(form, zone=LONDON, today=date(2025, 1, 1))
    assert parsed.new is not None and parsed.password == " spaced pass phrase "
    assert parsed.new.authorities == {"E08000035", "E08000036"}
    assert parsed.new.roles == {Role.PRACTITIONER}
    assert parsed.new.expires_at == datetime(2031, 1, 1, tzinfo=UTC)
