"""Each way of matching finds the right child first, on 20,000 demo children (real servers)."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jellyfish import damerau_levenshtein_distance

from db.access import Role
from mappings.dates import one_digit_variants
from mappings.normalise import fold, normalise_postcode, phonetic_keys
from tests.integration.search_support import Caller, Kid, Population, audit_rows, make_caller

pytestmark = pytest.mark.integration

Case = tuple[Kid, dict[str, Any], str, set[str]]
_NICKNAMES = Path(__file__).parents[2] / "mappings" / "data" / "uk_nicknames.txt"


def _ok(kid: Kid) -> bool:
    return not kid.shielded and kid.status == "active" and kid.family_name.isascii()


def _names_dob(kid: Kid) -> tuple[str, str, str]:
    return (fold(kid.given_names), fold(kid.family_name), kid.date_of_birth.isoformat())


def _base(kid: Kid) -> dict[str, Any]:
    return {
        "given_name": kid.given_names.split()[0],
        "family_name": kid.family_name,
        "date_of_birth": kid.date_of_birth.isoformat(),
    }


def _first(pop: Population, where: Callable[[Kid], bool]) -> Kid:
    found = pop.unique(_names_dob, where=lambda kid: _ok(kid) and where(kid))
    assert found, "no child in the demo data fits this case"
    return found[len(found) // 2]


def _replace(word: str, position: int) -> str:
    letter = word[position].lower()
    other = next(c for c in "aeiouyrstlnm" if c != letter)
    return word[:position] + other + word[position + 1 :]


def exact(pop: Population) -> Case:
    kid = _first(pop, lambda k: True)
    return kid, _base(kid), "family_name", {"exact"}


def accent_folded(pop: Population) -> Case:
    kid = _first(pop, lambda k: not k.given_names.split()[0].isascii())
    body = {**_base(kid), "given_name": fold(kid.given_names)}
    return kid, body, "given_name", {"folded", "exact"}


def nickname(pop: Population) -> Case:
    groups = [
        [fold(name) for name in line.split(",")]
        for line in _NICKNAMES.read_text().splitlines()
        if line and not line.startswith(("#", "!"))
    ]
    short = {group[0]: group[1] for group in groups if len(group) > 1}
    kid = _first(pop, lambda k: fold(k.given_names.split()[0]) in short)
    body = {**_base(kid), "given_name": short[fold(kid.given_names.split()[0])].title()}
    return kid, body, "given_name", {"nickname"}


def phonetic(pop: Population) -> Case:
    # Another family name in the data that sounds the same but is spelt quite differently.
    names = sorted({fold(k.family_name) for k in pop.kids if " " not in fold(k.family_name)})
    by_key: dict[str, list[str]] = {}
    for name in names:
        for key in phonetic_keys(name):
            by_key.setdefault(key, []).append(name)
    pairs = {
        a: b
        for group in by_key.values()
        for a in group
        for b in group
        if damerau_levenshtein_distance(a, b) > 2
    }
    kid = _first(pop, lambda k: fold(k.family_name) in pairs)
    body = {**_base(kid), "family_name": pairs[fold(kid.family_name)].title()}
    return kid, body, "family_name", {"phonetic", "typo"}


def typo_one_edit(pop: Population) -> Case:
    kid = _first(pop, lambda k: len(k.family_name) >= 6 and k.family_name.isalpha())
    body = {**_base(kid), "family_name": _replace(kid.family_name, 3)}
    return kid, body, "family_name", {"typo", "phonetic"}


def typo_two_edits(pop: Population) -> Case:
    kid = _first(pop, lambda k: len(k.family_name) >= 7 and k.family_name.isalpha())
    body = {**_base(kid), "family_name": _replace(_replace(kid.family_name, 2), 5)}
    return kid, body, "family_name", {"typo", "phonetic"}


def typo_transposition(pop: Population) -> Case:
    kid = _first(
        pop,
        lambda k: (
            len(k.family_name) >= 5
            and k.family_name.isalpha()
            and k.family_name[2] != k.family_name[3]
        ),
    )
    name = kid.family_name
    body = {**_base(kid), "family_name": name[:2] + name[3] + name[2] + name[4:]}
    return kid, body, "family_name", {"typo", "phonetic"}


def names_swapped(pop: Population) -> Case:
    kid = _first(pop, lambda k: " " not in k.given_names)
    body = {**_base(kid), "given_name": kid.family_name, "family_name": kid.given_names}
    return kid, body, "family_name", {"swapped"}


def double_barrelled_part(pop: Population) -> Case:
    kid = _first(pop, lambda k: "-" in k.family_name)
    body = {**_base(kid), "family_name": kid.family_name.split("-")[1]}
    return kid, body, "family_name", {"partial"}


def given_names_any_order(pop: Population) -> Case:
    kid = _first(pop, lambda k: len(k.given_names.split()) == 2)
    body = {**_base(kid), "given_name": " ".join(reversed(kid.given_names.split()))}
    return kid, body, "given_name", {"any_order"}


def dob_exact(pop: Population) -> Case:
    kid = _first(pop, lambda k: True)
    return kid, _base(kid), "date_of_birth", {"exact"}


def dob_day_month_swapped(pop: Population) -> Case:
    kid = _first(
        pop, lambda k: k.date_of_birth.day <= 12 and k.date_of_birth.day != k.date_of_birth.month
    )
    swapped = date(kid.date_of_birth.year, kid.date_of_birth.day, kid.date_of_birth.month)
    return kid, {**_base(kid), "date_of_birth": swapped.isoformat()}, "date_of_birth", {"swapped"}


def dob_one_digit_wrong(pop: Population) -> Case:
    kid = _first(pop, lambda k: True)
    wrong = one_digit_variants(kid.date_of_birth)[-1]
    return kid, {**_base(kid), "date_of_birth": wrong.isoformat()}, "date_of_birth", {"typo"}


def dob_year_only(pop: Population) -> Case:
    kids = pop.unique(
        lambda k: (fold(k.given_names), fold(k.family_name), k.date_of_birth.year), where=_ok
    )
    kid = kids[len(kids) // 2]
    body = {**_base(kid), "given_name": kid.given_names, "birth_year": kid.date_of_birth.year}
    del body["date_of_birth"]
    return kid, body, "date_of_birth", {"year_only"}


def dob_only_its_year_right(pop: Population) -> Case:
    # Both names right: the year adds to the score of a child the names found.
    kid = _first(pop, lambda k: True)
    born = kid.date_of_birth
    wrong = date(born.year, (born.month + 4) % 12 + 1, 27 if born.day == 28 else 28)
    assert wrong not in one_digit_variants(born) and (wrong.day, wrong.month) != (
        born.month,
        born.day,
    )
    return kid, {**_base(kid), "date_of_birth": wrong.isoformat()}, "date_of_birth", {"year_only"}


def _names_postcode(pop: Population) -> Kid:
    kids = pop.unique(lambda k: (fold(k.given_names), fold(k.family_name)), where=_ok)
    return kids[len(kids) // 3]


def _without_dob(kid: Kid, **changes: str) -> dict[str, Any]:
    return {"given_name": kid.given_names, "family_name": kid.family_name, **changes}


def postcode_full(pop: Population) -> Case:
    kid = _names_postcode(pop)
    return (
        kid,
        _without_dob(kid, postcode=kid.postcode.lower().replace(" ", "")),
        "postcode",
        {"exact"},
    )


def postcode_outward_only(pop: Population) -> Case:
    kid = _names_postcode(pop)
    return kid, _without_dob(kid, postcode=kid.postcode.split()[0]), "postcode", {"outward"}


def postcode_one_character_wrong(pop: Population) -> Case:
    kid = _names_postcode(pop)
    taken = {k.postcode for k in pop.kids}
    letters = [c for c in string.ascii_uppercase if c not in "CIKMOV" and c != kid.postcode[-1]]
    wrong = next(
        candidate
        for candidate in (kid.postcode[:-1] + letter for letter in letters)
        if candidate not in taken and normalise_postcode(candidate)
    )
    return kid, _without_dob(kid, postcode=wrong), "postcode", {"typo"}


def address_free_text(pop: Population) -> Case:
    kid = _names_postcode(pop)
    # The way a practitioner types it: lower case, abbreviated, no comma.
    line = kid.address_lines[0].replace("Road", "Rd").replace("Street", "St").lower()
    body = {
        "given_name": kid.given_names,
        "family_name": kid.family_name,
        "postcode": kid.postcode.split()[0],
    }
    return kid, {**body, "address": f"{line} {kid.town}"}, "address", {"exact", "partial"}


def former_family_name(pop: Population) -> Case:
    # A child who changed name, looked for by the name a practitioner knew it by.
    kid = _first(pop, lambda k: bool(k.other_family_names))
    body = {**_base(kid), "family_name": kid.other_family_names[0]}
    return kid, body, "family_name", {"former"}


def moved_old_postcode(pop: Population) -> Case:
    # A child who moved, looked for by names, the date of birth and where it lived before.
    kid = _first(
        pop,
        lambda k: (
            bool(k.previous_postcodes)
            and k.previous_postcodes[0].split()[0] != k.postcode.split()[0]
        ),
    )
    return kid, {**_base(kid), "postcode": kid.previous_postcodes[0]}, "postcode", {"previous"}


def moved_old_postcode_without_dob(pop: Population) -> Case:
    kids = pop.unique(
        lambda k: (fold(k.given_names), fold(k.family_name)),
        where=lambda k: (
            _ok(k)
            and bool(k.previous_postcodes)
            and k.previous_postcodes[0].split()[0] != k.postcode.split()[0]
        ),
    )
    kid = kids[len(kids) // 2]
    return kid, _without_dob(kid, postcode=kid.previous_postcodes[0]), "postcode", {"previous"}


def _full(kid: Kid, **changes: str) -> dict[str, Any]:
    return {**_base(kid), "postcode": kid.postcode, **changes}


def family_name_replaced(pop: Population) -> Case:
    # Adopted, or a step-family's name: the commonest family name of the data, not sounding
    # alike; given name, date of birth and postcode as recorded.
    from collections import Counter

    common = Counter(fold(k.family_name) for k in pop.kids).most_common(5)
    kid = _first(pop, lambda k: fold(k.family_name) not in {name for name, _ in common})
    replacement = next(
        name
        for name, _ in common
        if name[0] != fold(kid.family_name)[0]
        and not set(phonetic_keys(name)) & set(phonetic_keys(kid.family_name))
    )
    return kid, _full(kid, family_name=replacement.title()), "date_of_birth", {"exact"}


def names_exchanged_with_a_typo(pop: Population) -> Case:
    kid = _first(pop, lambda k: " " not in k.given_names and len(k.family_name) >= 5)
    body = _full(
        kid, given_name=_replace(kid.family_name, 3), family_name=kid.given_names.split()[0]
    )
    return kid, body, "date_of_birth", {"exact"}


def postcode_digits_transposed(pop: Population) -> Case:
    def transposable(k: Kid) -> bool:
        outward, inward = k.postcode.split()
        return outward[-1].isdigit() and inward[0] != outward[-1]

    kid = _first(pop, transposable)
    outward, inward = kid.postcode.split()
    moved = f"{outward[:-1]}{inward[0]} {outward[-1]}{inward[1:]}"
    return kid, _full(kid, postcode=moved), "date_of_birth", {"exact"}


def postcode_exchanged_with_the_family_name_alone(pop: Population) -> Case:
    # Only two fields given, so the postcode must be found with two characters exchanged: one
    # edit does not reach it, nor does its district or sector.
    homes: dict[tuple[str, str], int] = {}
    for k in pop.kids:
        homes[(fold(k.family_name), k.postcode)] = (
            homes.get((fold(k.family_name), k.postcode), 0) + 1
        )

    def alone_and_transposable(k: Kid) -> bool:
        outward, inward = k.postcode.split()
        return (
            homes[(fold(k.family_name), k.postcode)] == 1
            and outward[-1].isdigit()
            and inward[0] != outward[-1]
        )

    kid = _first(pop, alone_and_transposable)
    outward, inward = kid.postcode.split()
    moved = f"{outward[:-1]}{inward[0]} {outward[-1]}{inward[1:]}"
    return kid, {"family_name": kid.family_name, "postcode": moved}, "postcode", {"typo"}


def birth_year_off_by_one(pop: Population) -> Case:
    kid = _first(pop, lambda k: not (k.date_of_birth.month == 2 and k.date_of_birth.day == 29))
    born = kid.date_of_birth
    body = _full(kid, date_of_birth=born.replace(year=born.year - 1).isoformat())
    return kid, body, "postcode", {"exact"}


CASES = [
    exact,
    accent_folded,
    nickname,
    phonetic,
    typo_one_edit,
    typo_two_edits,
    typo_transposition,
    names_swapped,
    double_barrelled_part,
    given_names_any_order,
    dob_exact,
    dob_day_month_swapped,
    dob_one_digit_wrong,
    dob_year_only,
    dob_only_its_year_right,
    postcode_full,
    postcode_outward_only,
    postcode_one_character_wrong,
    address_free_text,
    former_family_name,
    moved_old_postcode,
    moved_old_postcode_without_dob,
    family_name_replaced,
    names_exchanged_with_a_typo,
    postcode_digits_transposed,
    postcode_exchanged_with_the_family_name_alone,
    birth_year_off_by_one,
]


@pytest.fixture(scope="module")
def practitioner(population: Population) -> Caller:
    return make_caller(population, Role.PRACTITIONER)


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_the_expected_child_ranks_first(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
    case: Callable[[Population], Case],
) -> None:
    kid, body, field, kinds = case(population)
    response = app_client.post("/v1/search", json=body, headers=practitioner.headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results, body
    top = results[0]
    assert top["identifier"] == kid.identifier, (body, results[:3])
    assert top["matched"].get(field) in kinds, top["matched"]
    assert 0.0 < top["probability"] <= 1.0
    # Best first by the match model; the results share one child's probability.
    weights = [r["match_weight"] for r in results]
    assert weights == sorted(weights, reverse=True)
    assert sum(r["probability"] for r in results) <= 1.0 + 1e-3


def test_an_exact_match_outranks_a_fuzzy_one_of_the_same_field(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
) -> None:
    kid, body, _, _ = exact(population)
    body["family_name"] = _replace(kid.family_name, 2)
    fuzzy = app_client.post("/v1/search", json=body, headers=practitioner.headers).json()
    exact_top = app_client.post("/v1/search", json=_base(kid), headers=practitioner.headers).json()
    assert exact_top["results"][0]["match_weight"] > fuzzy["results"][0]["match_weight"]
    assert exact_top["results"][0]["probability"] >= fuzzy["results"][0]["probability"]


def test_every_search_is_audited_with_its_criteria_and_the_identifiers_shown(
    population: Population,
    app_client: TestClient,
) -> None:
    caller = make_caller(population, Role.PRACTITIONER)
    kid, body, _, _ = exact(population)
    response = app_client.post("/v1/search", json=body, headers=caller.headers)
    (row,) = audit_rows(population.engine, username=caller.username, event="search")
    assert row.request_id == response.headers["X-Request-ID"]
    assert row.details["criteria"]["family_name"] == kid.family_name
    assert row.details["identifiers_shown"][0] == kid.identifier
    assert row.details["result_count"] == len(response.json()["results"])


@pytest.mark.parametrize(
    "body",
    [
        {"family_name": "Smith"},
        {"given_name": "Oliver", "date_of_birth": "2015-01-02"},
        {"postcode": "LS6 2AB", "gender": "male"},
        {"family_name": "Smith", "gender": "male", "address": "1 High Street"},
    ],
    ids=["family-name-alone", "no-family-name", "postcode-and-gender", "no-second-criterion"],
)
def test_too_little_to_search_on_is_a_422_saying_what_to_add(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
    body: dict[str, Any],
) -> None:
    response = app_client.post("/v1/search", json=body, headers=practitioner.headers)
    assert response.status_code == 422
    assert "add" in response.json()["message"] and response.json()["request_id"]


def test_a_limit_above_fifty_is_refused(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
) -> None:
    body = {"family_name": "Smith", "birth_year": 2015, "limit": 51}
    assert app_client.post("/v1/search", json=body, headers=practitioner.headers).status_code == 422


def test_a_very_common_name_and_birth_year_gives_too_many_matches_and_no_list(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
) -> None:
    from collections import Counter

    counts = Counter((fold(k.family_name), k.date_of_birth.year) for k in population.kids)
    (family, year), count = counts.most_common(1)[0]
    body = {"family_name": family, "birth_year": year, "limit": 3}
    assert count > 3
    answer = app_client.post("/v1/search", json=body, headers=practitioner.headers).json()
    assert answer["too_many_matches"] is True and answer["results"] == []
    assert "given_name" in answer["message"] and "date_of_birth" in answer["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"family_name": "-", "date_of_birth": "2015-04-11", "limit": 50},
        {"family_name": "-", "postcode": "B28 6JU", "limit": 50},
        {"family_name": "*", "birth_year": 2015, "limit": 50},
        {"family_name": "??", "date_of_birth": "2015-04-11"},
        {"family_name": "1234", "birth_year": 2015},
        {"family_name": "\U0001f600\U0001f600", "birth_year": 2015},
        {"family_name": "S", "date_of_birth": "2015-04-11"},
    ],
    ids=[
        "hyphen",
        "hyphen-and-postcode",
        "star",
        "question-marks",
        "digits",
        "emoji",
        "one-letter",
    ],
)
def test_a_family_name_without_two_letters_does_not_walk_past_the_minimum_criteria(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
    body: dict[str, Any],
) -> None:
    response = app_client.post("/v1/search", json=body, headers=practitioner.headers)
    assert response.status_code == 422, response.text
    assert "at least 2 letters" in response.json()["message"]


def _located(pop: Population) -> Kid:
    return _first(pop, lambda k: normalise_postcode(k.postcode) is not None)


def test_a_given_name_with_the_full_date_of_birth_and_postcode_finds_the_child(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
) -> None:
    kid = _located(population)
    body = {
        "given_name": kid.given_names.split()[0],
        "date_of_birth": kid.date_of_birth.isoformat(),
        "postcode": kid.postcode,
    }
    response = app_client.post("/v1/search", json=body, headers=practitioner.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["too_many_matches"] is False
    assert answer["results"][0]["identifier"] == kid.identifier
    top = answer["results"][0]
    assert top["strength"] == "strong" and top["probability"] > 0.9
    assert {top["comparisons"][name]["level"] for name in ("date_of_birth", "postcode")} == {
        "exact"
    }
    # Without a family name every result is at the postcode in some way, and matches the given
    # name or the date of birth besides.
    assert all(
        "postcode" in result["matched"] and {"given_name", "date_of_birth"} & set(result["matched"])
        for result in answer["results"]
    )


def _without_family_name(kid: Kid, **changes: str) -> dict[str, Any]:
    body = {
        "given_name": kid.given_names.split()[0],
        "date_of_birth": kid.date_of_birth.isoformat(),
        "postcode": kid.postcode,
    }
    return body | changes


def _other_date(kid: Kid) -> str:
    # Another year and month: neither one digit off, nor the day and month swapped.
    born = kid.date_of_birth
    other = date(born.year - 3, born.month % 12 + 1, min(born.day, 28))
    assert other not in one_digit_variants(born) and other.year != born.year
    return other.isoformat()


def _another_unit(postcode: str) -> str:
    # The same sector, another unit: "DD8 9AB" becomes "DD8 9ZZ" (or "DD8 9YY").
    outward, inward = normalise_postcode(postcode).split()  # type: ignore[union-attr]
    unit = "ZZ" if inward[1:] != "ZZ" else "YY"
    return f"{outward} {inward[0]}{unit}"


@pytest.mark.parametrize(
    "changes",
    [
        lambda kid: {"given_name": "Zebedee"},
        lambda kid: {"date_of_birth": _other_date(kid)},
    ],
    ids=["another-given-name", "another-date-of-birth"],
)
def test_without_the_family_name_a_child_at_its_postcode_is_found_despite_one_other_error(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
    changes: Callable[[Kid], dict[str, str]],
) -> None:
    kid = _located(population)
    body = _without_family_name(kid, **changes(kid))
    response = app_client.post("/v1/search", json=body, headers=practitioner.headers)
    assert response.status_code == 200, response.text
    found = [r["identifier"] for r in response.json()["results"]]
    assert kid.identifier in found[:3], (body, found)


@pytest.mark.parametrize(
    "changes",
    [
        lambda kid: {"given_name": "Zebedee", "postcode": _another_unit(kid.postcode)},
        lambda kid: {"date_of_birth": _other_date(kid), "postcode": _another_unit(kid.postcode)},
    ],
    ids=["another-given-name", "another-date-of-birth"],
)
def test_without_the_family_name_one_error_and_only_the_postcode_sector_find_nobody_there(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
    changes: Callable[[Kid], dict[str, str]],
) -> None:
    # Only the sector agrees: that is a few hundred households, so the given name and the date
    # of birth must then both agree, as with a postcode anywhere else.
    kid = _located(population)
    body = _without_family_name(kid, **changes(kid))
    response = app_client.post("/v1/search", json=body, headers=practitioner.headers)
    assert response.status_code == 200, response.text
    assert kid.identifier not in [r["identifier"] for r in response.json()["results"]]


def test_without_the_family_name_a_child_elsewhere_with_the_same_name_and_birthday_is_not_listed(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
) -> None:
    kid = _located(population)
    elsewhere = next(
        k.postcode
        for k in population.kids
        if normalise_postcode(k.postcode) and k.postcode[:2] != kid.postcode[:2]
    )
    body = {
        "given_name": kid.given_names.split()[0],
        "date_of_birth": kid.date_of_birth.isoformat(),
        "postcode": elsewhere,
    }
    response = app_client.post("/v1/search", json=body, headers=practitioner.headers)
    assert response.status_code == 200, response.text
    assert kid.identifier not in [r["identifier"] for r in response.json()["results"]]


def test_an_identifier_alone_finds_its_child_and_only_that_child(
    population: Population,
    app_client: TestClient,
    practitioner: Caller,
) -> None:
    kid = _first(population, lambda k: True)
    body = {"identifier": kid.identifier, "family_name": "-"}
    response = app_client.post("/v1/search", json=body, headers=practitioner.headers)
    assert response.status_code == 200, response.text
    assert [r["identifier"] for r in response.json()["results"]] == [kid.identifier]
