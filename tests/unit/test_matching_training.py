"""Training on plain records (Splink on an in-memory DuckDB): what EM may and may not learn.

A population without duplicates holds no pair of one child recorded twice, so EM finds the
household instead; training must notice and keep the prior m. The integration test trains on
PostgreSQL data that does hold duplicates.
"""

from __future__ import annotations

from datetime import date

import pytest

from contactpoint.demo_data import generate_children
from matching import COMPARISONS, MatchRecord
from matching.training import TrainingOptions, likely_duplicate_pairs, train

FAST = TrainingOptions(u_max_pairs=60_000, em_max_pairs=200_000)


def _population(count: int, seed: int) -> list[MatchRecord]:
    return [
        MatchRecord(
            given_names=child["given_names"],
            family_name=child["family_name"],
            date_of_birth=date.fromisoformat(child["date_of_birth"]),
            postcode=child["address"]["postcode"],
            town=child["address"]["town"],
            gender=child["gender"],
        )
        for child in generate_children(count=count, seed=seed)
    ]


BORN = date(2019, 3, 4)
MOLLY = MatchRecord("Molly", "Hall", BORN, None, "EB3 5AB")


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param([MOLLY, MOLLY], 1, id="same-names-and-date"),
        pytest.param(
            [MOLLY, MatchRecord("molly", "Okafor", BORN, None, "eb35ab")], 1, id="same-place"
        ),
        pytest.param([MOLLY, MatchRecord("Molly", "Hall", BORN)], 1, id="no-postcode"),
        pytest.param([MOLLY, MOLLY, MOLLY], 3, id="three-records"),
        pytest.param([MOLLY, MatchRecord("Oscar", "Hall", BORN, None, "EB3 5AB")], 0, id="twins"),
        pytest.param(
            [MOLLY, MatchRecord("Molly", "Hall", date(2019, 3, 5), None, "EB3 5AB")],
            0,
            id="other-date",
        ),
    ],
)
def test_likely_duplicate_pairs_agree_on_given_names_date_and_family_or_postcode(
    records: list[MatchRecord], expected: int
) -> None:
    assert likely_duplicate_pairs(records) == expected


@pytest.fixture(scope="module")
def households() -> list[MatchRecord]:
    """1,500 demo children: households of siblings, and no child recorded twice."""
    return _population(1_500, seed=11)


def test_without_duplicates_em_is_not_run_and_every_m_is_the_prior(
    households: list[MatchRecord],
) -> None:
    result = train(households, options=FAST)
    assert result.duplicate_pairs == 0
    assert {p.m_source for p in result.model.comparisons.values()} == {"prior"}
    assert "EM not run" in result.notes[0]
    for comparison in COMPARISONS:
        levels = result.model.comparisons[comparison.name].levels
        assert levels[comparison.levels[0].name].m == pytest.approx(comparison.levels[0].prior_m)
        # u comes from the data all the same: random pairs mostly disagree (gender aside).
        if comparison.name != "gender":
            assert max(levels.values(), key=lambda p: p.u) is levels["else"]
        assert sum(p.u for p in levels.values()) == pytest.approx(1.0)
    assert result.model.prior == pytest.approx(1 / 1_500)
    assert result.model.training["em_blocking_rules"] == []


def test_em_forced_onto_households_is_caught_for_given_names_and_date_of_birth(
    households: list[MatchRecord],
) -> None:
    forced = TrainingOptions(u_max_pairs=60_000, em_max_pairs=200_000, min_duplicate_pairs=0)
    result = train(households, options=forced)
    sources = {name: p.m_source for name, p in result.model.comparisons.items()}
    # Siblings share a family name and a postcode, not a given name or a date of birth.
    assert sources["given_names"] == "prior"
    assert sources["date_of_birth"] == "prior"
    kept_out = {note.split(":")[0] for note in result.notes}
    assert {"given_names", "date_of_birth"} <= kept_out


def test_training_records_its_provenance(households: list[MatchRecord]) -> None:
    options = TrainingOptions(u_max_pairs=20_000, commit="abc123")
    result = train(households[:300], population=900_000, options=options)
    training = result.model.training
    assert training["rows"] == 300
    assert training["population"] == 900_000
    assert training["commit"] == "abc123"
    assert training["splink_version"].startswith("5.0")
    assert result.model.prior == pytest.approx(1 / 900_000)
    assert result.model.frequencies.population == 300
