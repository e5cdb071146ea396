"""Ranking: the Fellegi-Sunter match weight and probability of each candidate against a query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matching.comparisons import COMPARISONS, MISSING
from matching.model import MatchModel
from matching.prepared import Prepared, prepare
from matching.records import MatchRecord

__all__ = ["FieldScore", "Scored", "score"]

_NAMES = tuple(c.name for c in COMPARISONS)
_LEVEL_NAMES = tuple(c.level_names for c in COMPARISONS)
# Per comparison, the level indices whose u is the agreeing value's frequency.
_TF_LEVELS = tuple(
    frozenset(i for i, level in enumerate(c.levels) if level.term_frequency) for c in COMPARISONS
)
_TF_COMPARISONS = tuple(j for j, levels in enumerate(_TF_LEVELS) if levels)


@dataclass(frozen=True, slots=True)
class FieldScore:
    """How one field compared: the level (None when a side has no value) and its weight."""

    comparison: str
    level: str | None
    weight: float


@dataclass(frozen=True, slots=True)
class Scored:
    """One candidate's result. `match_weight` is log2 of the posterior odds (prior included);
    `probability` the posterior probability that the candidate is the child sought."""

    index: int  # position in the candidates given
    record: MatchRecord
    match_weight: float
    probability: float
    fields: tuple[FieldScore, ...]


def _levels(query: Prepared, candidates: Sequence[Prepared]) -> np.ndarray:
    levels = np.empty((len(candidates), len(COMPARISONS)), dtype=np.intp)
    functions = [c.level_of for c in COMPARISONS]
    for i, candidate in enumerate(candidates):
        levels[i] = [level_of(query, candidate) for level_of in functions]
    return levels


def _term_frequency_weights(
    weights: np.ndarray, levels: np.ndarray, prepared: Sequence[Prepared], model: MatchModel
) -> None:
    """Replace, in place, the weight of exact agreements by log2(m / share of the value)."""
    for j in _TF_COMPARISONS:
        comparison = COMPARISONS[j]
        key = comparison.frequency_key
        assert key is not None  # _TF_COMPARISONS holds only comparisons with a key
        for i in np.flatnonzero(np.isin(levels[:, j], list(_TF_LEVELS[j]))):
            share = model.frequencies.share(comparison.name, key(prepared[int(i)]))
            if share is not None:
                weights[i, j] = np.log2(model.m_values[j, levels[i, j]] / share)


def score(query: MatchRecord, candidates: Sequence[MatchRecord], model: MatchModel) -> list[Scored]:
    """Score every candidate against `query`, best first (ties keep the order given)."""
    if not candidates:
        return []
    wanted = prepare(query)
    prepared = [prepare(candidate) for candidate in candidates]
    levels = _levels(wanted, prepared)
    # One row of model.weights per comparison; index -1 (missing) is the last column, 0.
    weights = model.weights[np.arange(len(COMPARISONS)), levels]
    _term_frequency_weights(weights, levels, prepared, model)
    totals = weights.sum(axis=1) + model.prior_weight
    probabilities = 1.0 / (1.0 + np.exp2(-totals))
    order = np.argsort(-totals, kind="stable")
    return [
        Scored(
            index=int(i),
            record=candidates[i],
            match_weight=float(totals[i]),
            probability=float(probabilities[i]),
            fields=tuple(
                FieldScore(
                    comparison=_NAMES[j],
                    level=None if levels[i, j] == MISSING else _LEVEL_NAMES[j][levels[i, j]],
                    weight=float(weights[i, j]),
                )
                for j in range(len(COMPARISONS))
            ),
        )
        for i in order
    ]
