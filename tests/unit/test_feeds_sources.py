"""The four feeds' formats: the documented samples read whole, and bad lines are rejected with
their line, field and reason, never an exception."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds import FeedRecord, IdentifierKind, Parsed, Source, read_feed
from feeds.checks import is_valid_upn
from feeds.health import parse_patient
from feeds.sources import CSV_ROWS

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "docs" / "feeds" / "samples"
TODAY = date(2026, 12, 2)
SAMPLE_FILES = {
    Source.BIRTHS: "births.csv",
    Source.SCHOOL_CENSUS: "school-census.csv",
    Source.CHILD_BENEFIT: "child-benefit.csv",
    Source.HEALTH: "health.jsonl",
}


def _read(source: Source, path: Path) -> list[Parsed]:
    return list(read_feed(source, path, today=TODAY))


def _records(source: Source) -> list[FeedRecord]:
    parsed = _read(source, SAMPLES / SAMPLE_FILES[source])
    assert [p.rejections for p in parsed if p.rejections] == []
    return [p.record for p in parsed if p.record is not None]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("source", list(Source))
def test_every_sample_file_reads_without_a_rejection(source: Source) -> None:
    records = _records(source)
    assert records and all(record.source is source for record in records)
    # Every record keeps the source's own identifier and a version.
    assert all(record.identifiers and record.version >= 1 for record in records)


@pytest.mark.parametrize("source", list(Source))
def test_every_feed_is_documented_with_its_sample(source: Source) -> None:
    page = (ROOT / "docs" / "feeds" / f"{source.value}.md").read_text()
    assert f"samples/{SAMPLE_FILES[source]}" in page
    if source in CSV_ROWS:
        # Every column is documented.
        for column in CSV_ROWS[source].columns:
            assert f"`{column}`" in page, column


def test_a_birth_entry_is_its_record_and_a_reregistration_a_new_version() -> None:
    first, _, _, again = _records(Source.BIRTHS)
    assert first.record_id == again.record_id == "E08000035/2019/1042"
    assert (first.version, again.version) == (1, 2)
    assert (first.family_name, again.family_name) == ("Hart", "Hart-Mensah")
    assert first.identifier(IdentifierKind.BIRTH_ENTRY) == "E08000035/2019/1042"
    assert first.gender == "female" and first.date_of_birth == date(2019, 3, 14)
    assert first.address is not None and first.address.postcode == "LS6 2AB"


def test_a_census_row_carries_the_school_and_the_preferred_name_apart() -> None:
    amelia = _records(Source.SCHOOL_CENSUS)[0]
    assert amelia.record_id == "107992/P800012326001" and amelia.version == 20261001
    assert amelia.identifier(IdentifierKind.UPN) == "P800012326001"
    assert (amelia.given_names, amelia.preferred_given_names) == ("Amelia", "Millie")
    # A preferred surname left empty, or the same as the legal one, is no other name.
    assert amelia.preferred_family_name is None
    assert amelia.school is not None
    assert (amelia.school.code, amelia.school.phone) == ("107992", "0113 278 0001")


def test_a_benefit_child_is_the_claim_and_its_number_with_the_address_since() -> None:
    amelia, oscar, ruby = _records(Source.CHILD_BENEFIT)
    assert amelia.record_id == "CHB12345678AB/1" and amelia.version == 3
    assert amelia.address is not None and amelia.address.since == date(2026, 11, 14)
    assert {oscar.record_id, ruby.record_id} == {"CHB87654321CD/1", "CHB87654321CD/2"}
    assert oscar.address is not None and oscar.address.since is None


def test_a_patient_gives_the_nhs_number_the_usual_name_the_practice_and_a_death() -> None:
    amelia, oscar, daniel = _records(Source.HEALTH)
    assert amelia.record_id == "9434765013" and amelia.version == 4
    assert amelia.identifier(IdentifierKind.NHS_NUMBER) == "9434765013"
    # The name in use now, not the old one whose period ended.
    assert (amelia.given_names, amelia.family_name) == ("Amelia Jane", "Hart-Mensah")
    assert amelia.gp_practice is not None
    assert (amelia.gp_practice.code, amelia.gp_practice.name, amelia.gp_practice.phone) == (
        "B86016",
        "Mill Lane Surgery",
        "0113 496 0000",
    )
    assert amelia.address is not None and amelia.address.since == date(2019, 3, 14)
    # The town as the last line, no city: as the Personal Demographics Service often gives it.
    assert oscar.address is not None
    assert (oscar.address.lines, oscar.address.town) == (("Flat 3", "40 Cardigan Road"), "Leeds")
    assert oscar.gp_practice is not None and oscar.gp_practice.phone is None
    assert daniel.date_of_death == date(2026, 11, 27) and amelia.date_of_death is None


BIRTH_HEADER = "entry,version,registered_on,forenames,surname,sex,date_of_birth,town,postcode\n"
BIRTH_ROW = "E08000035/2020/7,1,2020-02-01,Ada,Lee,F,2020-01-20,Leeds,LS6 2AB"


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (BIRTH_ROW.replace("2020-01-20", "2027-01-20"), "date_of_birth", "in the future"),
        (BIRTH_ROW.replace("2020-01-20", "1990-01-20"), "date_of_birth", "more than 25 years"),
        (BIRTH_ROW.replace("2020-01-20", "20/01/2020"), "date_of_birth", "YYYY-MM-DD"),
        (BIRTH_ROW.replace("Ada", "Ad4"), "forenames", "only letters"),
        (BIRTH_ROW.replace(",Lee,", ",,"), "surname", "is required"),
        (BIRTH_ROW.replace(",F,", ",Q,"), "sex", "not a sex code"),
        (BIRTH_ROW.replace("LS6 2AB", "LS6 2A"), "postcode", "not a valid UK postcode"),
        (BIRTH_ROW.replace("E08000035/2020/7", "12345"), "entry", "not a birth entry"),
        (BIRTH_ROW.replace(",1,", ",0,", 1), "version", "whole number"),
        (BIRTH_ROW + ",extra", "(line)", "has 10 cells where the header has 9"),
    ],
    ids=[
        "future-birth",
        "too-old",
        "date-format",
        "digit-in-name",
        "missing-surname",
        "sex-code",
        "postcode",
        "entry",
        "version-zero",
        "cell-count",
    ],
)
def test_a_bad_birth_row_is_rejected_saying_where_and_why(
    tmp_path: Path, row: str, field: str, reason: str
) -> None:
    path = _write(tmp_path, "births.csv", BIRTH_HEADER + BIRTH_ROW + "\n" + row + "\n")
    good, bad = _read(Source.BIRTHS, path)
    assert good.record is not None and not good.rejections
    assert bad.record is None and bad.line == 3
    assert any(r.field == field and reason in r.reason and r.line == 3 for r in bad.rejections), (
        bad.rejections
    )


def test_a_header_with_an_unknown_or_a_missing_column_rejects_the_file_at_line_one(
    tmp_path: Path,
) -> None:
    header = "entry,version,registered_on,forenames,sex,date_of_birth,nhs_number\n"
    path = _write(
        tmp_path, "births.csv", header + "E08000035/2020/7,1,2020-02-01,Ada,F,2020-01-20,1\n"
    )
    (only,) = _read(Source.BIRTHS, path)
    assert only.line == 1 and only.record is None
    problems = {(r.field, r.reason) for r in only.rejections}
    assert ("nhs_number", "is not a column of this feed") in problems
    assert ("surname", "is a required column, missing from the header") in problems


def test_an_empty_file_and_blank_lines_give_nothing(tmp_path: Path) -> None:
    assert _read(Source.BIRTHS, _write(tmp_path, "empty.csv", "")) == []
    path = _write(tmp_path, "blank.csv", BIRTH_HEADER + "\n,,,,,,,,\n" + BIRTH_ROW + "\n\n")
    (only,) = _read(Source.BIRTHS, path)
    assert only.record is not None and only.line == 4


def test_a_census_row_with_a_wrong_upn_check_letter_is_rejected(tmp_path: Path) -> None:
    assert is_valid_upn("P800012326001")
    text = (SAMPLES / "school-census.csv").read_text().replace("P800012326001", "Q800012326001")
    first, second = _read(Source.SCHOOL_CENSUS, _write(tmp_path, "census.csv", text))
    assert first.record is None and second.record is not None
    assert [(r.field, r.line) for r in first.rejections] == [("upn", 2)]
    assert "unique pupil number" in first.rejections[0].reason


def _patient(**changes: Any) -> dict[str, Any]:
    line = (SAMPLES / "health.jsonl").read_text().splitlines()[0]
    return {**json.loads(line), **changes}


@pytest.mark.parametrize(
    ("resource", "field", "reason"),
    [
        (
            _patient(
                identifier=[{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765014"}]
            ),
            "identifier",
            "NHS number",
        ),
        (_patient(identifier=[]), "identifier", "is required"),
        (_patient(birthDate="2015-13-04"), "birthDate", ""),
        (_patient(birthDate="2031-01-04"), "birthDate", "in the future"),
        (_patient(gender="girl"), "gender", "male, female, other or unknown"),
        (_patient(meta={"versionId": "x"}), "meta.versionId", "is required"),
        (_patient(resourceType="Practitioner"), "resourceType", "not a FHIR Patient"),
        (_patient(name="Amelia"), "name", ""),
        (
            _patient(
                address=[
                    {"use": "home", "line": ["1 A St"], "city": "Leeds", "postalCode": "LS6 2A"}
                ]
            ),
            "address.postalCode",
            "postcode",
        ),
        (
            _patient(
                address=[
                    {
                        "use": "home",
                        "line": ["1", "2", "3", "4", "5 A St"],
                        "city": "Leeds",
                        "postalCode": "LS6 2AB",
                    }
                ]
            ),
            "address.line",
            "at most 4",
        ),
    ],
    ids=[
        "check-digit",
        "no-nhs-number",
        "malformed-date",
        "future-birth",
        "gender",
        "version",
        "not-a-patient",
        "name-not-a-list",
        "postcode",
        "five-lines",
    ],
)
def test_a_bad_patient_is_rejected_naming_the_fhir_path(
    resource: dict[str, Any], field: str, reason: str
) -> None:
    parsed = parse_patient(7, json.dumps(resource), today=TODAY)
    assert parsed.record is None and parsed.line == 7
    assert any(r.field.startswith(field) and reason in r.reason for r in parsed.rejections), (
        parsed.rejections
    )


def test_a_line_that_is_not_json_is_rejected() -> None:
    parsed = parse_patient(3, '{"resourceType": "Patient",', today=TODAY)
    assert [(r.line, r.field) for r in parsed.rejections] == [(3, "(line)")]
    assert "not JSON" in parsed.rejections[0].reason


def test_json_nested_too_deeply_is_rejected_not_raised() -> None:
    parsed = parse_patient(2, "[" * 9000 + "]" * 9000, today=TODAY)
    assert parsed.record is None and "nested too deeply" in parsed.rejections[0].reason
    deep: dict[str, object] = {"resourceType": "Patient"}
    inner = deep
    for _ in range(400):
        inner["extension"] = [{"url": "x"}]
        inner = inner["extension"][0]  # type: ignore[index]
    assert parse_patient(3, json.dumps(deep), today=TODAY).rejections


def test_a_file_that_is_not_utf8_is_rejected_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "births.csv"
    path.write_bytes(BIRTH_HEADER.encode() + b"E08000035/2020/7,1,2020-02-01,Ad\xe9,Lee,F,x,y,z\n")
    parsed = _read(Source.BIRTHS, path)
    assert parsed and parsed[-1].rejections and "not UTF-8" in parsed[-1].rejections[0].reason


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=12))
def test_any_csv_row_is_read_or_rejected_never_raised(cells: list[str]) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_ROWS[Source.SCHOOL_CENSUS].columns[: len(cells)] or ["upn"])
    writer.writerow(cells)
    from feeds.sources import read_csv

    for parsed in read_csv(Source.SCHOOL_CENSUS, io.StringIO(buffer.getvalue()), today=TODAY):
        assert parsed.record is not None or parsed.rejections


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_any_json_line_is_read_or_rejected_never_raised(value: object) -> None:
    resource = value if not isinstance(value, dict) else {"resourceType": "Patient", **value}
    parsed = parse_patient(1, json.dumps(resource), today=TODAY)
    assert parsed.record is not None or parsed.rejections
