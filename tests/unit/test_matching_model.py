"""The model file: a round trip keeps every parameter, and a bad file is refused by type."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from matching import (
    COMPARISONS,
    ModelMalformedError,
    ModelMismatchError,
    ModelMissingError,
    fingerprint,
    load_default_model,
    load_model,
    save_model,
)
from matching.comparisons import Level
from tests.unit.matching_support import hand_model


def _saved(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "model.json"
    save_model(
        hand_model(population=1_000, counts={"family_name": {"smith": 12}, "postcode": {}}), path
    )
    return path, json.loads(path.read_text())


def _rewrite(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_a_round_trip_keeps_prior_levels_frequencies_and_metadata(tmp_path: Path) -> None:
    model = hand_model(population=1_000, counts={"family_name": {"smith": 12}})
    path = tmp_path / "model.json"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.prior == model.prior
    assert loaded.comparisons == model.comparisons
    assert loaded.frequencies == model.frequencies
    assert loaded.training == model.training
    assert (loaded.weights == model.weights).all()


def test_the_file_records_format_version_and_the_fingerprint_of_the_levels(
    tmp_path: Path,
) -> None:
    _, data = _saved(tmp_path)
    assert data["format"] == "contactpoint-match-model"
    assert data["format_version"] == 1
    assert data["fingerprint"] == fingerprint()


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="no such file"):
        load_model(tmp_path / "absent.json")


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("{not json")
    with pytest.raises(ModelMalformedError, match="not JSON"):
        load_model(path)


def test_a_json_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = _rewrite(tmp_path / "model.json", {"comparisons": []})
    with pytest.raises(ModelMalformedError, match="not a contactpoint-match-model file"):
        load_model(path)


def test_another_format_version_is_refused(tmp_path: Path) -> None:
    path, data = _saved(tmp_path)
    with pytest.raises(ModelMismatchError, match="format version 2"):
        load_model(_rewrite(path, data | {"format_version": 2}))


def test_a_model_trained_for_other_levels_is_refused(tmp_path: Path) -> None:
    path, data = _saved(tmp_path)
    with pytest.raises(ModelMismatchError, match="other comparison levels"):
        load_model(_rewrite(path, data | {"fingerprint": "sha256:0123"}))


BROKEN = [
    pytest.param(lambda d: d["comparisons"].pop("gender"), "comparison 'gender'", id="comparison"),
    pytest.param(
        lambda d: d["comparisons"]["postcode"]["levels"].pop("near"),
        "postcode.near is missing",
        id="level",
    ),
    pytest.param(
        lambda d: d["comparisons"]["gender"]["levels"]["agree"].update(m="high"),
        "not a number",
        id="m-not-a-number",
    ),
    pytest.param(
        lambda d: d["comparisons"]["gender"]["levels"]["agree"].update(u=0),
        "not a probability",
        id="u-zero",
    ),
    pytest.param(
        lambda d: d["comparisons"]["gender"]["levels"]["agree"].update(m=0.5),
        "m of gender sums to",
        id="m-not-summing-to-one",
    ),
    pytest.param(
        lambda d: d["comparisons"]["gender"].update(m_source="guess"), "m_source", id="m-source"
    ),
    pytest.param(lambda d: d.update(prior=1), "every record would match", id="prior-one"),
    pytest.param(lambda d: d.pop("prior"), "prior is not a number", id="prior-missing"),
    pytest.param(
        lambda d: d["frequencies"].update(population=0), "population", id="population-zero"
    ),
    pytest.param(
        lambda d: d["frequencies"]["values"]["family_name"].update(smith=-1),
        "not positive counts",
        id="negative-count",
    ),
]


@pytest.mark.parametrize(("damage", "message"), BROKEN)
def test_a_malformed_model_is_refused_saying_what_is_wrong(
    tmp_path: Path, damage: Any, message: str
) -> None:
    path, data = _saved(tmp_path)
    damage(data)
    with pytest.raises(ModelMalformedError, match=message) as refused:
        load_model(_rewrite(path, data))
    assert refused.value.path == str(path)


def test_the_fingerprint_changes_when_a_level_changes() -> None:
    given = COMPARISONS[0]
    renamed = replace(given, levels=(Level("same", "identical", 0.8), *given.levels[1:]))
    assert fingerprint((renamed, *COMPARISONS[1:])) != fingerprint()
    reworded = replace(
        given, levels=(replace(given.levels[0], description="equal"), *given.levels[1:])
    )
    assert fingerprint((reworded, *COMPARISONS[1:])) != fingerprint()


def test_the_shipped_model_loads_and_fits_the_current_levels() -> None:
    model = load_default_model()
    assert set(model.comparisons) == {c.name for c in COMPARISONS}
    assert model.training["splink_version"].startswith("5.0")
    assert model.frequencies.population == model.training["rows"]


def test_a_model_can_take_the_prior_of_a_larger_population() -> None:
    model = hand_model(population=1_000)
    larger = model.for_population(1_000_000)
    assert larger.prior == pytest.approx(1e-6)
    assert larger.prior_weight < model.prior_weight
    assert larger.comparisons == model.comparisons
