"""Validation of one import line: a clear reason for each problem, and normalised values."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from db.load import Rejection, ValidLine, validate_line
from db.normalise import is_valid_nhs_number
from mappings.postcodes import normalise_postcode

TODAY = date(2025, 6, 1)


def _line(**changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "identifier": "943 476 5919",
        "given_names": "  Zoë   Mae ",
        "family_name": "O'Brien-Smith",
        "gender": "female",
        "date_of_birth": "2019-03-14",
        "address": {"lines": ["12  Mill Lane"], "town": "Leeds", "postcode": "ls62ab"},
        "carers": [
            {
                "name": "Siobhan O'Brien",
                "relationship": "mother",
                "parental_responsibility": True,
                "phone": "07700 900123",
                "email": "Siobhan@Example.COM",
            }
        ],
        "involvements": [
            {
                "service": {"kind": "mental_health", "code": "camhs-1", "name": "CAMHS"},
                "start_date": "2024-01-01",
                "lead_professional": True,
            }
        ],
    }
    line.update(changes)
    return line


def _rejections(line: dict[str, Any] | str) -> list[Rejection]:
    text = line if isinstance(line, str) else json.dumps(line)
    result = validate_line(text, today=TODAY, line=7)
    assert isinstance(result, list), "the line should have been rejected"
    return result


def _only(line: dict[str, Any] | str) -> tuple[str, str]:
    rejections = _rejections(line)
    assert len(rejections) == 1, rejections
    assert rejections[0].line == 7
    return rejections[0].field, rejections[0].reason


def _valid(line: dict[str, Any]) -> ValidLine:
    result = validate_line(json.dumps(line), today=TODAY, line=1)
    assert isinstance(result, ValidLine), result
    return result


def test_a_good_line_is_normalised() -> None:
    record = _valid(_line()).record
    assert record.identifier == "9434765919"
    assert record.given_names == "Zoë Mae"
    assert record.address.lines == ["12 Mill Lane"]
    assert record.address.postcode == "LS6 2AB"
    assert record.carers[0].email == "siobhan@example.com"
    assert record.involvements[0].service.code == "CAMHS-1"
    assert record.status == "active"


def test_an_involvement_with_a_sensitive_service_is_sensitive_unless_the_line_says_not() -> None:
    assert _valid(_line()).record.involvements[0].sensitive is True
    line = _line()
    line["involvements"][0]["sensitive"] = False
    assert _valid(line).record.involvements[0].sensitive is False


def test_equal_lines_after_normalisation_have_the_same_source_hash() -> None:
    tidy = _line(identifier="9434765919", given_names="Zoë Mae")
    tidy["address"] = {"lines": ["12 Mill Lane"], "town": "Leeds", "postcode": "LS6 2AB"}
    assert _valid(tidy).source_hash == _valid(_line()).source_hash
    assert _valid(_line(family_name="Smith")).source_hash != _valid(_line()).source_hash


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        ("SW1A 1AA", "SW1A 1AA"),
        (" sw1a   1aa ", "SW1A 1AA"),
        ("m11ae", "M1 1AE"),
        ("ls62ab", "LS6 2AB"),
        ("EC1A1BB", "EC1A 1BB"),
        ("XX1", None),
        ("SW1A 1A", None),
        ("12345", None),
    ],
    ids=[
        "compact",
        "spaced",
        "extra-spaces",
        "short-outward",
        "two-letter-area",
        "ec1a",
        "too-short",
        "bad-inward",
        "digits",
    ],
)
def test_postcodes_are_normalised_to_outward_space_inward(raw: str, normalised: str | None) -> None:
    assert normalise_postcode(raw) == normalised


def test_a_bad_postcode_is_rejected_with_the_value() -> None:
    line = _line(address={"lines": ["1 Road"], "town": "Leeds", "postcode": "XX1"})
    assert _only(line) == ("address.postcode", "'XX1' is not a valid UK postcode")


def test_an_unknown_gender_is_rejected_with_the_allowed_values() -> None:
    assert _only(_line(gender="bloke")) == (
        "gender",
        "must be one of male, female, other, unknown (got 'bloke')",
    )


def test_a_date_of_birth_in_the_future_is_rejected() -> None:
    assert _only(_line(date_of_birth="2025-06-02")) == ("date_of_birth", "is in the future")


def test_a_date_of_birth_more_than_25_years_ago_is_rejected() -> None:
    assert _only(_line(date_of_birth="2000-05-31")) == (
        "date_of_birth",
        "is more than 25 years ago",
    )
    assert isinstance(
        validate_line(json.dumps(_line(date_of_birth="2000-06-01")), today=TODAY), ValidLine
    )


@pytest.mark.parametrize("value", ["14/03/2019", "2019-02-30", "20190314", "2019-3-14"])
def test_a_date_of_birth_not_in_iso_format_is_rejected(value: str) -> None:
    assert _only(_line(date_of_birth=value)) == (
        "date_of_birth",
        "is not a date in YYYY-MM-DD format",
    )


def test_an_identifier_with_a_bad_check_digit_is_rejected() -> None:
    assert _only(_line(identifier="9434765918")) == (
        "identifier",
        "fails the NHS-number check digit",
    )


def test_an_identifier_that_is_not_ten_digits_is_rejected() -> None:
    assert _only(_line(identifier="94347659")) == ("identifier", "must be 10 digits")


@pytest.mark.parametrize(
    ("identifier", "valid"),
    [
        ("9434765919", True),
        ("4010232137", True),
        ("9434765918", False),
        ("0000000000", True),
        ("1234567890", False),
        ("943476591", False),
        ("94347659１9", False),
    ],
    ids=["example", "other", "bad-check", "zeros", "check-would-be-10", "nine-digits", "fullwidth"],
)
def test_the_nhs_number_check_digit_is_modulus_11(identifier: str, valid: bool) -> None:
    assert is_valid_nhs_number(identifier) is valid


def test_a_missing_key_is_required() -> None:
    line = _line()
    del line["family_name"]
    assert _only(line) == ("family_name", "is required")


def test_an_unknown_key_is_rejected_rather_than_stored() -> None:
    assert _only(_line(notes="hit by dad")) == ("notes", "is not a key of the import format")


def test_a_line_that_is_not_json_is_rejected_as_a_whole() -> None:
    field, reason = _only('{"identifier": "9434765919",')
    assert field == "(line)"
    assert reason.startswith("not valid JSON: ")


@pytest.mark.parametrize("text", ["[1, 2]", '"a child"', "42", "null"])
def test_a_line_that_is_not_an_object_is_rejected(text: str) -> None:
    assert _only(text) == ("(line)", "is not a JSON object")


def test_nested_fields_are_named_with_dots_and_indexes() -> None:
    line = _line()
    line["carers"][0]["phone"] = "12"
    field, reason = _only(line)
    assert field == "carers[0].phone"
    assert "'12' is not a UK phone number" in reason


def test_every_problem_of_a_line_is_reported() -> None:
    line = _line(gender="bloke", identifier="9434765918")
    line["address"]["postcode"] = "XX1"
    fields = {rejection.field for rejection in _rejections(line)}
    assert fields == {"gender", "identifier", "address.postcode"}


def test_an_end_date_before_the_start_date_is_rejected() -> None:
    line = _line()
    line["involvements"][0]["end_date"] = "2023-12-31"
    assert _only(line) == ("involvements[0].end_date", "is before start_date")


def test_two_current_lead_professionals_are_rejected() -> None:
    line = _line()
    second = {
        **line["involvements"][0],
        "service": {"kind": "early_help", "code": "EH", "name": "EH"},
    }
    line["involvements"].append(second)
    assert _only(line) == (
        "involvements[1].lead_professional",
        "involvements[0] is already the current lead professional",
    )


def test_an_education_setting_needs_a_six_digit_urn() -> None:
    line = _line(education_setting={"code": "SCH-1", "name": "A School"})
    assert _only(line) == (
        "education_setting.code",
        "must be the 6-digit URN of the education setting",
    )


def test_names_with_digits_are_rejected_and_blank_names_are_empty() -> None:
    assert _only(_line(family_name="Sm1th")) == (
        "family_name",
        "may contain only letters, spaces, hyphens, apostrophes and full stops",
    )
    assert _only(_line(given_names="   ")) == ("given_names", "must not be empty")


def test_booleans_must_be_json_booleans() -> None:
    line = _line()
    line["carers"][0]["parental_responsibility"] = "yes"
    assert _only(line) == ("carers[0].parental_responsibility", "must be true or false")


def test_an_address_needs_one_to_four_lines() -> None:
    line = _line(address={"lines": [], "town": "Leeds", "postcode": "LS6 2AB"})
    assert _only(line) == ("address.lines", "must have at least 1 item(s)")
    line = _line(
        address={"lines": ["a", "b", "c", "d", "e"], "town": "Leeds", "postcode": "LS6 2AB"}
    )
    assert _only(line) == ("address.lines", "must have at most 4 items")


def test_a_shield_timestamp_in_the_future_is_rejected() -> None:
    line = _line(
        shield={"applied_by": "LA team", "reason": "risk", "applied_at": "2025-07-01T09:00Z"}
    )
    assert _only(line) == ("shield.applied_at", "is in the future")


def test_the_example_of_the_import_format_document_is_valid() -> None:
    document = (Path(__file__).resolve().parents[2] / "docs" / "import-format.md").read_text()
    example = document.split("```json\n", 1)[1].split("\n```", 1)[0]
    result = validate_line(example, today=TODAY, line=1)
    assert isinstance(result, ValidLine), result
    assert result.record.involvements[0].practitioner is not None
