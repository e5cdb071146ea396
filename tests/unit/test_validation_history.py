"""Validation of a line's history: other names and previous addresses (docs/import-format.md)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import pytest

from db.load import Rejection, ValidLine, validate_line

TODAY = date(2025, 6, 1)


def _line(**changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "identifier": "9434765919",
        "given_names": "Zoë Mae",
        "family_name": "O'Brien-Smith",
        "gender": "female",
        "date_of_birth": "2019-03-14",
        "address": {"lines": ["12 Mill Lane"], "town": "Leeds", "postcode": "LS6 2AB"},
    }
    line.update(changes)
    return line


def _result(line: dict[str, Any]) -> ValidLine | list[Rejection]:
    return validate_line(json.dumps(line), today=TODAY, line=3)


def _valid(line: dict[str, Any]) -> ValidLine:
    result = _result(line)
    assert isinstance(result, ValidLine), result
    return result


def _only(line: dict[str, Any]) -> tuple[str, str]:
    result = _result(line)
    assert isinstance(result, list), "the line should have been rejected"
    assert len(result) == 1, result
    assert result[0].line == 3
    return result[0].field, result[0].reason


def test_other_names_and_previous_addresses_are_normalised() -> None:
    record = _valid(
        _line(
            other_names=[{"family_name": "  Smith ", "given_names": "Zoe", "kind": "Former"}],
            previous_addresses=[
                {"postcode": "eb35ab", "town": " Leeds ", "from": "2020-01-01", "to": "2023-05-31"}
            ],
        )
    ).record
    assert record.other_names[0].family_name == "Smith"
    assert record.other_names[0].kind == "former"
    previous = record.previous_addresses[0]
    assert (previous.postcode, previous.town) == ("EB3 5AB", "Leeds")
    assert (previous.from_, previous.to) == (date(2020, 1, 1), date(2023, 5, 31))


def test_only_the_family_name_of_an_other_name_and_the_postcode_of_an_address_are_required() -> (
    None
):
    record = _valid(
        _line(other_names=[{"family_name": "Smith"}], previous_addresses=[{"postcode": "LS6 1AA"}])
    ).record
    assert record.other_names[0].given_names is None and record.other_names[0].kind is None
    assert record.previous_addresses[0].from_ is None and record.previous_addresses[0].to is None


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        pytest.param(
            {"other_names": [{"given_names": "Zoe"}]},
            "other_names[0].family_name",
            "is required",
            id="other-name-without-family-name",
        ),
        pytest.param(
            {"other_names": [{"family_name": "Sm1th"}]},
            "other_names[0].family_name",
            "may contain only letters, spaces, hyphens, apostrophes and full stops",
            id="other-name-with-digit",
        ),
        pytest.param(
            {"other_names": [{"family_name": "Smith", "kind": "nickname"}]},
            "other_names[0].kind",
            "must be one of former, alias, other (got 'nickname')",
            id="unknown-kind",
        ),
        pytest.param(
            {"other_names": [{"family_name": "Smith", "born": "x"}]},
            "other_names[0].born",
            "is not a key of the import format",
            id="unknown-key",
        ),
        pytest.param(
            {"other_names": [{"family_name": f"Smith{'a' * i}"} for i in range(11)]},
            "other_names",
            "must have at most 10 items",
            id="too-many-other-names",
        ),
        pytest.param(
            {"previous_addresses": [{"postcode": "XX1"}]},
            "previous_addresses[0].postcode",
            "'XX1' is not a valid UK postcode",
            id="bad-postcode",
        ),
        pytest.param(
            {"previous_addresses": [{"town": "Leeds"}]},
            "previous_addresses[0].postcode",
            "is required",
            id="no-postcode",
        ),
        pytest.param(
            {"previous_addresses": [{"postcode": "LS6 1AA", "from": "2021-13-01"}]},
            "previous_addresses[0].from",
            "is not a date in YYYY-MM-DD format",
            id="bad-date",
        ),
        pytest.param(
            {"previous_addresses": [{"postcode": "LS6 1AA", "to": "2025-06-02"}]},
            "previous_addresses[0].to",
            "is in the future",
            id="future-to",
        ),
        pytest.param(
            {"previous_addresses": [{"postcode": "LS6 1AA", "from": "2026-01-01"}]},
            "previous_addresses[0].from",
            "is in the future",
            id="future-from",
        ),
        pytest.param(
            {
                "previous_addresses": [
                    {"postcode": "LS6 1AA", "from": "2022-01-02", "to": "2022-01-01"}
                ]
            },
            "previous_addresses[0].to",
            "is before from",
            id="to-before-from",
        ),
        pytest.param(
            {"previous_addresses": [{"postcode": "LS6 1AA", "from_": "2022-01-02"}]},
            "previous_addresses[0].from_",
            "is not a key of the import format",
            id="python-name-of-from",
        ),
        pytest.param(
            {"previous_addresses": [{"postcode": f"LS{i} 1AA"} for i in range(1, 12)]},
            "previous_addresses",
            "must have at most 10 items",
            id="too-many-addresses",
        ),
        pytest.param(
            {"previous_addresses": {"postcode": "LS6 1AA"}},
            "previous_addresses",
            "must be a list",
            id="not-a-list",
        ),
    ],
)
def test_a_bad_history_is_rejected_with_its_field_and_reason(
    changes: dict[str, Any], field: str, reason: str
) -> None:
    assert _only(_line(**changes)) == (field, reason)


def test_a_line_without_history_keeps_the_digest_it_had_before_history_existed() -> None:
    plain = _valid(_line())
    empty = _valid(_line(other_names=[], previous_addresses=[]))
    # The digest as it was computed before the history lists were part of a line.
    before = hashlib.blake2b(b"v1\n", digest_size=16)
    before.update(
        plain.record.model_dump_json(exclude={"other_names", "previous_addresses"}).encode()
    )
    assert plain.source_hash == empty.source_hash == before.digest()
    moved = _valid(_line(previous_addresses=[{"postcode": "LS6 1AA"}]))
    renamed = _valid(_line(other_names=[{"family_name": "Smith"}]))
    assert len({plain.source_hash, moved.source_hash, renamed.source_hash}) == 3
