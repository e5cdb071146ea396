"""Corrections' pure rules: which feed records challenge a correction, what the API's request
model accepts, and who may correct or report (deny by default, never through a CMS)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from db.access import Principal, Role
from db.corrections import CorrectedField
from feeds.corrections import proposed_value
from feeds.records import FeedAddress, FeedRecord, Source
from feeds.survivorship import challenges_correction
from searchapi.access import SIGNED_IN_REFUSAL, Permission, permissions_of, refusal
from searchapi.correction_schemas import CorrectionRequest
from searchapi.corrections import value_text

CORRECTED_ON = date(2026, 11, 2)


def _record(source: Source, *, as_of: date, since: date | None = None) -> FeedRecord:
    return FeedRecord(
        source=source,
        record_id="r1",
        version=1,
        as_of=as_of,
        given_names="Amelia",
        family_name="Hart",
        date_of_birth=date(2019, 3, 14),
        address=FeedAddress(lines=("1 Mill Lane",), town="Leeds", postcode="LS6 2AB", since=since),
    )


@pytest.mark.parametrize(
    ("source", "field", "days", "since_days", "challenges"),
    [
        (Source.HEALTH, "name", -1, None, False),
        (Source.HEALTH, "name", 0, None, False),
        (Source.HEALTH, "name", 1, None, True),
        (Source.BIRTHS, "name", 30, None, True),
        # The census is not trusted for a name: it never asks.
        (Source.SCHOOL_CENSUS, "name", 30, None, False),
        (Source.CHILD_BENEFIT, "address", 5, None, True),
        # An address is as of its `since`: a record of today about a move before the correction.
        (Source.HEALTH, "address", 10, -3, False),
        (Source.HEALTH, "address", 10, 2, True),
        # No feed sets a date of birth.
        (Source.HEALTH, "date_of_birth", 30, None, False),
    ],
    ids=[
        "older",
        "same-day",
        "newer",
        "births-newer",
        "untrusted-source",
        "benefit-address-newer",
        "address-since-older",
        "address-since-newer",
        "date-of-birth",
    ],
)
def test_only_a_newer_record_of_a_trusted_source_challenges_a_correction(
    source: Source, field: str, days: int, since_days: int | None, challenges: bool
) -> None:
    since = None if since_days is None else CORRECTED_ON + timedelta(days=since_days)
    record = _record(source, as_of=CORRECTED_ON + timedelta(days=days), since=since)
    assert challenges_correction(record, field, corrected_as_of=CORRECTED_ON) is challenges


def test_a_feed_record_proposes_its_name_and_address_but_never_a_date_of_birth() -> None:
    record = _record(Source.HEALTH, as_of=CORRECTED_ON)
    assert proposed_value(record, CorrectedField.NAME) == {
        "given_names": "Amelia",
        "family_name": "Hart",
    }
    assert proposed_value(record, CorrectedField.ADDRESS) == {
        "lines": ["1 Mill Lane"],
        "town": "Leeds",
        "postcode": "LS6 2AB",
    }
    assert proposed_value(record, CorrectedField.DATE_OF_BIRTH) is None


REASON = "Checked against the birth certificate"


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (
            {"field": "name", "given_names": "  Zoë  Mae ", "family_name": "O'Brien"},
            {"given_names": "Zoë Mae", "family_name": "O'Brien"},
        ),
        (
            {"field": "date_of_birth", "date_of_birth": "2019-03-14"},
            {"date_of_birth": "2019-03-14"},
        ),
        (
            {
                "field": "address",
                "address": {"lines": ["12 Mill Lane"], "town": "Leeds", "postcode": "ls62ab"},
            },
            {"lines": ["12 Mill Lane"], "town": "Leeds", "postcode": "LS6 2AB"},
        ),
    ],
    ids=["name-collapsed", "date-of-birth", "postcode-normalised"],
)
def test_a_correction_request_gives_the_value_as_the_history_keeps_it(
    body: dict[str, Any], value: dict[str, Any]
) -> None:
    assert CorrectionRequest.model_validate({**body, "reason": REASON}).value() == value


@pytest.mark.parametrize(
    "body",
    [
        {"field": "gender", "reason": REASON},
        {"field": "name", "given_names": "Ann", "reason": REASON},
        {"field": "name", "given_names": "Ann", "family_name": "Lee", "reason": "too short"},
        {"field": "name", "given_names": "A" * 101, "family_name": "Lee", "reason": REASON},
        {"field": "name", "given_names": "Ann\x00", "family_name": "Lee", "reason": REASON},
        {"field": "date_of_birth", "date_of_birth": "2019-02-29", "reason": REASON},
        {"field": "date_of_birth", "date_of_birth": "1989-12-31", "reason": REASON},
        {
            "field": "date_of_birth",
            "date_of_birth": "2019-03-14",
            "address": None,
            "given_names": "Ann",
            "reason": REASON,
        },
        {
            "field": "address",
            "address": {"lines": [], "town": "Leeds", "postcode": "LS6 2AB"},
            "reason": REASON,
        },
        {"field": "name", "given_names": "Ann", "family_name": "Lee", "reason": REASON, "extra": 1},
    ],
    ids=[
        "unknown-field",
        "missing-family-name",
        "short-reason",
        "too-long",
        "nul",
        "no-29-february-2019",
        "before-1990",
        "another-fields-value",
        "no-address-line",
        "unknown-key",
    ],
)
def test_a_bad_correction_request_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CorrectionRequest.model_validate(body)


def test_values_read_as_people_read_them() -> None:
    assert value_text("date_of_birth", {"date_of_birth": "2019-03-04"}) == "4 March 2019"
    address = {"lines": ["Flat 2", "12 Mill Lane"], "town": "Leeds", "postcode": "LS6 2AB"}
    assert value_text("address", address) == "Flat 2, 12 Mill Lane, Leeds, LS6 2AB"
    assert value_text("name", {"given_names": "Zoë", "family_name": "Hart"}) == "Zoë Hart"


def _principal(*roles: Role, client: bool = False) -> Principal:
    return Principal(
        user_id=1,
        username="someone",
        roles=frozenset(roles),
        authorities=frozenset({"E08000035"}),
        session_id=None if client else 3,
        client_id=9 if client else None,
        client_name="cms" if client else None,
    )


@pytest.mark.parametrize("permission", [Permission.CORRECT_RECORDS, Permission.SUBJECT_ACCESS])
def test_only_a_signed_in_manager_corrects_and_reports(permission: Permission) -> None:
    assert permission in permissions_of(_principal(Role.LA_MANAGER))
    for role in (Role.PRACTITIONER, Role.ADMIN, Role.AUDITOR):
        assert permission not in permissions_of(_principal(role))
    assert permission not in permissions_of(_principal())
    through_cms = _principal(Role.LA_MANAGER, client=True)
    assert permission not in permissions_of(through_cms)
    assert refusal(through_cms, permission) == SIGNED_IN_REFUSAL
