"""u from the population: random pairs counted level by level, and put into a model."""

from __future__ import annotations

import math
from datetime import date

import pytest

from matching import COMPARISONS, MatchRecord, count_levels, with_population_u
from matching.u_sampling import MINIMUM_PAIRS, LevelCounts
from tests.unit.matching_support import hand_model


def _household(n: int) -> list[MatchRecord]:
    # Two hundred children in four postcodes: a dense population, where pairs often share one.
    return [
        MatchRecord(
            given_names=f"Child{n % 50:02d}x",
            family_name=f"Family{n % 7}",
            date_of_birth=date(2015 + n % 5, 1 + n % 12, 1 + n % 28),
            postcode=("EB3 5AB", "EB3 5AD", "EB4 1AA", "LS6 2AB")[n % 4],
        )
        for n in range(200)
    ]


def test_count_levels_counts_every_sampled_pair_once_per_comparison() -> None:
    sampled = count_levels(_household(0), pairs=10_000, seed=5)
    for comparison in COMPARISONS:
        table = sampled.counts[comparison.name]
        assert set(table) == {level.name for level in comparison.levels}
        assert sum(table.values()) == sampled.pairs[comparison.name]
    # Gender is unknown everywhere: no pair has both values.
    assert sampled.pairs["gender"] == 0
    assert sampled.pairs["postcode"] == 10_000
    # A quarter of pairs share the postcode; a near one (EB3 5AB / EB3 5AD) is common here.
    shares = {k: v / 10_000 for k, v in sampled.counts["postcode"].items()}
    assert shares["exact"] == pytest.approx(0.25, abs=0.02)
    assert shares["near"] > 0.05


def test_count_levels_is_reproducible_with_a_seed_and_never_pairs_a_record_with_itself() -> None:
    records = _household(0)
    first = count_levels(records, pairs=5_000, seed=9)
    assert first == count_levels(records, pairs=5_000, seed=9)
    two = [MatchRecord(given_names="Ann", postcode="EB3 5AB"), MatchRecord(given_names="Bo")]
    pairs = count_levels(two, pairs=100, seed=1)
    # Two records make one distinct pair, counted once (not a hundred times), names disagreeing.
    assert pairs.counts["given_names"]["else"] == 1 == pairs.pairs["given_names"]
    assert count_levels(two[:1], pairs=100).pairs["given_names"] == 0
    # 200 records: 19,900 distinct pairs at most.
    assert count_levels(records, pairs=50_000).pairs["postcode"] == 19_900


def test_the_population_u_replaces_the_file_u_and_keeps_m() -> None:
    model = hand_model(population=1_000, counts={})
    sampled = count_levels(_household(0), pairs=MINIMUM_PAIRS * 2, seed=3)
    adapted = with_population_u(model, sampled)
    near = adapted.comparisons["postcode"].levels["near"]
    assert near.m == model.comparisons["postcode"].levels["near"].m
    assert near.u == pytest.approx(
        sampled.counts["postcode"]["near"] / sampled.pairs["postcode"], rel=1e-3
    )
    assert math.isclose(sum(p.u for p in adapted.comparisons["postcode"].levels.values()), 1.0)
    # A denser population makes a near postcode weigh less than the file's u said.
    assert near.weight < model.comparisons["postcode"].levels["near"].weight
    # Gender had no pairs: the file's u stays; so does every comparison without enough pairs.
    assert adapted.comparisons["gender"] == model.comparisons["gender"]
    few = LevelCounts(pairs={"postcode": MINIMUM_PAIRS - 1}, counts=sampled.counts)
    assert with_population_u(model, few).comparisons == model.comparisons
    assert with_population_u(model, None) is model


def test_a_level_no_sampled_pair_fell_into_gets_half_a_pair() -> None:
    model = hand_model(population=1_000, counts={})
    table = {level.name: 0 for level in COMPARISONS[4].levels}
    table["else"] = MINIMUM_PAIRS
    sampled = LevelCounts(pairs={"gender": MINIMUM_PAIRS}, counts={"gender": table})
    gender = with_population_u(model, sampled).comparisons["gender"].levels
    assert gender["agree"].u == pytest.approx(0.5 / (MINIMUM_PAIRS + 0.5))
