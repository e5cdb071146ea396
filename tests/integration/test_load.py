"""Loading import files: valid lines land whole, bad ones are reported, reloads change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from contactpoint.settings import Settings
from db.load import LoadResult, Rejection, load_file
from tests.integration.load_support import child_line, identifier, truncate_tables, write_lines

_SNAPSHOT_TABLES = ("child", "carer", "involvement", "organisation", "practitioner", "shield")


@pytest.fixture
def empty(engine: Engine, settings: Settings) -> Iterator[Engine]:
    """The application role's engine on empty tables, emptied again afterwards."""
    truncate_tables(settings)
    yield engine
    truncate_tables(settings)


def _load(engine: Engine, path: Path, batch_size: int = 100, **options: Any) -> LoadResult:
    return load_file(engine=engine, path=path, batch_size=batch_size, **options)


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row's physical version (xmin, ctid) and the children's versions and timestamps."""
    with engine.connect() as conn:
        rows = {
            table: sorted(
                tuple(row)
                for row in conn.execute(text(f"SELECT id, xmin::text, ctid::text FROM {table}"))
            )
            for table in _SNAPSHOT_TABLES
        }
        rows["versions"] = sorted(
            tuple(row)
            for row in conn.execute(
                text("SELECT identifier, record_version, updated_at FROM child")
            )
        )
        return rows


def _bad_postcode_file(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    lines = [child_line(n) for n in range(1000)]
    lines[499]["address"]["postcode"] = "XX1"
    return write_lines(tmp_path / "children.jsonl", lines), lines


def test_a_file_of_1000_children_with_one_bad_line_loads_999_and_reports_it(
    empty: Engine, tmp_path: Path
) -> None:
    path, lines = _bad_postcode_file(tmp_path)
    result = _load(empty, path, batch_size=250)
    assert (result.lines, result.inserted, result.updated, result.unchanged) == (1000, 999, 0, 0)
    assert result.rejected == [
        Rejection(500, "address.postcode", "'XX1' is not a valid UK postcode")
    ]
    good = lines[:499] + lines[500:]
    assert _scalar(empty, "SELECT count(*) FROM child") == 999
    assert _scalar(empty, "SELECT count(*) FROM carer") == sum(len(x["carers"]) for x in good)
    assert _scalar(empty, "SELECT count(*) FROM involvement") == sum(
        len(x["involvements"]) for x in good
    )
    missing = _scalar(empty, "SELECT count(*) FROM child WHERE identifier = :i", i=identifier(499))
    assert missing == 0


def test_loading_the_same_file_again_changes_nothing(empty: Engine, tmp_path: Path) -> None:
    path, _ = _bad_postcode_file(tmp_path)
    _load(empty, path, batch_size=300)
    before = _snapshot(empty)
    again = _load(empty, path, batch_size=300)
    assert (again.inserted, again.updated, again.unchanged, again.rejected_lines) == (0, 0, 999, 1)
    assert _snapshot(empty) == before
    assert _scalar(empty, "SELECT max(record_version) FROM child") == 1


def test_a_changed_line_bumps_its_record_version_and_replaces_its_carers(
    empty: Engine, tmp_path: Path
) -> None:
    lines = [child_line(n) for n in range(20)]
    _load(empty, write_lines(tmp_path / "first.jsonl", lines))
    before = _snapshot(empty)
    lines[5]["carers"] = [{"name": "Dana Okafor", "relationship": "foster_carer"}]
    result = _load(empty, write_lines(tmp_path / "second.jsonl", lines))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 19)
    with empty.connect() as conn:
        rows = conn.execute(text("SELECT identifier, record_version FROM child")).all()
        versions: dict[str, int] = {row[0]: row[1] for row in rows}
        carers = conn.execute(
            text(
                "SELECT c.name, c.relationship, c.parental_responsibility FROM carer c "
                "JOIN child ch ON ch.id = c.child_id WHERE ch.identifier = :i"
            ),
            {"i": identifier(5)},
        ).all()
    assert versions.pop(identifier(5)) == 2
    assert set(versions.values()) == {1}
    assert [tuple(row) for row in carers] == [("Dana Okafor", "foster_carer", False)]
    after = _snapshot(empty)
    changed_child = _scalar(empty, "SELECT id FROM child WHERE identifier = :i", i=identifier(5))
    untouched = [row for row in before["child"] if row[0] != changed_child]
    assert [row for row in after["child"] if row[0] != changed_child] == untouched


def test_a_shield_is_applied_by_a_load_and_not_removed_by_a_later_line_without_one(
    empty: Engine, tmp_path: Path
) -> None:
    line = child_line(1)
    line["shield"] = {"applied_by": "Leeds CP team", "reason": "Risk of harm from a relative"}
    _load(empty, write_lines(tmp_path / "shielded.jsonl", [line]))
    active = "SELECT count(*) FROM shield WHERE removed_at IS NULL"
    assert _scalar(empty, active) == 1
    del line["shield"]
    line["address"]["lines"] = ["1 New Street"]
    result = _load(empty, write_lines(tmp_path / "moved.jsonl", [line]))
    assert result.updated == 1
    assert _scalar(empty, active) == 1
    assert _scalar(empty, "SELECT count(*) FROM shield") == 1
    line["shield"] = {"applied_by": "Leeds CP team", "reason": "Another reason"}
    _load(empty, write_lines(tmp_path / "again.jsonl", [line]))
    assert _scalar(empty, "SELECT count(*) FROM shield") == 1


def test_an_identifier_repeated_in_a_file_loads_the_first_line_and_rejects_the_later(
    empty: Engine, tmp_path: Path
) -> None:
    repeated = child_line(0)
    repeated["family_name"] = "Later"
    path = write_lines(tmp_path / "repeated.jsonl", [child_line(0), child_line(1), repeated])
    for batch_size in (1, 10):
        result = _load(empty, path, batch_size=batch_size)
        assert result.rejected == [
            Rejection(
                3,
                "identifier",
                "is already given on line 1 of this file; only the first line is loaded",
            )
        ]
        family = "SELECT family_name FROM child WHERE identifier = :i"
        assert _scalar(empty, family, i=identifier(0)) == child_line(0)["family_name"]


def test_a_batch_that_fails_at_the_database_rejects_only_the_offending_child(
    empty: Engine, tmp_path: Path
) -> None:
    lines = [child_line(n) for n in range(10)]
    # Valid to the validation, but no line names this local authority: only the database knows.
    lines[3]["education_setting"]["local_authority_code"] = "E09999999"
    result = _load(empty, write_lines(tmp_path / "children.jsonl", lines), batch_size=10)
    assert (result.inserted, result.rejected_lines) == (9, 1)
    [rejection] = result.rejected
    assert (rejection.line, rejection.field) == (4, "education_setting.local_authority_code")
    assert "not known" in rejection.reason
    assert _scalar(empty, "SELECT count(*) FROM child") == 9
    good = lines[:3] + lines[4:]
    assert _scalar(empty, "SELECT count(*) FROM carer") == sum(len(x["carers"]) for x in good)
    assert _scalar(empty, "SELECT count(*) FROM involvement") == sum(
        len(x["involvements"]) for x in good
    )


def test_blank_lines_are_skipped_and_undecodable_lines_are_rejected(
    empty: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        json.dumps(child_line(0)).encode() + b"\n\n   \n" + b'{"given_names": "\xff"}\n'
    )
    result = _load(empty, path)
    assert (result.lines, result.inserted) == (2, 1)
    assert [(r.line, r.field) for r in result.rejected] == [(4, "(line)")]
    assert "UTF-8" in result.rejected[0].reason


def test_rejections_are_reported_as_json_lines(empty: Engine, tmp_path: Path) -> None:
    bad = child_line(2)
    bad["gender"] = "bloke"
    result = _load(empty, write_lines(tmp_path / "in.jsonl", [child_line(1), bad, "nonsense"]))
    report = tmp_path / "rejected.jsonl"
    result.write_rejections(report)
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(row["line"], row["field"]) for row in rows] == [(2, "gender"), (3, "(line)")]
    assert rows[0]["reason"] == "must be one of male, female, other, unknown (got 'bloke')"


def test_a_file_validated_in_a_child_process_loads_the_same(empty: Engine, tmp_path: Path) -> None:
    lines: list[dict[str, Any] | str] = [child_line(n) for n in range(60)]
    lines[10] = "{not json"
    lines.append(child_line(0))
    result = _load(empty, write_lines(tmp_path / "big.jsonl", lines), batch_size=7, parallel=True)
    assert (result.lines, result.inserted, result.rejected_lines) == (61, 59, 2)
    assert [r.line for r in result.rejected] == [11, 61]
    assert _scalar(empty, "SELECT count(*) FROM child") == 59


def test_the_progress_callback_is_told_every_byte_and_every_child(
    empty: Engine, tmp_path: Path
) -> None:
    lines: list[dict[str, Any] | str] = [child_line(n) for n in range(20)]
    lines.append("{not json")  # after the last batch: its bytes are reported all the same
    path = write_lines(tmp_path / "children.jsonl", lines)
    told: list[tuple[int, int]] = []

    def progress(*, read_bytes: int, children: int) -> None:
        told.append((read_bytes, children))

    load_file(engine=empty, path=path, batch_size=10, progress=progress)
    assert [children for _, children in told] == [10, 10, 0]
    assert sum(read_bytes for read_bytes, _ in told) == path.stat().st_size


def test_a_line_for_a_child_merged_into_another_is_rejected_and_changes_nothing(
    empty: Engine, tmp_path: Path
) -> None:
    lines = [child_line(n) for n in range(2)]
    _load(empty, write_lines(tmp_path / "children.jsonl", lines))
    with empty.begin() as conn:
        conn.execute(
            text(
                "UPDATE child SET status = 'merged', merged_into_id ="
                " (SELECT id FROM child WHERE identifier = :survivor) WHERE identifier = :merged"
            ),
            {"survivor": lines[0]["identifier"], "merged": lines[1]["identifier"]},
        )
    lines[1]["family_name"] = "Changed"
    result = _load(empty, write_lines(tmp_path / "again.jsonl", lines))
    [rejection] = result.rejected
    assert (rejection.line, rejection.field) == (2, "identifier")
    assert "merged into another" in rejection.reason
    status, family = _scalar(
        empty,
        "SELECT ARRAY[status, family_name] FROM child WHERE identifier = :i",
        i=lines[1]["identifier"],
    )
    assert status == "merged" and family != "Changed"
