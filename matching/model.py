"""The trained model: m and u per level, the prior, value frequencies, and its versioned file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matching.comparisons import COMPARISONS, fingerprint
from matching.frequencies import Frequencies

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ComparisonParameters",
    "LevelParameters",
    "MatchModel",
    "ModelError",
    "ModelMalformedError",
    "ModelMismatchError",
    "ModelMissingError",
    "default_model_path",
    "load_default_model",
    "load_model",
    "save_model",
]

FORMAT = "contactpoint-match-model"
FORMAT_VERSION = 1
M_SOURCES = ("em", "prior", "imported")
# m and u of a comparison's levels are probabilities of one pair falling in each: they sum to 1.
_SUM_TOLERANCE = 1e-3


class ModelError(Exception):
    """A model file that cannot be used, with its path and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"match model {path}: {reason}")
        self.path = str(path)
        self.reason = reason


class ModelMissingError(ModelError):
    """There is no model file at the path."""


class ModelMalformedError(ModelError):
    """The file is not a model: not JSON, or a value missing or out of range."""


class ModelMismatchError(ModelError):
    """A model of another format version, or trained for other comparison levels."""


@dataclass(frozen=True, slots=True)
class LevelParameters:
    """P(level | match) and P(level | non-match)."""

    m: float
    u: float

    @property
    def weight(self) -> float:
        """log2(m / u), the match weight the level earns."""
        return math.log2(self.m / self.u)


@dataclass(frozen=True, slots=True)
class ComparisonParameters:
    """The fine levels' parameters of one comparison, and how m was obtained."""

    levels: Mapping[str, LevelParameters]
    # "em" (estimated by expectation-maximisation), "prior" (the level's assumed m), or
    # "imported" (taken from another model file, trained where the records hold duplicates)
    m_source: str


def _coarse_parameters(name: str, params: ComparisonParameters) -> dict[str, LevelParameters]:
    comparison = next(c for c in COMPARISONS if c.name == name)
    derived: dict[str, LevelParameters] = {}
    for coarse in comparison.coarse:
        m = sum(params.levels[level].m for level in coarse.of)
        u = sum(params.levels[level].u for level in coarse.of)
        if coarse.complement:
            m, u = 1.0 - m, 1.0 - u
        derived[coarse.name] = LevelParameters(m=max(m, 1e-9), u=max(u, 1e-9))
    return derived


@dataclass(frozen=True)
class MatchModel:
    """A Fellegi-Sunter model over `matching.comparisons.COMPARISONS`."""

    prior: float  # lambda: the probability that a record is the one sought
    comparisons: Mapping[str, ComparisonParameters]
    frequencies: Frequencies
    training: Mapping[str, Any] = field(default_factory=dict)
    # Derived at construction, for the scorer: per comparison, the weight of every level index
    # (fine then coarse) with 0 in the last column for a missing value (index -1), and m.
    weights: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)
    m_values: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        width = max(len(c.level_names) for c in COMPARISONS) + 1
        weights = np.zeros((len(COMPARISONS), width))
        m_values = np.ones((len(COMPARISONS), width))
        for row, comparison in enumerate(COMPARISONS):
            params = self.comparisons[comparison.name]
            every = dict(params.levels) | _coarse_parameters(comparison.name, params)
            for column, name in enumerate(comparison.level_names):
                weights[row, column] = every[name].weight
                m_values[row, column] = every[name].m
        weights.setflags(write=False)
        m_values.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "m_values", m_values)

    def for_population(self, population: int) -> MatchModel:
        """This model with the prior of a population of `population` children: the child
        sought is one of them, so a record is that child with probability 1 / population."""
        return replace(self, prior=1.0 / max(population, 2))

    @property
    def prior_weight(self) -> float:
        """log2 of the prior odds, the weight every candidate starts from."""
        return math.log2(self.prior / (1.0 - self.prior))


def _to_json(model: MatchModel) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fingerprint": fingerprint(),
        "prior": model.prior,
        "comparisons": {
            name: {
                "m_source": params.m_source,
                "levels": {
                    level: {"m": p.m, "u": p.u, "weight": round(p.weight, 4)}
                    for level, p in params.levels.items()
                },
            }
            for name, params in model.comparisons.items()
        },
        "training": dict(model.training),
        "frequencies": {
            "population": model.frequencies.population,
            "values": {name: dict(table) for name, table in model.frequencies.counts.items()},
        },
    }


def save_model(model: MatchModel, path: Path) -> None:
    """Write `model` to `path` as JSON (the whole file or none)."""
    partial = path.with_name(path.name + ".part")
    text = json.dumps(_to_json(model), indent=1, ensure_ascii=False)
    partial.write_text(text + "\n", encoding="utf-8")
    partial.replace(path)


def _probability(value: Any, what: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ModelMalformedError(path, f"{what} is not a number")
    number = float(value)
    if not 0.0 < number <= 1.0:
        raise ModelMalformedError(path, f"{what} is {number}, not a probability above 0")
    return number


def _prior(value: Any, path: Path) -> float:
    prior = _probability(value, "prior", path)
    if prior >= 1.0:
        raise ModelMalformedError(path, "prior is 1: every record would match")
    return prior


def _comparison(data: Any, name: str, path: Path) -> ComparisonParameters:
    comparison = next(c for c in COMPARISONS if c.name == name)
    if not isinstance(data, dict) or not isinstance(data.get("levels"), dict):
        raise ModelMalformedError(path, f"comparison {name!r} has no levels")
    levels: dict[str, LevelParameters] = {}
    for level in comparison.levels:
        entry = data["levels"].get(level.name)
        if not isinstance(entry, dict):
            raise ModelMalformedError(path, f"level {name}.{level.name} is missing")
        levels[level.name] = LevelParameters(
            m=_probability(entry.get("m"), f"m of {name}.{level.name}", path),
            u=_probability(entry.get("u"), f"u of {name}.{level.name}", path),
        )
    for kind in ("m", "u"):
        total = sum(getattr(p, kind) for p in levels.values())
        if abs(total - 1.0) > _SUM_TOLERANCE:
            raise ModelMalformedError(path, f"{kind} of {name} sums to {total:.4f}, not 1")
    source = data.get("m_source")
    if source not in M_SOURCES:
        raise ModelMalformedError(path, f"m_source of {name} is {source!r}")
    return ComparisonParameters(levels=levels, m_source=source)


def _frequencies(data: Any, path: Path) -> Frequencies:
    if not isinstance(data, dict):
        raise ModelMalformedError(path, "frequencies are missing")
    population = data.get("population")
    values = data.get("values")
    if isinstance(population, bool) or not isinstance(population, int) or population < 1:
        raise ModelMalformedError(path, "frequencies.population is not a positive integer")
    if not isinstance(values, dict):
        raise ModelMalformedError(path, "frequencies.values is missing")
    counts: dict[str, dict[str, int]] = {}
    for name, table in values.items():
        if not isinstance(table, dict) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in table.values()
        ):
            raise ModelMalformedError(path, f"frequencies of {name} are not positive counts")
        counts[str(name)] = table
    return Frequencies(population=population, counts=counts)


def _from_json(data: Any, path: Path) -> MatchModel:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelMalformedError(path, f"not a {FORMAT} file")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelMismatchError(
            path, f"format version {version!r}; this code reads version {FORMAT_VERSION}"
        )
    if data.get("fingerprint") != fingerprint():
        raise ModelMismatchError(
            path,
            "trained for other comparison levels (fingerprint "
            f"{data.get('fingerprint')!r}, expected {fingerprint()!r}): train it again",
        )
    comparisons = data.get("comparisons")
    if not isinstance(comparisons, dict):
        raise ModelMalformedError(path, "comparisons are missing")
    training = data.get("training", {})
    if not isinstance(training, dict):
        raise ModelMalformedError(path, "training is not an object")
    return MatchModel(
        prior=_prior(data.get("prior"), path),
        comparisons={
            c.name: _comparison(comparisons.get(c.name), c.name, path) for c in COMPARISONS
        },
        frequencies=_frequencies(data.get("frequencies"), path),
        training=training,
    )


def load_model(path: Path) -> MatchModel:
    """Read a model file; raise a ModelError when it is missing, malformed or mismatched."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ModelMissingError(path, "no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelMalformedError(path, f"cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelMalformedError(path, f"not JSON: {exc}") from exc
    return _from_json(data, path)


def default_model_path() -> Path:
    """Where the shipped model (trained on the demo population) lies."""
    with as_file(files("matching.data").joinpath("model.json")) as path:
        return Path(path)


def load_default_model() -> MatchModel:
    """The shipped model."""
    return load_model(default_model_path())
