"""Offline training with Splink on DuckDB: u by random sampling, m by expectation-maximisation.

The caller reads the children (plain `MatchRecord`s); nothing here talks to PostgreSQL.

EM needs pairs that are the same child recorded twice. A population without duplicates has
none, and EM then converges on the next strongest structure, the household (siblings share a
family name and a postcode but not a given name or a date of birth), which would make agreeing
on a given name or a date of birth count against a match. So EM runs only when the population
holds duplicates, each comparison's estimate must pass a sanity check, and otherwise the
comparison keeps its prior m (`Level.prior_m`); the model file says which (`m_source`).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

import duckdb
import splink
from splink import DuckDBAPI, Linker, SettingsCreator

from matching.comparisons import COMPARISONS, Comparison
from matching.frequencies import count_frequencies
from matching.model import ComparisonParameters, LevelParameters, MatchModel
from matching.prepared import prepare
from matching.records import MatchRecord
from matching.splink_comparisons import register_level_functions, splink_comparisons

__all__ = ["EM_BLOCKING_RULES", "TrainingError", "TrainingOptions", "TrainingResult", "train"]

logger = logging.getLogger(__name__)

# Pairs EM learns from. Neither rule lets households in on its own: siblings share neither a
# date of birth (twins aside) nor a given name. Comparisons on a rule's columns are not
# estimated in its session, so each comparison is estimated by at least one rule.
EM_BLOCKING_RULES = (
    "l.date_of_birth = r.date_of_birth",
    "l.given_names = r.given_names AND l.family_name = r.family_name",
)
# m and u are never exactly 0: a level no pair fell into is rare, not impossible.
_FLOOR = 1e-6


class TrainingError(Exception):
    """Training cannot run on what it was given."""


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    """How much to sample, and what to record about the run."""

    u_max_pairs: int = 2_000_000
    em_max_pairs: int = 1_000_000
    seed: int = 1
    # Fewer likely duplicate pairs than this and EM is not run (see the module docstring).
    min_duplicate_pairs: int = 50
    # EM's m is blended with this share of the prior m: a level that no matching pair of the
    # training data fell into (no nicknames in it, say) stays rare rather than impossible.
    prior_share: float = 0.05
    commit: str | None = None
    # m taken from another model (trained where the records hold duplicates) instead of EM:
    # m describes how one child's records differ, u the population, so m travels and u not.
    m_from: MatchModel | None = None
    m_from_label: str | None = None


@dataclass(frozen=True)
class TrainingResult:
    """The model, and what happened on the way."""

    model: MatchModel
    duplicate_pairs: int
    notes: list[str] = field(default_factory=list)


def likely_duplicate_pairs(records: Sequence[MatchRecord]) -> int:
    """Pairs that agree exactly on given names, family name and date of birth, or on given
    names, date of birth and postcode: almost surely one child recorded twice."""
    groups: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        p = prepare(record)
        if p.given is None or p.birth is None:
            continue
        day = p.birth.digits
        if p.family is not None:
            groups[("name", p.given.folded, p.family.folded, day)].append(index)
        if p.place is not None and p.place.postcode is not None:
            groups[("place", p.given.folded, day, p.place.postcode)].append(index)
    pairs = {pair for members in groups.values() for pair in combinations(members, 2)}
    return len(pairs)


def _frame(records: Sequence[MatchRecord]) -> list[dict[str, Any]]:
    return [
        {
            "unique_id": index,
            "given_names": record.given_names,
            "family_name": record.family_name,
            "date_of_birth": None
            if record.date_of_birth is None
            else record.date_of_birth.isoformat(),
            "birth_year": record.birth_year,
            "postcode": record.postcode,
            "town": record.town,
            "gender": record.gender,
            "other_family_names": list(record.other_family_names),
            "previous_postcodes": list(record.previous_postcodes),
        }
        for index, record in enumerate(records)
    ]


def _trained_levels(settings: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Splink's levels of one comparison, the null level left out, in our order."""
    splink_comparison = next(c for c in settings["comparisons"] if c["output_column_name"] == name)
    levels = [
        level for level in splink_comparison["comparison_levels"] if not level.get("is_null_level")
    ]
    ours = [level.name for level in next(c for c in COMPARISONS if c.name == name).levels]
    labels = [level["label_for_charts"] for level in levels]
    if labels != ours:
        raise TrainingError(f"Splink's levels of {name} are {labels}, expected {ours}")
    return levels


def _normalised(values: list[float]) -> list[float]:
    floored = [max(value, _FLOOR) for value in values]
    total = sum(floored)
    return [value / total for value in floored]


def _u_values(trained: list[dict[str, Any]], pairs: int) -> list[float]:
    # A level no sampled pair fell into had a share below one in the sample.
    unseen = 0.5 / pairs
    return _normalised(
        [
            level["u_probability"] if level.get("u_probability") is not None else unseen
            for level in trained
        ]
    )


def _m_values(comparison: Comparison, trained: list[dict[str, Any]]) -> list[float] | None:
    """EM's m of the comparison (a level EM saw no pair in keeps its prior), or None."""
    estimated = [level.get("m_probability") for level in trained]
    if all(value is None for value in estimated):
        return None
    return _normalised(
        [
            value if value is not None else level.prior_m
            for value, level in zip(estimated, comparison.levels, strict=True)
        ]
    )


def _readable(value: float) -> float:
    """Ten significant digits: 0.8 rather than 0.7999999999999998 in the model file."""
    return float(f"{value:.10g}")


def _blended(comparison: Comparison, m: list[float], prior_share: float) -> list[float]:
    priors = _normalised([level.prior_m for level in comparison.levels])
    return [(1.0 - prior_share) * x + prior_share * p for x, p in zip(m, priors, strict=True)]


def _implausible(comparison: Comparison, m: list[float], u: list[float]) -> str | None:
    """Why EM's m cannot be a match class (a household, say), or None when it can."""
    if m[0] <= u[0]:
        return f"the first level ({comparison.levels[0].name}) does not favour a match"
    if sum(m[:-1]) < 0.5:
        return "most matching pairs would disagree"
    if m[-1] >= u[-1]:
        return "disagreeing would favour a match"
    return None


def _m_and_source(
    comparison: Comparison,
    trained: list[dict[str, Any]],
    u: list[float],
    *,
    em_ran: bool,
    prior_share: float,
    notes: list[str],
) -> tuple[list[float], str]:
    """The m of a comparison and where it came from: EM's (blended) or the prior."""
    m = _m_values(comparison, trained) if em_ran else None
    if m is not None and (reason := _implausible(comparison, m, u)) is not None:
        notes.append(f"{comparison.name}: EM's m kept out ({reason}); prior m used")
        m = None
    if m is None:
        return _normalised([level.prior_m for level in comparison.levels]), "prior"
    return _blended(comparison, m, prior_share), "em"


def _imported_m(comparison: Comparison, m_from: MatchModel) -> list[float]:
    """The m of another model, each level at least its prior m: the records that model was
    trained on may be unable to show a level at all (one given name each, so no middle name
    left out, no nickname), and a level they could not show must not count against a match."""
    levels = m_from.comparisons[comparison.name].levels
    return _normalised([max(levels[level.name].m, level.prior_m) for level in comparison.levels])


def _parameters(
    settings: dict[str, Any],
    *,
    em_ran: bool,
    u_pairs: int,
    prior_share: float,
    notes: list[str],
    m_from: MatchModel | None = None,
) -> dict[str, ComparisonParameters]:
    parameters: dict[str, ComparisonParameters] = {}
    for comparison in COMPARISONS:
        trained = _trained_levels(settings, comparison.name)
        u = _u_values(trained, u_pairs)
        if m_from is not None:
            m, source = _imported_m(comparison, m_from), "imported"
        else:
            m, source = _m_and_source(
                comparison, trained, u, em_ran=em_ran, prior_share=prior_share, notes=notes
            )
        parameters[comparison.name] = ComparisonParameters(
            levels={
                level.name: LevelParameters(m=_readable(m_value), u=_readable(u_value))
                for level, m_value, u_value in zip(comparison.levels, m, u, strict=True)
            },
            m_source=source,
        )
    return parameters


def _linker(records: Sequence[MatchRecord], prior: float) -> Linker:
    api = DuckDBAPI()
    register_level_functions(api.duckdb_con)
    frame = api.register(_frame(records))
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=list(splink_comparisons()),
        probability_two_random_records_match=prior,
        retain_intermediate_calculation_columns=False,
    )
    return Linker(frame, settings, log_level=None)


def _m_origin(options: TrainingOptions) -> dict[str, Any]:
    """What the imported m was trained on, for the model file's record of its making."""
    assert options.m_from is not None
    source = options.m_from.training
    return {
        "label": options.m_from_label,
        "trained_at": source.get("trained_at"),
        "rows": source.get("rows"),
        "likely_duplicate_pairs": source.get("likely_duplicate_pairs"),
        "m_sources": {n: c.m_source for n, c in options.m_from.comparisons.items()},
    }


def train(
    records: Sequence[MatchRecord],
    *,
    population: int | None = None,
    options: TrainingOptions | None = None,
) -> TrainingResult:
    """Train a model on `records` (a sample of `population` children when that is larger)."""
    options = options or TrainingOptions()
    if len(records) < 2:
        raise TrainingError("training needs at least two children")
    population = max(population or len(records), len(records))
    # The child sought is one of the population: a record is that child with probability 1/N.
    prior = 1.0 / population
    notes: list[str] = []
    duplicates = likely_duplicate_pairs(records)
    linker = _linker(records, prior)
    u_pairs = min(options.u_max_pairs, math.comb(len(records), 2))
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=options.seed)
    em_ran = options.m_from is None and duplicates >= options.min_duplicate_pairs
    if options.m_from is not None:
        notes.append(f"m imported from {options.m_from_label or 'another model'}; EM not run")
    elif em_ran:
        for rule in EM_BLOCKING_RULES:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=options.em_max_pairs
            )
    else:
        notes.append(
            f"{duplicates} likely duplicate pairs (fewer than {options.min_duplicate_pairs}): "
            "EM not run, since without duplicates it learns households; prior m used"
        )
    settings = linker.misc.save_model_to_json()
    comparisons = _parameters(
        settings,
        em_ran=em_ran,
        u_pairs=u_pairs,
        prior_share=options.prior_share,
        notes=notes,
        m_from=options.m_from,
    )
    for note in notes:
        logger.warning("%s", note)
    training = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": len(records),
        "population": population,
        "commit": options.commit,
        "splink_version": splink.__version__,
        "duckdb_version": duckdb.__version__,
        "u_max_pairs": u_pairs,
        "em_blocking_rules": list(EM_BLOCKING_RULES) if em_ran else [],
        "em_max_pairs": options.em_max_pairs,
        "likely_duplicate_pairs": duplicates,
        "seed": options.seed,
        "prior_share": options.prior_share if em_ran else 1.0,
        "m_from": None if options.m_from is None else _m_origin(options),
        "notes": notes,
    }
    model = MatchModel(
        prior=prior,
        comparisons=comparisons,
        frequencies=count_frequencies(records),
        training=training,
    )
    return TrainingResult(model=model, duplicate_pairs=duplicates, notes=notes)
