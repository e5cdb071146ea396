"""`contactpoint matching train` and `matching frequencies` on children in the real PostgreSQL.

With some children recorded twice (as a second source records them: a first given name alone,
a typo, day and month exchanged, a postcode character wrong), EM learns m from the data, and
the m/u are sane. With the demo population alone, which holds no duplicates, the prior m stays.
The value frequencies are rebuilt whole in PostgreSQL and read back as the engine counts them.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from contactpoint.cli import app
from contactpoint.demo_data import check_digit, generate_children
from contactpoint.settings import Settings
from db.ranker import load_ranker
from indexer.frequencies import U_PAIRS, load_match_frequencies, load_match_level_counts
from mappings.normalise import fold
from matching import (
    COMPARISONS,
    MatchModel,
    MatchRecord,
    count_frequencies,
    load_model,
)

pytestmark = pytest.mark.integration

CHILDREN = 1_500
# What the suite's other modules load and empty too (the audit and users are left alone).
_TABLES = (
    "child, carer, involvement, shield, organisation, practitioner, index_outbox, "
    "match_frequency, match_frequency_total, match_level_count"
)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def _empty(settings: Settings) -> None:
    owner = create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)
    with owner.begin() as connection:
        connection.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    owner.dispose()


@pytest.fixture
def empty_tables(migrated_database: str, settings: Settings) -> Iterator[None]:
    _empty(settings)
    yield
    _empty(settings)


def _identifier(n: int) -> str:
    """A valid identifier outside the demo generator's numbers' order (which it never repeats)."""
    base = 890_000_000 + n
    while (check := check_digit(str(base))) is None:
        base += 1_000_000
    return f"{base}{check}"


def _typo(rng: random.Random, word: str) -> str:
    position = rng.randrange(1, len(word))
    letter = rng.choice([c for c in "aeiourstln" if c != word[position].lower()])
    return word[:position] + letter + word[position + 1 :]


def _recorded_again(rng: random.Random, child: dict[str, Any], n: int) -> dict[str, Any]:
    """The child as another service might have recorded it: a few fields differ a little."""
    again = json.loads(json.dumps(child))
    again["identifier"] = _identifier(n)
    again.pop("shield", None)
    words = child["given_names"].split()
    if len(words) > 1 and rng.random() < 0.5:
        again["given_names"] = words[0]
    elif rng.random() < 0.2:
        again["given_names"] = _typo(rng, child["given_names"])
    if rng.random() < 0.2:
        again["family_name"] = _typo(rng, child["family_name"])
    year, month, day = (int(part) for part in child["date_of_birth"].split("-"))
    if rng.random() < 0.1 and day <= 12 and day != month:
        again["date_of_birth"] = f"{year:04d}-{day:02d}-{month:02d}"
    postcode = child["address"]["postcode"]
    if rng.random() < 0.15:
        letter = rng.choice([c for c in _INWARD_LETTERS if c != postcode[-1]])
        again["address"]["postcode"] = postcode[:-1] + letter
    return again


def _match_records(children: list[dict[str, Any]]) -> list[MatchRecord]:
    return [
        MatchRecord(
            given_names=child["given_names"],
            family_name=child["family_name"],
            date_of_birth=date.fromisoformat(child["date_of_birth"]),
            postcode=child["address"]["postcode"],
            town=child["address"]["town"],
            gender=child["gender"],
        )
        for child in children
    ]


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def _load_and_train(tmp_path: Path, lines: list[dict[str, Any]]) -> tuple[MatchModel, str]:
    runner = CliRunner()
    loaded = runner.invoke(app, ["load", "--no-progress", str(_write(tmp_path / "c.jsonl", lines))])
    assert loaded.exit_code == 0, loaded.output
    out = tmp_path / "model.json"
    trained = runner.invoke(
        app, ["matching", "train", "--out", str(out), "--u-pairs", "100000", "--seed", "3"]
    )
    assert trained.exit_code == 0, trained.output
    return load_model(out), trained.output


def test_em_learns_m_from_children_recorded_twice_and_the_m_u_are_sane(
    empty_tables: None, tmp_path: Path
) -> None:
    rng = random.Random(5)
    children = list(generate_children(count=CHILDREN, seed=21))
    twice = [
        _recorded_again(rng, child, n) for n, child in enumerate(children) if rng.random() < 0.25
    ]
    model, output = _load_and_train(tmp_path, children + twice)

    assert f"trained on {len(children) + len(twice)} of {len(children) + len(twice)}" in output
    assert model.training["em_blocking_rules"]
    assert model.training["likely_duplicate_pairs"] >= 50
    for comparison in COMPARISONS:
        params = model.comparisons[comparison.name]
        assert params.m_source == "em", comparison.name
        levels = list(params.levels.values())
        first, last = levels[0], levels[-1]
        # The first level is where matching pairs mostly fall, and it favours a match;
        # disagreeing counts against one.
        assert first.m == max(level.m for level in levels), comparison.name
        assert first.weight > 0 > last.weight, comparison.name
        # Every level that EM found matching pairs in favours a match.
        for name, level in params.levels.items():
            if name != "else" and level.m >= 0.01:
                assert level.m > level.u, f"{comparison.name}.{name}"
        assert sum(level.m for level in levels) == pytest.approx(1.0)
        assert sum(level.u for level in levels) == pytest.approx(1.0)
    # The kinds of recording differences the second records hold are the levels EM found.
    assert model.comparisons["given_names"].levels["subset"].m > 0.05
    assert model.comparisons["date_of_birth"].levels["day_month_swapped"].m > 0.005
    assert model.comparisons["postcode"].levels["near"].m > 0.03


def test_on_the_demo_population_alone_the_prior_m_stays_and_u_comes_from_the_data(
    empty_tables: None, tmp_path: Path
) -> None:
    children = list(generate_children(count=CHILDREN, seed=22))
    model, output = _load_and_train(tmp_path, children)

    assert "EM not run" in output
    assert {p.m_source for p in model.comparisons.values()} == {"prior"}
    assert model.prior == pytest.approx(1 / CHILDREN)
    assert model.frequencies.population == CHILDREN
    smiths = sum(1 for child in children if child["family_name"] == "Smith")
    assert model.frequencies.counts["family_name"].get("smith", 1) == max(smiths, 1)
    for comparison in COMPARISONS:
        levels = model.comparisons[comparison.name].levels
        assert levels[comparison.levels[0].name].m == pytest.approx(comparison.levels[0].prior_m)
        assert levels[comparison.levels[0].name].m > levels[comparison.levels[0].name].u
        assert levels["else"].weight < 0


def test_frequencies_are_rebuilt_whole_in_postgresql_and_read_back(
    empty_tables: None, tmp_path: Path, engine: Engine
) -> None:
    children = list(generate_children(count=400, seed=23))
    runner = CliRunner()
    path = _write(tmp_path / "c.jsonl", children)
    assert runner.invoke(app, ["load", "--no-progress", str(path)]).exit_code == 0
    rebuilt = runner.invoke(app, ["matching", "frequencies"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "counted the values of 400 children" in rebuilt.output

    with Session(engine) as session:
        stored = load_match_frequencies(session=session)
    assert stored is not None
    assert stored == count_frequencies(_match_records(children))
    family = Counter(fold(child["family_name"]) for child in children)
    common, holders = family.most_common(1)[0]
    assert holders >= 2 and stored.counts["family_name"][common] == holders
    # The same pass sampled random pairs of the 400 children (79,800 distinct pairs at most).
    with Session(engine) as session:
        levels = load_match_level_counts(session=session)
    assert levels is not None
    assert levels.pairs["postcode"] == min(U_PAIRS, 79_800)
    assert sum(levels.counts["postcode"].values()) == levels.pairs["postcode"]
    # And the service ranks with them: the file's m, the population's u and frequencies.
    ranker = load_ranker(None)
    ranker.refresh(sessionmaker(bind=engine))
    assert (ranker.frequencies_source, ranker.u_source, ranker.population) == (
        "database",
        "database",
        400,
    )
    shipped = ranker.base.comparisons["postcode"].levels["else"]
    used = ranker.model.comparisons["postcode"].levels["else"]
    assert used.m == shipped.m
    assert used.u == pytest.approx(levels.counts["postcode"]["else"] / 79_800, rel=0.01)
    # Read again only once rebuilt: an unchanged table is not read a second time.
    in_use = ranker.model
    ranker.refresh(sessionmaker(bind=engine))
    assert ranker.model is in_use

    # Fewer children, rebuilt: the counts are replaced, none of the old ones stay.
    with engine.begin() as connection:
        connection.execute(
            text("DELETE FROM child WHERE family_name <> :f"), {"f": children[0]["family_name"]}
        )
    assert runner.invoke(app, ["matching", "frequencies"]).exit_code == 0
    with Session(engine) as session:
        again = load_match_frequencies(session=session)
    ranker.refresh(sessionmaker(bind=engine))
    assert ranker.model is not in_use and ranker.population == len(
        [c for c in children if c["family_name"] == children[0]["family_name"]]
    )
    left = [c for c in children if c["family_name"] == children[0]["family_name"]]
    assert again == count_frequencies(_match_records(left))
    assert set(again.counts["family_name"]) <= {fold(children[0]["family_name"])}


def test_without_a_rebuild_there_are_no_stored_frequencies(
    empty_tables: None, engine: Engine
) -> None:
    with Session(engine) as session:
        assert load_match_frequencies(session=session) is None


def _train_files(tmp_path: Path, name: str, *options: str) -> tuple[MatchModel, str]:
    out = tmp_path / name
    trained = CliRunner().invoke(
        app,
        ["matching", "train", "--out", str(out), "--u-pairs", "100000", "--seed", "3", *options],
    )
    assert trained.exit_code == 0, trained.output
    return load_model(out), trained.output


def test_m_learnt_from_a_file_with_duplicates_is_imported_where_there_are_none(
    tmp_path: Path,
) -> None:
    rng = random.Random(11)
    children = list(generate_children(count=CHILDREN, seed=23))
    twice = [_recorded_again(rng, child, n) for n, child in enumerate(children[: CHILDREN // 4])]
    with_duplicates = _write(tmp_path / "dups.jsonl", children + twice)
    # A line that is no record is counted and left out; missing fields are missing values.
    with with_duplicates.open("a", encoding="utf-8") as lines:
        lines.write("[1, 2]\n" + json.dumps({"given_names": "Ann", "date_of_birth": "x"}) + "\n")
    learnt, output = _train_files(tmp_path, "learnt.json", "--records", str(with_duplicates))
    assert "1 lines" in output
    assert {c.m_source for c in learnt.comparisons.values()} == {"em"}

    alone = _write(tmp_path / "alone.jsonl", list(generate_children(count=CHILDREN, seed=29)))
    model, output = _train_files(
        tmp_path, "model.json", "--records", str(alone), "--m-from", str(tmp_path / "learnt.json")
    )
    assert "m: given_names imported" in output
    for comparison in COMPARISONS:
        params = model.comparisons[comparison.name]
        assert params.m_source == "imported"
        # The learnt m, each level at least its prior (a level the file could not show).
        floored = [
            max(learnt.comparisons[comparison.name].levels[level.name].m, level.prior_m)
            for level in comparison.levels
        ]
        for level, m in zip(comparison.levels, floored, strict=True):
            assert params.levels[level.name].m == pytest.approx(m / sum(floored), rel=1e-3)
    # u and the frequencies are those of the population trained on, not of the file m came from.
    assert model.frequencies.population == CHILDREN
    assert model.training["m_from"]["label"] == "learnt.json"
    assert model.training["m_from"]["m_sources"]["date_of_birth"] == "em"


def test_a_model_to_take_m_from_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["matching", "train", "--out", str(tmp_path / "m.json"), "--m-from", str(bad)]
    )
    assert result.exit_code == 1 and "not a contactpoint-match-model file" in result.output
    assert not (tmp_path / "m.json").exists()
