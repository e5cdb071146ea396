"""The linkage benchmark's mapping of FEBRL records (benchmarks/_febrl.py): one corruption in
FEBRL stays one corruption in the import format."""

from __future__ import annotations

import calendar
import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _febrl import (  # noqa: E402
    FebrlRecord,
    differences,
    map_date,
    map_postcode,
    map_year,
    probability_bands,
)

from mappings.postcodes import normalise_postcode  # noqa: E402

ALL_POSTCODES = [f"{n:04d}" for n in range(10_000)]


def test_every_four_digit_postcode_maps_to_a_distinct_valid_uk_postcode() -> None:
    mapped = [map_postcode(text) for text in ALL_POSTCODES]
    assert all(code is not None and normalise_postcode(code) == code for code in mapped)
    assert len(set(mapped)) == len(ALL_POSTCODES)


def test_one_wrong_postcode_digit_is_one_wrong_character() -> None:
    for text in ALL_POSTCODES[::7]:
        original = map_postcode(text)
        assert original is not None
        for position in range(4):
            digit = str((int(text[position]) + 3) % 10)
            changed = map_postcode(text[:position] + digit + text[position + 1 :])
            assert changed is not None
            assert sum(a != b for a, b in zip(original, changed, strict=True)) == 1


@pytest.mark.parametrize("text", ["", "261", "26155", "26a5", None], ids=repr)
def test_a_postcode_that_is_not_four_digits_is_missing(text: str | None) -> None:
    assert map_postcode(text) is None


def test_years_land_in_the_last_sixteen_years_and_one_digit_changes_stay_changes() -> None:
    assert {map_year(year) for year in range(1900, 2000)} == set(range(2010, 2026))
    for year in range(1900, 2000):
        for step in (1, 10, 100, 1000):
            assert map_year(year + step) != map_year(year)
            assert map_year(year - step) != map_year(year)


def test_leap_days_stay_dates_and_impossible_dates_are_missing() -> None:
    for year in range(1901, 2000):
        mapped = map_date(f"{year}0229")
        assert (mapped is not None) == calendar.isleap(year)
    assert map_date("19850617") == date(map_year(1985), 6, 17)
    assert map_date("19000229") is None
    assert map_date("19851317") is None
    assert map_date(None) is None


def _record(given: str | None, surname: str | None, dob: str, postcode: str) -> FebrlRecord:
    return FebrlRecord(
        dataset=1,
        rec_id="rec-1-org",
        given_name=given,
        surname=surname,
        date_of_birth=map_date(dob),
        postcode=map_postcode(postcode),
        lines=(),
        town=None,
    )


@pytest.mark.parametrize(
    ("duplicate", "expected"),
    [
        (("jane", "smith", "19850617", "2615"), ("none (all four agree)",)),
        (("smith", "jane", "19850617", "2615"), ("names swapped",)),
        (
            (None, "smyth", "19850671", "2616"),
            (
                "given name missing",
                "date of birth missing or unreadable",
                "family name differs",
                "postcode differs",
            ),
        ),
        (("jan", "smith", "19850618", "2615"), ("given name differs", "date of birth differs")),
    ],
    ids=["agree", "swapped", "missing-and-differing", "given-and-date"],
)
def test_differences_are_told_field_by_field(
    duplicate: tuple[str | None, str | None, str, str], expected: tuple[str, ...]
) -> None:
    original = _record("jane", "smith", "19850617", "2615")
    assert differences(_record(*duplicate), original) == expected


def test_a_band_is_flagged_only_with_enough_results_and_a_gap_over_five_points() -> None:
    shown = [(0.95, True)] * 80 + [(0.95, False)] * 20  # 95 predicted, 80 observed
    shown += [(0.45, False)] * 50  # 45 points off, but only 50 results
    shown += [(0.05, True)] * 10 + [(0.05, False)] * 190  # as predicted
    rows = {row["band"]: row for row in probability_bands(shown)}
    assert (rows["0.9-1.0"]["results"], rows["0.9-1.0"]["flagged"]) == (100, True)
    assert rows["0.9-1.0"]["share_the_child"] == pytest.approx(0.8)
    assert (rows["0.4-0.5"]["results"], rows["0.4-0.5"]["flagged"]) == (50, False)
    assert (rows["0.0-0.1"]["results"], rows["0.0-0.1"]["flagged"]) == (200, False)
    assert rows["0.5-0.6"]["results"] == 0
