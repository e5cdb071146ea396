"""The pages' vocabulary: every closed list's values have words, and none shows a raw value."""

from __future__ import annotations

import pytest

from db.vocabulary import ORGANISATION_KINDS, RELATIONSHIPS
from feeds import Source
from feeds.survivorship import SOURCES
from searchapi.pages.words import LABELS, RECORD_PARTS, label, record_part
from searchapi.record_view import CONTACT_PARTS, LOCATION_PARTS


@pytest.mark.parametrize(
    "value",
    [*RELATIONSHIPS, *ORGANISATION_KINDS, *(source.value for source in Source), *SOURCES],
)
def test_every_stored_value_a_page_shows_has_its_words(value: str) -> None:
    assert value in LABELS
    assert "_" not in label(value) and label(value) == label(value).strip()


def test_words_begin_a_cell_without_losing_an_abbreviation() -> None:
    assert label("step_parent") == "step-parent"
    assert label("gp_practice", start=True) == "GP practice"
    assert label("social_care", start=True) == "Social care"


def test_an_unknown_value_is_shown_as_words_and_nothing_as_nothing() -> None:
    assert label("birth_name", start=True) == "Birth name"
    assert label(None) == "" and label("") == ""


@pytest.mark.parametrize(
    "part", [*LOCATION_PARTS, *CONTACT_PARTS, "names", "gender", "date_of_birth", "carers"]
)
def test_every_part_of_a_record_the_audit_names_has_its_words(part: str) -> None:
    assert part in RECORD_PARTS and "_" not in record_part(part) and "." not in record_part(part)


def test_a_withheld_sensitive_service_is_named_by_its_involvement() -> None:
    assert record_part("involvements[42]") == "sensitive service (involvement 42)"
