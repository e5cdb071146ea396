"""The history in scoring: a former family name and an old postcode count, below the current."""

from __future__ import annotations

from datetime import date

import pytest

from mappings import IndexedChild, build_child_document
from matching import MatchRecord, load_default_model, prepared_from_document, score

BORN = date(2019, 3, 4)
QUERY = MatchRecord(given_names="Molly", family_name="Hall", date_of_birth=BORN, postcode="LS6 1AA")


def _fields(record: MatchRecord) -> dict[str, tuple[str | None, float]]:
    (scored,) = score(QUERY, [record], load_default_model())
    return {f.comparison: (f.level, f.weight) for f in scored.fields}


def test_the_shipped_model_weighs_the_current_postcode_above_an_old_one() -> None:
    here = MatchRecord(given_names="Molly", family_name="Hall", postcode="LS6 1AA")
    moved = MatchRecord(
        given_names="Molly", family_name="Hall", postcode="EB3 5AB", previous_postcodes=("LS6 1AA",)
    )
    current, old = _fields(here)["postcode"], _fields(moved)["postcode"]
    assert (current[0], old[0]) == ("exact", "previous")
    assert current[1] > old[1] > 0


@pytest.mark.parametrize("name", ["Hall", "Featherstonehaugh"], ids=["common", "held-by-none"])
def test_the_shipped_model_weighs_the_current_name_above_a_former_one(name: str) -> None:
    query = MatchRecord(given_names="Molly", family_name=name)
    now = MatchRecord(given_names="Molly", family_name=name)
    renamed = MatchRecord(given_names="Molly", family_name="Nowak", other_family_names=(name,))
    (current,) = score(query, [now], load_default_model())
    (former,) = score(query, [renamed], load_default_model())
    levels = [{f.comparison: (f.level, f.weight) for f in s.fields} for s in (current, former)]
    assert (levels[0]["family_name"][0], levels[1]["family_name"][0]) == ("exact", "former")
    assert levels[0]["family_name"][1] > levels[1]["family_name"][1] > 0


def test_a_child_known_by_its_old_postcode_ranks_above_a_stranger() -> None:
    moved = MatchRecord(
        given_names="Molly",
        family_name="Hall",
        date_of_birth=BORN,
        postcode="EB3 5AB",
        previous_postcodes=("LS6 1AA",),
    )
    stranger = MatchRecord(
        given_names="Molly", family_name="Hall", date_of_birth=BORN, postcode="YO1 7HH"
    )
    ranked = score(QUERY, [stranger, moved], load_default_model())
    assert ranked[0].position == 1


def test_a_withheld_location_earns_nothing_for_an_old_postcode() -> None:
    child = IndexedChild(
        identifier="9434765919",
        given_names="Molly",
        family_name="Hall",
        gender="female",
        date_of_birth=BORN,
        address_lines=("1 Mill Lane",),
        town="Ebford",
        postcode="EB3 5AB",
        status="active",
        record_version=1,
        shielded=True,
        previous_postcodes=("LS6 1AA",),
    )
    document = build_child_document(child)
    seen = prepared_from_document(document)
    withheld = prepared_from_document(document, location=False)
    (a,) = score(QUERY, [seen], load_default_model())
    (b,) = score(QUERY, [withheld], load_default_model())
    assert {f.comparison: f.level for f in a.fields}["postcode"] == "previous"
    assert {f.comparison: (f.level, f.weight) for f in b.fields}["postcode"] == (None, 0.0)
