"""The demo population: deterministic, valid against docs/import-format.md, and realistic."""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from contactpoint.demo_data import (
    REFERENCE_DATE,
    check_digit,
    generate_children,
    generate_households,
    write_demo_file,
)

Json = dict[str, Any]

SAMPLE = 20_000

POSTCODE = re.compile(
    r"[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKS-UW]|[A-HK-Y][0-9][ABEHMNPRV-Y])"
    r" [0-9][ABD-HJLNP-UW-Z]{2}"
)
PHONE = re.compile(r"(\+44 ?|0)[0-9 ]+")
# Ofcom's numbers for drama: no generated number can belong to anyone.
DRAMA_PHONE = re.compile(
    r"(07700 900|\+44 7700 900|01632 960|020 7946 0|0113 496 0|0114 496 0|0115 496 0"
    r"|0116 496 0|0117 496 0|0121 496 0|0151 496 0|0161 496 0|0191 498 0)\d{3}"
)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]+")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
GENDERS = {"male", "female", "other", "unknown"}
RELATIONSHIPS = {
    "mother",
    "father",
    "step_parent",
    "grandparent",
    "foster_carer",
    "guardian",
    "other_relative",
    "other",
}
KINDS = {
    "education",
    "gp_practice",
    "health_visiting",
    "social_care",
    "youth_service",
    "early_help",
    "sexual_health",
    "mental_health",
    "substance_misuse",
    "other",
}
CHILD_KEYS = {
    "identifier",
    "given_names",
    "family_name",
    "gender",
    "date_of_birth",
    "address",
    "local_authority",
    "status",
    "carers",
    "education_setting",
    "gp_practice",
    "involvements",
    "shield",
    "other_names",
    "previous_addresses",
}
REQUIRED_CHILD_KEYS = {
    "identifier",
    "given_names",
    "family_name",
    "gender",
    "date_of_birth",
    "address",
}
ORG_KEYS = {"code", "name", "phone", "email", "address", "local_authority_code"}
INVOLVEMENT_KEYS = {
    "service",
    "practitioner",
    "start_date",
    "end_date",
    "lead_professional",
    "assessment_completed",
    "sensitive",
    "consent",
    "override",
}
TODAY_AT_WRITING = date(2026, 11, 26)


@pytest.fixture(scope="module")
def children() -> list[Json]:
    return list(generate_children(count=SAMPLE, seed=7))


def _day(text: str) -> date:
    assert DAY.fullmatch(text), text
    return date.fromisoformat(text)


def _timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    assert moment.date() <= REFERENCE_DATE, text
    return moment


def _check_address(address: Json) -> None:
    assert set(address) == {"lines", "town", "postcode"}
    assert 1 <= len(address["lines"]) <= 4
    assert all(isinstance(line, str) and 0 < len(line) <= 100 for line in address["lines"])
    assert isinstance(address["town"], str) and 1 <= len(address["town"]) <= 60
    assert POSTCODE.fullmatch(address["postcode"]), address["postcode"]


def _check_phone(number: str) -> None:
    assert PHONE.fullmatch(number), number
    assert DRAMA_PHONE.fullmatch(number), number


def _check_organisation(org: Json, *, with_kind: bool) -> None:
    allowed = ORG_KEYS | {"kind"} if with_kind else ORG_KEYS
    assert set(org) <= allowed, set(org) - allowed
    assert isinstance(org["code"], str) and org["code"]
    assert isinstance(org["name"], str) and org["name"]
    if with_kind:
        assert org["kind"] in KINDS
    if "phone" in org:
        _check_phone(org["phone"])
    if "email" in org:
        assert EMAIL.fullmatch(org["email"]), org["email"]
    if "address" in org:
        _check_address(org["address"])


def _check_involvement(item: Json, birth: date) -> None:
    assert set(item) <= INVOLVEMENT_KEYS, set(item) - INVOLVEMENT_KEYS
    _check_organisation(item["service"], with_kind=True)
    start = _day(item["start_date"])
    assert birth <= start <= REFERENCE_DATE
    last = _day(item["end_date"]) if "end_date" in item else REFERENCE_DATE
    assert start <= last <= REFERENCE_DATE
    if "practitioner" in item:
        practitioner = item["practitioner"]
        assert set(practitioner) <= {"name", "email", "phone", "job_title"}
        assert EMAIL.fullmatch(practitioner["email"])
        _check_phone(practitioner["phone"])
    for flag in ("lead_professional", "assessment_completed", "sensitive"):
        assert isinstance(item.get(flag, False), bool)
    if "consent" in item:
        assert set(item["consent"]) == {"given_by", "recorded_by", "recorded_at"}
        assert start <= _timestamp(item["consent"]["recorded_at"]).date() <= last
    if "override" in item:
        assert set(item["override"]) == {"by", "reason", "at"}
        assert start <= _timestamp(item["override"]["at"]).date() <= last


def _check_child(child: Json) -> None:
    """One child against every rule of docs/import-format.md."""
    assert REQUIRED_CHILD_KEYS <= set(child) <= CHILD_KEYS, set(child) ^ CHILD_KEYS
    identifier = child["identifier"]
    assert re.fullmatch(r"\d{10}", identifier)
    assert check_digit(identifier[:9]) == int(identifier[9])
    assert isinstance(child["given_names"], str) and 1 <= len(child["given_names"]) <= 100
    assert child["given_names"] == " ".join(child["given_names"].split())
    assert isinstance(child["family_name"], str) and 1 <= len(child["family_name"]) <= 100
    assert child["gender"] in GENDERS
    birth = _day(child["date_of_birth"])
    assert birth <= REFERENCE_DATE <= TODAY_AT_WRITING
    assert birth > date(TODAY_AT_WRITING.year - 25, 12, 31)
    _check_address(child["address"])
    la = child.get("local_authority", {})
    assert set(la) <= {"code", "name", "team_phone", "team_email"}
    if la:
        assert re.fullmatch(r"E\d{8}", la["code"])
        _check_phone(la["team_phone"])
        assert EMAIL.fullmatch(la["team_email"])
    assert child.get("status", "active") in {"active", "archived"}
    for carer in child.get("carers", []):
        assert set(carer) <= {
            "name",
            "relationship",
            "parental_responsibility",
            "phone",
            "email",
            "address",
        }
        assert isinstance(carer["name"], str) and 1 <= len(carer["name"]) <= 200
        assert carer["relationship"] in RELATIONSHIPS
        assert isinstance(carer.get("parental_responsibility", False), bool)
        if "phone" in carer:
            _check_phone(carer["phone"])
        if "email" in carer:
            assert EMAIL.fullmatch(carer["email"]), carer["email"]
        if "address" in carer:
            _check_address(carer["address"])
    if "education_setting" in child:
        _check_organisation(child["education_setting"], with_kind=False)
        assert re.fullmatch(r"\d{6}", child["education_setting"]["code"])
    if "gp_practice" in child:
        _check_organisation(child["gp_practice"], with_kind=False)
        assert re.fullmatch(r"[A-Z]\d{5}", child["gp_practice"]["code"])
    involvements = child.get("involvements", [])
    for item in involvements:
        _check_involvement(item, birth)
    current_leads = [i for i in involvements if i.get("lead_professional") and "end_date" not in i]
    assert len(current_leads) <= 1
    if "shield" in child:
        assert set(child["shield"]) <= {"applied_by", "reason", "applied_at"}
        assert child["shield"]["applied_by"] and child["shield"]["reason"]
        assert birth <= _timestamp(child["shield"]["applied_at"]).date()
    for name in child.get("other_names", []):
        assert set(name) <= {"family_name", "given_names", "kind"}
        assert name["family_name"] != child["family_name"] and name.get("kind") == "former"
    for previous in child.get("previous_addresses", []):
        assert set(previous) <= {"postcode", "town", "from", "to"}
        assert POSTCODE.fullmatch(previous["postcode"])
        assert previous["postcode"] != child["address"]["postcode"]
        assert birth <= _day(previous["from"]) <= _day(previous["to"]) <= REFERENCE_DATE


def _age(child: Json) -> int:
    birth = date.fromisoformat(child["date_of_birth"])
    before = (REFERENCE_DATE.month, REFERENCE_DATE.day) < (birth.month, birth.day)
    return REFERENCE_DATE.year - birth.year - before


def _organisations(children: list[Json]) -> Iterator[tuple[str, Json]]:
    for child in children:
        for key in ("education_setting", "gp_practice"):
            if key in child:
                yield key, child[key]
        for item in child.get("involvements", []):
            yield item["service"]["kind"], item["service"]


def test_every_line_follows_the_import_format(children: list[Json]) -> None:
    for child in children:
        _check_child(child)


def test_the_same_seed_writes_the_same_file_byte_for_byte(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert write_demo_file(path=first, children=3_000, seed=11) == 3_000
    write_demo_file(path=second, children=3_000, seed=11)
    assert first.read_bytes() == second.read_bytes()


def test_a_different_seed_gives_different_children() -> None:
    one = [c["identifier"] for c in generate_children(count=500, seed=1)]
    two = [c["identifier"] for c in generate_children(count=500, seed=2)]
    assert one != two
    assert len(set(one) & set(two)) < 10


def test_a_smaller_file_is_the_start_of_a_larger_one_with_the_same_seed() -> None:
    small = list(generate_children(count=1_000, seed=3))
    large = list(generate_children(count=1_500, seed=3))
    assert small == large[:1_000]


def test_the_written_file_is_utf8_json_lines_one_child_per_line(tmp_path: Path) -> None:
    path = tmp_path / "demo.jsonl"
    assert write_demo_file(path=path, children=1_234, seed=5) == 1_234
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[-1] == "" and len(lines) == 1_235
    assert all(json.loads(line)["identifier"] for line in lines[:-1])
    assert not (tmp_path / "demo.jsonl.part").exists()


def test_the_progress_callback_is_told_of_every_child_written(tmp_path: Path) -> None:
    told: list[int] = []
    written = write_demo_file(
        path=tmp_path / "demo.jsonl", children=4_321, seed=5, progress=told.append
    )
    assert written == 4_321
    assert told == [2_000, 2_000, 321]


def test_check_digit_matches_the_format_documents_example() -> None:
    assert check_digit("943476591") == 9


def test_check_digit_is_none_when_the_remainder_would_need_a_ten() -> None:
    # A weighted sum with remainder 1 would need the check digit 10: no identifier has it.
    nine = next(
        f"{n:09d}" for n in range(100_000_000, 100_001_000) if check_digit(f"{n:09d}") is None
    )
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    assert total % 11 == 1


def test_every_identifier_passes_the_modulus_11_check_and_is_unique(children: list[Json]) -> None:
    identifiers = [c["identifier"] for c in children]
    assert len(set(identifiers)) == len(identifiers)
    assert all(check_digit(i[:9]) == int(i[9]) for i in identifiers)


def test_every_postcode_is_a_uk_postcode(children: list[Json]) -> None:
    postcodes = [c["address"]["postcode"] for c in children]
    postcodes += [o["address"]["postcode"] for _, o in _organisations(children) if "address" in o]
    postcodes += [
        carer["address"]["postcode"]
        for c in children
        for carer in c.get("carers", [])
        if "address" in carer
    ]
    assert all(POSTCODE.fullmatch(p) for p in postcodes)
    assert len(set(postcodes)) > 5_000


def test_every_child_is_aged_0_to_17_on_the_reference_date(children: list[Json]) -> None:
    ages = Counter(_age(c) for c in children)
    assert set(ages) == set(range(18))
    assert min(ages.values()) > SAMPLE / 18 / 2


def test_siblings_share_address_carers_and_gp() -> None:
    households = list(generate_households(count=5_000, seed=9))
    assert sum(len(h) for h in households) == 5_000
    sizes = Counter(len(h) for h in households)
    assert sizes[1] > 0 and sizes[2] > 0 and sizes[3] > 0 and sizes[4] > 0
    for siblings in households:
        assert len({json.dumps(c["address"]) for c in siblings}) == 1
        assert len({json.dumps(c["carers"]) for c in siblings}) == 1
        assert len({json.dumps(c.get("gp_practice")) for c in siblings}) == 1
    shared_name = [h for h in households if len(h) > 1 and len({c["family_name"] for c in h}) == 1]
    assert len(shared_name) > 0.8 * sum(1 for h in households if len(h) > 1)


def test_given_names_are_skewed_towards_common_names(children: list[Json]) -> None:
    first_names = Counter(c["given_names"].split()[0] for c in children)
    counts = sorted(first_names.values(), reverse=True)
    assert counts[0] > 20 * statistics.median(counts)
    family = sorted(Counter(c["family_name"] for c in children).values(), reverse=True)
    assert family[0] > 20 * statistics.median(family)


def test_some_names_carry_diacritics_apostrophes_hyphens_and_spaces(children: list[Json]) -> None:
    names = [c["given_names"] for c in children] + [c["family_name"] for c in children]
    accented = [n for n in names if any(unicodedata.decomposition(ch) for ch in n)]
    assert len(accented) > SAMPLE * 0.005
    assert sum("'" in c["family_name"] for c in children) > SAMPLE * 0.002
    assert sum("-" in c["family_name"] for c in children) > SAMPLE * 0.01
    assert sum(" " in c["family_name"] for c in children) > 0
    assert sum(" " in c["given_names"] for c in children) > SAMPLE * 0.3


def test_names_are_stored_in_nfc_form(children: list[Json]) -> None:
    for child in children:
        for key in ("given_names", "family_name"):
            assert unicodedata.is_normalized("NFC", child[key])


def test_shield_share_is_a_few_per_cent(children: list[Json]) -> None:
    share = sum("shield" in c for c in children) / len(children)
    assert 0.01 <= share <= 0.05


def test_children_of_school_age_have_an_education_setting(children: list[Json]) -> None:
    school_age = [c for c in children if _age(c) >= 4]
    assert all("education_setting" in c for c in school_age)
    assert sum("gp_practice" in c for c in children) > 0.9 * len(children)


def test_a_minority_have_involvements_of_every_kind(children: list[Json]) -> None:
    involved = [c for c in children if c.get("involvements")]
    assert 0.05 * SAMPLE < len(involved) < 0.5 * SAMPLE
    kinds = Counter(i["service"]["kind"] for c in involved for i in c["involvements"])
    assert set(kinds) == KINDS - {"education", "gp_practice"}
    assert any("consent" in i for c in involved for i in c["involvements"])
    health_visited = [
        c
        for c in involved
        if any(i["service"]["kind"] == "health_visiting" for i in c["involvements"])
    ]
    assert all(_age(c) < 5 for c in health_visited)


def test_organisations_with_the_same_code_are_described_the_same_way(
    children: list[Json],
) -> None:
    seen: dict[tuple[str, str], str] = {}
    uses = 0
    for kind, org in _organisations(children):
        described = json.dumps(org, sort_keys=True)
        assert seen.setdefault((kind, org["code"]), described) == described
        uses += 1
    assert uses > 5 * len(seen)


def test_a_practitioners_email_identifies_one_practitioner(children: list[Json]) -> None:
    seen: dict[str, str] = {}
    for child in children:
        for item in child.get("involvements", []):
            if "practitioner" in item:
                person = item["practitioner"]
                described = json.dumps(person, sort_keys=True)
                assert seen.setdefault(person["email"], described) == described


def test_a_few_children_are_archived(children: list[Json]) -> None:
    share = sum(c.get("status") == "archived" for c in children) / len(children)
    assert 0.002 < share < 0.03


def test_a_minority_moved_house_and_a_few_changed_name(children: list[Json]) -> None:
    moved = sum("previous_addresses" in child for child in children) / len(children)
    renamed = sum("other_names" in child for child in children) / len(children)
    assert 0.05 < moved < 0.12
    assert 0.01 < renamed < 0.03


def test_siblings_born_before_a_move_share_the_previous_address() -> None:
    households = generate_households(count=5_000, seed=7)
    moved = [h for h in households if len(h) > 1 and all("previous_addresses" in c for c in h)]
    assert moved
    for household in moved:
        assert len({c["previous_addresses"][0]["postcode"] for c in household}) == 1


def test_history_leaves_the_rest_of_the_file_as_it_was() -> None:
    # History comes from a stream of its own: without it, the children are those of the file
    # before history was added (this digest was taken then).
    stripped = [
        {k: v for k, v in child.items() if k not in {"other_names", "previous_addresses"}}
        for child in generate_children(count=2_000, seed=1)
    ]
    digest = hashlib.sha256(json.dumps(stripped, sort_keys=True).encode()).hexdigest()
    assert digest == "042c77e92a7b8fcb1a9757ca70e7bed869582225b8a7c838beeca21df2b6f691"
