"""The service's match model: loaded when the app is built, a bad file stops the start, and the
population's frequencies set the prior."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from contactpoint.settings import get_settings
from db.ranker import load_ranker
from matching import (
    Frequencies,
    ModelMalformedError,
    ModelMismatchError,
    ModelMissingError,
    default_model_path,
    load_default_model,
)
from searchapi.main import create_app


@pytest.fixture
def model_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "model.json"
    monkeypatch.setenv("MATCH_MODEL_PATH", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_the_app_is_built_with_the_shipped_model_when_none_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MATCH_MODEL_PATH", raising=False)
    get_settings.cache_clear()
    app = create_app()
    assert app.state.ranker.path == default_model_path()
    assert app.state.ranker.model.comparisons == load_default_model().comparisons


def test_the_app_refuses_to_start_without_its_model_file(model_path: Path) -> None:
    with pytest.raises(ModelMissingError) as raised:
        create_app()
    assert str(model_path) in str(raised.value)


def test_the_app_refuses_to_start_with_a_model_trained_for_other_levels(model_path: Path) -> None:
    data = json.loads(default_model_path().read_text(encoding="utf-8"))
    data["fingerprint"] = "sha256:" + "0" * 64
    model_path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelMismatchError, match="train it again"):
        create_app()


def test_the_app_refuses_to_start_with_a_model_of_another_format_version(
    model_path: Path,
) -> None:
    data = json.loads(default_model_path().read_text(encoding="utf-8"))
    data["format_version"] = 99
    model_path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelMismatchError, match="format version 99"):
        create_app()


def test_the_app_refuses_to_start_with_a_file_that_is_not_a_model(model_path: Path) -> None:
    model_path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelMalformedError):
        create_app()


def test_the_population_frequencies_set_the_prior_and_none_fall_back_to_the_file() -> None:
    ranker = load_ranker(None)
    shipped = load_default_model()
    assert ranker.population == shipped.frequencies.population
    assert ranker.frequencies_source == "model file"
    ranker.use_frequencies(Frequencies(population=250_000, counts={"family_name": {"smith": 9}}))
    assert ranker.frequencies_source == "database"
    assert ranker.population == 250_000
    assert ranker.model.prior == pytest.approx(1 / 250_000)
    assert ranker.model.frequencies.share("family_name", "smith") == pytest.approx(9 / 250_000)
    # m and u stay those of the file.
    assert ranker.model.comparisons == shipped.comparisons
    ranker.use_frequencies(None)
    assert ranker.frequencies_source == "model file"
    assert ranker.population == shipped.frequencies.population


def test_serve_stops_before_any_worker_without_a_usable_model(model_path: Path) -> None:
    from typer.testing import CliRunner

    from contactpoint.cli import app

    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "no such file" in result.output and "the service was not started" in result.output
