"""What an audit reader may see of a row: the pure decision in `searchapi.access`."""

from __future__ import annotations

from typing import Any

import pytest

from db.access import Principal, Role
from db.child_records import ShieldState
from searchapi.access import (
    AUDIT_REDACTION_REASON,
    WITHHELD,
    AuditView,
    audit_view,
    concerned_children,
    operator_audit_view,
)

NEWHAM, BIRMINGHAM = "E09000025", "E08000025"
SHIELDED_BRUM = ShieldState(identifier="9518461066", shielded=True, authority=BIRMINGHAM)
OPEN_NEWHAM = ShieldState(identifier="9000000001", shielded=False, authority=NEWHAM)
SHIELDED_NEWHAM = ShieldState(identifier="9000000002", shielded=True, authority=NEWHAM)
STATES = {state.identifier: state for state in (SHIELDED_BRUM, OPEN_NEWHAM, SHIELDED_NEWHAM)}

SEARCH: dict[str, Any] = {
    "criteria": {"family_name": "Khan", "postcode": "B28 6JU", "address": "6 Jubilee Square"},
    "result_count": 2,
    "identifiers_shown": [SHIELDED_BRUM.identifier, OPEN_NEWHAM.identifier],
    "too_many_matches": False,
}


def _manager(*authorities: str, named: frozenset[str] = frozenset()) -> AuditView:
    principal = Principal(
        user_id=1,
        username="m",
        roles=frozenset({Role.LA_MANAGER}),
        authorities=frozenset(authorities),
        named_children=named,
    )
    return audit_view(principal)


def _search(view: AuditView, details: dict[str, Any] = SEARCH) -> Any:
    return view.readable(event="search", subject=None, details=details, states=STATES)


def test_a_manager_of_another_authority_sees_the_criteria_that_locate_withheld() -> None:
    shown = _search(_manager(NEWHAM))
    assert shown.details["criteria"] == {
        "family_name": "Khan",
        "postcode": WITHHELD,
        "address": WITHHELD,
    }
    assert shown.redacted == ("criteria.address", "criteria.postcode")
    assert shown.reason == AUDIT_REDACTION_REASON
    # Identifiers are what a search by name would show anyway.
    assert shown.details["identifiers_shown"] == SEARCH["identifiers_shown"]


def test_a_manager_of_the_shielded_childs_authority_sees_the_whole_row() -> None:
    shown = _search(_manager(BIRMINGHAM))
    assert shown.details == SEARCH and shown.redacted == () and shown.reason is None


def test_a_manager_named_to_see_the_child_sees_the_whole_row() -> None:
    shown = _search(_manager(NEWHAM, named=frozenset({SHIELDED_BRUM.identifier})))
    assert shown.details == SEARCH and shown.redacted == ()


def test_an_auditor_and_the_cli_operator_see_every_row_whole() -> None:
    auditor = audit_view(Principal(user_id=2, username="a", roles=frozenset({Role.AUDITOR})))
    for view in (auditor, operator_audit_view()):
        assert view.national and view.authorities is None
        assert _search(view).details == SEARCH


def test_a_role_that_may_not_read_the_audit_reads_no_authority_and_sees_no_location() -> None:
    view = audit_view(Principal(user_id=3, username="p", roles=frozenset({Role.PRACTITIONER})))
    assert view.authorities == frozenset()
    assert _search(view).redacted == ("criteria.address", "criteria.postcode")


def test_a_row_about_only_children_whose_location_the_reader_may_see_is_whole() -> None:
    details = {**SEARCH, "identifiers_shown": [OPEN_NEWHAM.identifier]}
    assert _search(_manager(NEWHAM), details).details == details


def test_a_child_the_database_no_longer_knows_counts_as_shielded() -> None:
    details = {**SEARCH, "identifiers_shown": ["9999999999"]}
    assert _search(_manager(NEWHAM), details).redacted == ("criteria.address", "criteria.postcode")


@pytest.mark.parametrize(
    ("event", "details", "redacted"),
    [
        ("view", {"break_glass": True, "reason": "at 6 Jubilee Square"}, ("reason",)),
        ("shield_applied", {"reason": "fled to B28 6JU"}, ("reason",)),
        ("shield_access_granted", {"username": "x", "reason": "B28 6JU"}, ("reason",)),
        ("consent_recorded", {"involvement_id": 4, "given_by": "mum, B28 6JU"}, ("given_by",)),
        ("view", {"shielded": True, "town": "Birmingham"}, ("town",)),
    ],
    ids=["break-glass-reason", "shield-reason", "access-reason", "consent-given-by", "new-key"],
)
def test_free_text_and_unknown_keys_of_a_row_about_a_hidden_child_are_withheld(
    event: str, details: dict[str, Any], redacted: tuple[str, ...]
) -> None:
    row = {"identifier": SHIELDED_BRUM.identifier, **details}
    shown = _manager(NEWHAM).readable(
        event=event, subject=SHIELDED_BRUM.identifier, details=row, states=STATES
    )
    assert shown.redacted == redacted
    assert all(shown.details[key] == WITHHELD for key in redacted)
    assert shown.details["identifier"] == SHIELDED_BRUM.identifier


def test_the_children_a_row_concerns_are_its_child_subject_identifier_and_those_shown() -> None:
    assert concerned_children(
        event="view", subject="1", details={"identifier": "2", "identifiers_shown": ["3"]}
    ) == {"1", "2", "3"}
    # An account's or a route's name is not a child.
    assert concerned_children(event="user_created", subject="ann", details={}) == frozenset()
    assert concerned_children(event="access_denied", subject="GET /v1/x", details={}) == set()


def test_an_archive_rows_words_are_withheld_from_a_manager_who_may_not_see_the_location() -> None:
    details = {
        "identifier": SHIELDED_BRUM.identifier,
        "archive_reason": "serious_case_review",
        "words": "Review 2026/14 of the family at 6 Jubilee Square",
        "shielded": True,
    }

    elsewhere = _manager(NEWHAM).readable(
        event="archive_opened", subject=SHIELDED_BRUM.identifier, details=details, states=STATES
    )
    home = _manager(BIRMINGHAM).readable(
        event="archive_opened", subject=SHIELDED_BRUM.identifier, details=details, states=STATES
    )

    assert elsewhere.details["words"] == WITHHELD and elsewhere.redacted == ("words",)
    assert elsewhere.details["archive_reason"] == "serious_case_review"
    assert home.details == details
