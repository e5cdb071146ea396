"""The scorer: weights per field, term-frequency adjustment, probabilities and the ranking."""

from __future__ import annotations

import math
from datetime import date

import pytest

from matching import (
    MatchModel,
    MatchRecord,
    Scored,
    competing_probabilities,
    load_default_model,
    score,
)
from matching.comparisons import comparison_named
from tests.unit.matching_support import LEVEL_U, hand_model

# The prior m of an exact family name, which the hand model uses.
FAMILY_EXACT_M = comparison_named("family_name").levels[0].prior_m

BORN = date(2019, 3, 4)
QUERY = MatchRecord(
    given_names="Molly", family_name="Smith", date_of_birth=BORN, postcode="EB3 5AB", town="Leeds"
)


def _fields(result: Scored) -> dict[str, tuple[str | None, float]]:
    return {f.comparison: (f.level, f.weight) for f in result.fields}


def test_a_rare_family_name_agreeing_weighs_more_than_a_common_one() -> None:
    model = hand_model(population=10_000, counts={"family_name": {"smith": 150, "quennell": 2}})
    common = score(MatchRecord(family_name="Smith"), [MatchRecord(family_name="SMITH")], model)
    rare = score(MatchRecord(family_name="Quennell"), [MatchRecord(family_name="Quennell")], model)
    common_weight = _fields(common[0])["family_name"]
    rare_weight = _fields(rare[0])["family_name"]
    assert common_weight[0] == rare_weight[0] == "exact"
    assert rare_weight[1] > common_weight[1]
    assert common_weight[1] == pytest.approx(math.log2(FAMILY_EXACT_M / (150 / 10_000)))


def test_a_value_missing_from_the_frequencies_counts_as_held_once() -> None:
    model = hand_model(population=10_000, counts={"family_name": {"smith": 150}})
    result = score(
        MatchRecord(family_name="Quennell"), [MatchRecord(family_name="Quennell")], model
    )
    assert _fields(result[0])["family_name"][1] == pytest.approx(math.log2(FAMILY_EXACT_M * 10_000))


def test_without_frequencies_an_exact_agreement_earns_the_level_weight() -> None:
    model = hand_model(counts={})
    result = score(MatchRecord(family_name="Smith"), [MatchRecord(family_name="Smith")], model)
    assert _fields(result[0])["family_name"][1] == pytest.approx(
        math.log2(FAMILY_EXACT_M / LEVEL_U)
    )


def test_the_child_agreeing_on_date_postcode_and_given_name_outranks_common_family_names() -> None:
    model = hand_model(population=100_000, counts={"family_name": {"smith": 1_200}})
    right = MatchRecord(  # family name changed since, everything else the same
        given_names="Molly Sienna", family_name="Okafor", date_of_birth=BORN, postcode="EB3 5AB"
    )
    smiths = [
        MatchRecord(given_names=given, family_name="Smith", date_of_birth=born, postcode="LS6 2AB")
        for given, born in (("Oscar", date(2019, 8, 1)), ("Harry", date(2017, 3, 4)))
    ]
    ranked = score(QUERY, [*smiths, right], model)
    assert ranked[0].record == right
    assert ranked[0].probability > 1_000 * ranked[1].probability


def test_the_shipped_model_ranks_the_right_child_above_common_family_names() -> None:
    model = load_default_model()
    right = MatchRecord(
        given_names="Molly Sienna", family_name="Okafor", date_of_birth=BORN, postcode="EB3 5AB"
    )
    smiths = [
        MatchRecord(
            given_names="Oscar", family_name="Smith", date_of_birth=BORN, postcode="LS6 2AB"
        ),
        MatchRecord(given_names="Mollie", family_name="Smith", date_of_birth=date(2016, 1, 9)),
    ]
    assert score(QUERY, [*smiths, right], model)[0].record == right


def test_probability_rises_with_the_match_weight() -> None:
    model = hand_model()
    candidates = [
        QUERY,
        MatchRecord(given_names="Molly", family_name="Smith", date_of_birth=BORN),
        MatchRecord(given_names="Molly", family_name="Smyth", date_of_birth=date(2019, 4, 3)),
        MatchRecord(given_names="Mollie", family_name="Smith"),
        MatchRecord(given_names="Oscar", family_name="Smith", postcode="EB3 5XY"),
        MatchRecord(given_names="Oscar", family_name="Jones", date_of_birth=date(2010, 1, 1)),
    ]
    ranked = score(QUERY, candidates, model)
    weights = [r.match_weight for r in ranked]
    probabilities = [r.probability for r in ranked]
    assert weights == sorted(weights, reverse=True)
    assert len(set(weights)) == len(weights)
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    for result in ranked:
        assert result.probability == pytest.approx(1.0 / (1.0 + 2.0**-result.match_weight))


def test_field_weights_and_the_prior_add_up_to_the_match_weight() -> None:
    model = hand_model(population=50_000)
    (result,) = score(QUERY, [QUERY], model)
    total = sum(weight for _, weight in _fields(result).values())
    assert result.match_weight == pytest.approx(total + math.log2(1 / 49_999))


def test_a_field_missing_on_either_side_earns_nothing() -> None:
    model = hand_model()
    (result,) = score(
        MatchRecord(given_names="Molly", gender="unknown"),
        [MatchRecord(given_names="Molly", family_name="Smith", gender="female")],
        model,
    )
    fields = _fields(result)
    assert fields["family_name"] == (None, 0.0)
    assert fields["gender"] == (None, 0.0)
    assert fields["date_of_birth"] == (None, 0.0)


def test_a_child_whose_location_is_withheld_ranks_the_same_whatever_its_postcode() -> None:
    model = hand_model()
    withheld = [
        MatchRecord(given_names="Molly", family_name="Smith", date_of_birth=BORN),
        MatchRecord(given_names="Molly", family_name="Smith", date_of_birth=BORN),
    ]
    first, second = score(QUERY, withheld, model)
    assert first.match_weight == second.match_weight
    assert _fields(first)["postcode"] == (None, 0.0)


def test_a_query_knowing_only_the_year_gains_when_the_year_agrees() -> None:
    model: MatchModel = hand_model()
    query = MatchRecord(family_name="Smith", birth_year=2019)
    agrees, differs = score(
        query,
        [MatchRecord(family_name="Smith", date_of_birth=BORN)]
        + [MatchRecord(family_name="Smith", date_of_birth=date(2015, 3, 4))],
        model,
    )
    assert _fields(agrees)["date_of_birth"][0] == "year_agrees"
    assert _fields(agrees)["date_of_birth"][1] > 0 > _fields(differs)["date_of_birth"][1]


def test_a_query_knowing_only_the_district_gains_when_it_agrees() -> None:
    model = hand_model()
    query = MatchRecord(family_name="Smith", postcode="eb3")
    (result,) = score(query, [MatchRecord(family_name="Smith", postcode="EB3 5AB")], model)
    assert _fields(result)["postcode"][0] == "outward_agrees"
    assert _fields(result)["postcode"][1] > 0


def test_ties_keep_the_order_the_candidates_came_in() -> None:
    model = hand_model()
    same = [MatchRecord(given_names="Molly", identifier=str(n)) for n in range(5)]
    ranked = score(MatchRecord(given_names="Molly"), same, model)
    assert [r.position for r in ranked] == [0, 1, 2, 3, 4]
    assert [r.record.identifier for r in ranked] == ["0", "1", "2", "3", "4"]


def test_no_candidates_give_no_results() -> None:
    assert score(QUERY, [], hand_model()) == []


def test_competing_candidates_share_the_belief_that_one_of_them_is_the_child() -> None:
    model = hand_model(population=10_000, counts={})
    twin = MatchRecord(
        given_names="Molly", family_name="Smith", date_of_birth=BORN, postcode="EB3 5AB"
    )
    ranked = score(QUERY, [QUERY, twin], model)
    alone = competing_probabilities(ranked[:1], model)
    together = competing_probabilities(ranked, model)
    # Alone, a record agreeing on everything is almost surely the child; two equal ones share.
    assert alone[0] > 0.99
    assert together[0] == pytest.approx(together[1])
    assert sum(together) <= 1.0 and together[0] < 0.5 + 1e-9
    # Each judged alone (Scored.probability) both would be almost sure.
    assert min(r.probability for r in ranked) > 0.99


def test_with_no_candidate_explaining_the_query_the_child_is_probably_elsewhere() -> None:
    model = hand_model(population=10_000, counts={})
    stranger = MatchRecord(
        given_names="Zebedee", family_name="Quennell", date_of_birth=date(2011, 12, 25)
    )
    ranked = score(QUERY, [stranger], model)
    (probability,) = competing_probabilities(ranked, model)
    assert probability < 1e-6


def test_the_competing_probability_follows_the_formula() -> None:
    model = hand_model(population=1_000, counts={})
    ranked = score(QUERY, [MatchRecord(given_names="Molly", family_name="Smith")], model)
    (probability,) = competing_probabilities(ranked, model, absent=0.2)
    factor = 2.0 ** (ranked[0].match_weight - model.prior_weight)
    assert probability == pytest.approx(factor / (factor + 1_000 * 0.2 / 0.8))
    assert competing_probabilities([], model) == []
