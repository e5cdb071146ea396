"""Ranking: the Fellegi-Sunter match weight and probability of each candidate against a query."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np

from matching.comparisons import COMPARISONS, MISSING
from matching.model import MatchModel
from matching.prepared import Prepared, prepare
from matching.records import MatchRecord

__all__ = ["ABSENT", "FieldScore", "Scored", "competing_probabilities", "score"]

_NAMES = tuple(c.name for c in COMPARISONS)
_LEVEL_NAMES = tuple(c.level_names for c in COMPARISONS)
# Per comparison, the level indices whose u is the agreeing value's frequency.
_TF_LEVELS = tuple(
    frozenset(i for i, level in enumerate(c.levels) if level.term_frequency) for c in COMPARISONS
)
_TF_COMPARISONS = tuple(j for j, levels in enumerate(_TF_LEVELS) if levels)
# The belief, before any field is compared, that the child sought is not in the population at
# all (not yet registered, moved in from abroad, or someone else's details mixed up): what is
# left of the probability when no candidate explains the query.
ABSENT: Final = 0.05


@dataclass(frozen=True, slots=True)
class FieldScore:
    """How one field compared: the level (None when a side has no value) and its weight."""

    comparison: str
    level: str | None
    weight: float


class Scored(NamedTuple):
    """One candidate's result. `match_weight` is log2 of the posterior odds (prior included);
    `probability` the posterior probability that the candidate is the child sought."""

    position: int  # in the candidates given
    record: MatchRecord | Prepared  # the candidate as given
    match_weight: float
    probability: float
    # Per comparison, the level index (-1 missing) and the weight; `fields` names them. Built
    # on demand: most of the candidates scored are never shown.
    level_indices: tuple[int, ...]
    weights: tuple[float, ...]

    @property
    def fields(self) -> tuple[FieldScore, ...]:
        """How each field compared, in the order of COMPARISONS."""
        return tuple(
            FieldScore(name, None if level == MISSING else names[level], weight)
            for name, names, level, weight in zip(
                _NAMES, _LEVEL_NAMES, self.level_indices, self.weights, strict=True
            )
        )


def _levels(query: Prepared, candidates: Sequence[Prepared]) -> np.ndarray:
    functions = [c.level_of for c in COMPARISONS]
    rows = [[level_of(query, candidate) for level_of in functions] for candidate in candidates]
    return np.array(rows, dtype=np.intp).reshape(len(candidates), len(functions))


def _term_frequency_weights(
    weights: np.ndarray, levels: np.ndarray, prepared: Sequence[Prepared], model: MatchModel
) -> None:
    """Replace, in place, the weight of exact agreements by log2(m / share of the value)."""
    for j in _TF_COMPARISONS:
        comparison = COMPARISONS[j]
        key = comparison.frequency_key
        assert key is not None  # _TF_COMPARISONS holds only comparisons with a key
        for i in np.flatnonzero(np.isin(levels[:, j], list(_TF_LEVELS[j]))).tolist():
            share = model.frequencies.share(comparison.name, key(prepared[i]))
            if share is not None:
                weights[i, j] = math.log2(model.m_values[j, levels[i, j]] / share)


def score(
    query: MatchRecord | Prepared,
    candidates: Sequence[MatchRecord | Prepared],
    model: MatchModel,
) -> list[Scored]:
    """Score every candidate against `query`, best first (ties keep the order given).

    The query and each candidate is a MatchRecord (prepared here, memoised), or already
    prepared (a search prepares its query with `prepare_once`, and its candidates with
    `prepared_from_document` of their hits, memoising nothing).
    """
    if not candidates:
        return []
    wanted = query if isinstance(query, Prepared) else prepare(query)
    prepared = [c if isinstance(c, Prepared) else prepare(c) for c in candidates]
    levels = _levels(wanted, prepared)
    # One row of model.weights per comparison; index -1 (missing) is the last column, 0.
    weights = model.weights[np.arange(len(COMPARISONS)), levels]
    _term_frequency_weights(weights, levels, prepared, model)
    totals = weights.sum(axis=1) + model.prior_weight
    probabilities = 1.0 / (1.0 + np.exp2(-totals))
    order = np.argsort(-totals, kind="stable").tolist()
    level_rows, weight_rows = levels.tolist(), weights.tolist()
    total_list, probability_list = totals.tolist(), probabilities.tolist()
    return [
        Scored(
            position=i,
            record=candidates[i],
            match_weight=total_list[i],
            probability=probability_list[i],
            level_indices=tuple(level_rows[i]),
            weights=tuple(weight_rows[i]),
        )
        for i in order
    ]


def competing_probabilities(
    scored: Sequence[Scored], model: MatchModel, *, absent: float = ABSENT
) -> list[float]:
    """Per candidate (in the order given), the probability that it is the child sought, when
    the candidates compete: the child sought is one child of the population, or none.

    With every child equally likely beforehand (1 - `absent` shared among the population's N),
    and each candidate's Bayes factor BF = 2^(match weight - prior weight), the posterior is
    BF_i / (sum of the candidates' BF + N * absent / (1 - absent)). Children not retrieved are
    left out of the sum: they disagree on nearly everything, so their factors are negligible.
    Two candidates that fit equally well share the belief, where `Scored.probability` (each
    judged alone) would give both nearly 1.
    """
    if not scored:
        return []
    population = 1.0 / model.prior
    factors = np.array([s.match_weight - model.prior_weight for s in scored])
    rest = math.log2(population * absent / (1.0 - absent))
    top = max(float(factors.max()), rest)
    terms = np.exp2(factors - top)
    denominator = float(terms.sum()) + 2.0 ** (rest - top)
    probabilities: list[float] = (terms / denominator).tolist()
    return probabilities
