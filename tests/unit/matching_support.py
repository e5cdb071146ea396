"""A small hand-made match model for the scorer and model-file tests (no tests here)."""

from __future__ import annotations

from collections.abc import Mapping

from matching import COMPARISONS, ComparisonParameters, Frequencies, LevelParameters, MatchModel

# u of every level but "else" (which takes the rest): small and equal, so that the tests
# read off the effect of m and of the frequencies alone.
LEVEL_U = 0.002


def hand_model(
    *,
    population: int = 10_000,
    counts: Mapping[str, Mapping[str, int]] | None = None,
    prior: float | None = None,
) -> MatchModel:
    """Prior m, u of LEVEL_U per level, the given frequencies, lambda 1 / population."""
    comparisons = {}
    for comparison in COMPARISONS:
        agreeing = len(comparison.levels) - 1
        u = [LEVEL_U] * agreeing + [1.0 - LEVEL_U * agreeing]
        comparisons[comparison.name] = ComparisonParameters(
            levels={
                level.name: LevelParameters(m=level.prior_m, u=level_u)
                for level, level_u in zip(comparison.levels, u, strict=True)
            },
            m_source="prior",
        )
    return MatchModel(
        prior=prior if prior is not None else 1.0 / population,
        comparisons=comparisons,
        frequencies=Frequencies(population=population, counts=counts or {}),
        training={"rows": population},
    )
