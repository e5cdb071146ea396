"""How a hit matched: named clauses from Elasticsearch, fuzzy ones tested on the hit's source."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from mappings import fields as f
from mappings.query_builder import (
    Criteria,
    build_query,
    fuzzy_source_fields,
    matched_kinds,
)

TOMSON = Criteria(given_name="Ellie", family_name="Tomson", date_of_birth=date(2019, 3, 4))


def _names(query: object) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "_name" in node:
                found.append(node["_name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(query)
    return found


def test_fuzzy_clauses_are_not_named_and_the_rest_are() -> None:
    query = build_query(TOMSON, access_filter=[])
    names = _names(query)
    assert names, "the exact, phonetic, nickname... clauses carry names"
    assert not any(":typo:" in name for name in names if not name.startswith("date_of_birth"))
    assert '"fuzzy"' in json.dumps(query)


def test_the_fuzzy_fields_are_asked_for_in_the_source() -> None:
    assert fuzzy_source_fields(TOMSON) == sorted({f.GIVEN_NAME_TOKENS, f.FAMILY_NAME_TOKENS})


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (["thomson"], "typo"),  # one insertion
        (["tmoson"], "typo"),  # a transposition counts as one edit
        (["tomsen"], "typo"),  # one substitution
        (["tombsen"], "typo"),  # two edits, the first two letters right
        (["domsen"], None),  # two edits, one of them in the first two letters
        (["jones"], None),
    ],
)
def test_a_typo_is_told_by_the_same_test_as_the_fuzzy_query(
    stored: list[str], expected: str | None
) -> None:
    source = {f.FAMILY_NAME_TOKENS: stored, f.GIVEN_NAME_TOKENS: ["ellie"]}
    matched = matched_kinds(TOMSON, ["given_name:exact:0"], source)
    assert matched.get("family_name") == expected
    assert matched["given_name"] == "exact"


def test_a_better_named_match_wins_over_a_typo() -> None:
    source = {f.FAMILY_NAME_TOKENS: ["tomson"], f.GIVEN_NAME_TOKENS: ["ellie"]}
    names = ["family_name:exact:0", "given_name:exact:0", "date_of_birth:exact:0"]
    assert matched_kinds(TOMSON, names, source) == {
        "family_name": "exact",
        "given_name": "exact",
        "date_of_birth": "exact",
    }


def test_a_postcode_one_character_wrong_is_a_typo() -> None:
    criteria = Criteria(family_name="Tomson", postcode="LS6 2QX")
    source = {f.POSTCODE: "LS6 2QY", f.FAMILY_NAME_TOKENS: ["tomson"]}
    assert matched_kinds(criteria, ["family_name:exact:0"], source)["postcode"] == "typo"


def _must_names(query: dict[str, Any]) -> list[str]:
    return _names(query["bool"]["must"])


def _should_names(query: dict[str, Any]) -> list[str]:
    return _names(query["bool"]["should"])


def test_when_any_two_criteria_will_do_a_year_alone_only_adds_to_the_score() -> None:
    query = build_query(TOMSON, access_filter=[])
    assert not any(name.startswith("date_of_birth:year_only:") for name in _must_names(query))
    assert any(name.startswith("date_of_birth:exact:") for name in _must_names(query))
    (year,) = [name for name in _should_names(query) if name.startswith("date_of_birth:")]
    # Named by its place among the field's clauses, as `matched_kinds` reads it.
    source = {f.FAMILY_NAME_TOKENS: ["tomson"], f.GIVEN_NAME_TOKENS: ["ellie"]}
    assert matched_kinds(TOMSON, [year], source)["date_of_birth"] == "year_only"


def test_a_feeds_last_pass_counts_a_year_alone() -> None:
    query = build_query(TOMSON, access_filter=[], year_alone_counts=True)
    assert any(name.startswith("date_of_birth:year_only:") for name in _must_names(query))
    assert not any(name.startswith("date_of_birth:") for name in _should_names(query))


@pytest.mark.parametrize(
    "criteria",
    [
        # A year of birth is all the searcher gave: it is the criterion.
        Criteria(family_name="Tomson", birth_year=2019),
        # The date of birth is required: every way it agrees stays in the one clause.
        Criteria(
            given_name="Ellie",
            date_of_birth=date(2019, 3, 4),
            postcode="LS6 2QX",
            required=("given_name", "date_of_birth", "postcode"),
            anchor="postcode",
        ),
    ],
    ids=["birth-year-given", "date-of-birth-required"],
)
def test_otherwise_the_year_is_matched_as_before(criteria: Criteria) -> None:
    query = build_query(criteria, access_filter=[])
    assert any(name.startswith("date_of_birth:") for name in _must_names(query))
    assert not any(name.startswith("date_of_birth:") for name in _should_names(query))
