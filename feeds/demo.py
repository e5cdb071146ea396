"""Test feeds with truth: the four national feeds of demo children, as imperfect as real ones.

`write_demo_feeds` draws `feed_children` children of the demo population that `contactpoint
demo-data --children N --seed S` writes (the same N and S), plus `new_children` born since (the
demo generator's next children, which the population file does not hold), and writes their
records in each source's format. Every line records which child it truly is (`truth`: the demo
identifier), so that linkage can be measured (`benchmarks/feeds.py`). The disagreement is the
kind real sources show:

- spelling: a letter changed, dropped or two exchanged in a name, now and then;
- nicknames in school records: the preferred forename is often a nickname, sometimes the legal
  forename itself is;
- a birth registered under one surname and a school record under another (a child with a former
  family name was registered under it);
- moved addresses that reach one source before another: benefit and health know the move, the
  census sometimes still has the address before, the birth its own;
- twins (same date of birth, address and family name, other given names): both drawn together;
- new births, not yet in the index.

Identifiers are derived from the demo identifier, so the same child has the same NHS number, UPN,
birth entry and claim in every run: an NHS number (starting 4, never a demo identifier), a UPN
whose local authority and establishment numbers are valid, a birth entry per authority and
year, one benefit claim per household with the children numbered on it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

from nicknames import NickNamer
from stdnum.gb import upn

from contactpoint.demo_data import generate_children
from db.normalise import nhs_check_digit
from feeds.health import NHS_NUMBER_SYSTEM, ODS_SYSTEM, TRUTH_SYSTEM
from feeds.records import Source
from feeds.sources import CSV_ROWS

CENSUS_DATE: Final = date(2026, 10, 1)
FILES: Final = {
    Source.BIRTHS: "births.csv",
    Source.SCHOOL_CENSUS: "school-census.csv",
    Source.CHILD_BENEFIT: "child-benefit.csv",
    Source.HEALTH: "health.jsonl",
}
# How often each disagreement happens, per record.
TYPO: Final = 0.02
NICKNAME_PREFERRED: Final = 0.25
NICKNAME_LEGAL: Final = 0.04
STALE_CENSUS_ADDRESS: Final = 0.4
BENEFIT_COVERAGE: Final = 0.9
DEATHS: Final = 0.001
_UPN_AUTHORITIES: Final = (201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213)
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"
_SEX: Final = {"male": "M", "female": "F", "other": "I", "unknown": "U"}


def _digest(*parts: object) -> int:
    text = "/".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def nhs_number(identifier: str) -> str:
    """The demo child's NHS number: 4 (or 6) and digits 2 to 9 of its identifier, then the
    check digit; distinct children have distinct numbers (their identifiers' first nine digits
    differ, and demo identifiers all start with 9)."""
    for first in "46":
        first_nine = f"{first}{identifier[1:9]}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"
    raise RuntimeError(f"no NHS number for {identifier}")  # pragma: no cover - both end in 10


def pupil_number(identifier: str, born: date) -> str:
    """A permanent UPN, distinct for distinct children: the authority from the identifier's
    ninth digit, the establishment and the serial from its digits 2 to 8, the reception year."""
    authority = _UPN_AUTHORITIES[int(identifier[8])]
    establishment = int(identifier[1:5])
    serial = int(identifier[5:8])
    year = (born.year + 4) % 100
    rest = f"{authority:03d}{establishment:04d}{year:02d}{serial:03d}"
    return str(upn.calc_check_digit(rest)) + rest


def _typo(rng: random.Random, name: str) -> str:
    """A letter changed, dropped or two exchanged, in one word of the name (never the first)."""
    words = name.split(" ")
    index = rng.randrange(len(words))
    word = words[index]
    if len(word) < 4:
        return name
    position = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        word = word[:position] + rng.choice(_LETTERS) + word[position + 1 :]
    elif kind == 1:
        word = word[:position] + word[position + 1 :]
    else:
        word = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    words[index] = word
    return " ".join(words)


def _maybe_typo(rng: random.Random, name: str) -> str:
    return _typo(rng, name) if rng.random() < TYPO else name


class _Nicknames:
    def __init__(self) -> None:
        self._namer = NickNamer()

    def of(self, rng: random.Random, name: str) -> str | None:
        found = sorted(n for n in self._namer.nicknames_of(name) if n.isalpha() and len(n) > 1)
        return rng.choice(found).title() if found else None


def _former_family_name(child: dict[str, Any]) -> str | None:
    for other in child.get("other_names", []):
        if other.get("kind") == "former":
            return str(other["family_name"])
    return None


def _previous(child: dict[str, Any]) -> dict[str, Any] | None:
    previous = child.get("previous_addresses") or []
    return previous[0] if previous else None


def _birth_address(child: dict[str, Any]) -> tuple[list[str], str, str]:
    """Where the child was born: the earliest previous address when it moved, else its own."""
    address = child["address"]
    history = child.get("previous_addresses") or []
    if history:
        earliest = history[-1]
        return address["lines"], earliest.get("town") or address["town"], earliest["postcode"]
    return address["lines"], address["town"], address["postcode"]


def _household(child: dict[str, Any]) -> tuple[str, str]:
    return (" ".join(child["address"]["lines"]), child["address"]["postcode"])


def _draw(indexed: list[dict[str, Any]], count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` children, with every twin of a child drawn (twins share date of birth, address
    and family name)."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for index, child in enumerate(indexed):
        key = (child["family_name"], child["date_of_birth"], child["address"]["postcode"])
        groups[key].append(index)
    chosen: set[int] = set()
    order = list(range(len(indexed)))
    rng.shuffle(order)
    for index in order:
        if len(chosen) >= count:
            break
        child = indexed[index]
        key = (child["family_name"], child["date_of_birth"], child["address"]["postcode"])
        chosen.update(groups[key])
    return [indexed[index] for index in sorted(chosen)]


def _write_csv(path: Path, source: Source, rows: Iterable[dict[str, str]]) -> int:
    columns = CSV_ROWS[source].columns
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in columns})
            count += 1
    return count


class _Feeds:
    """The records of each source, child by child."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.nicknames = _Nicknames()
        self.entries: dict[tuple[str, int], int] = defaultdict(int)
        self.claims: dict[tuple[str, str], tuple[str, int]] = {}
        self.references: set[str] = set()
        self.births: list[dict[str, str]] = []
        self.census: list[dict[str, str]] = []
        self.benefit: list[dict[str, str]] = []
        self.health: list[str] = []

    def rng(self, child: dict[str, Any], source: Source) -> random.Random:
        return random.Random(_digest(self.seed, source.value, child["identifier"]))

    def add(self, child: dict[str, Any], *, today: date) -> None:
        born = date.fromisoformat(child["date_of_birth"])
        self._birth(child, born, today)
        before_birthday = (CENSUS_DATE.month, CENSUS_DATE.day) < (born.month, born.day)
        age = CENSUS_DATE.year - born.year - before_birthday
        if 4 <= age <= 16 and child.get("education_setting"):
            self._census(child, born)
        if self.rng(child, Source.CHILD_BENEFIT).random() < BENEFIT_COVERAGE:
            self._benefit(child, born, today)
        self._health(child, born, today)

    def _birth(self, child: dict[str, Any], born: date, today: date) -> None:
        rng = self.rng(child, Source.BIRTHS)
        district = (child.get("local_authority") or {}).get("code") or "E99999999"
        self.entries[(district, born.year)] += 1
        lines, town, postcode = _birth_address(child)
        registered = born + timedelta(days=rng.randrange(3, 42))
        self.births.append(
            {
                "entry": f"{district}/{born.year}/{self.entries[(district, born.year)]}",
                "version": "1",
                "registered_on": min(registered, today).isoformat(),
                "forenames": _maybe_typo(rng, child["given_names"]),
                "surname": _former_family_name(child) or _maybe_typo(rng, child["family_name"]),
                "sex": _SEX[child["gender"]],
                "date_of_birth": child["date_of_birth"],
                "address_line_1": lines[0],
                "address_line_2": lines[1] if len(lines) > 1 else "",
                "town": town,
                "postcode": postcode,
                "truth": child["identifier"],
            }
        )

    def _census(self, child: dict[str, Any], born: date) -> None:
        rng = self.rng(child, Source.SCHOOL_CENSUS)
        school = child["education_setting"]
        forename = child["given_names"].split()[0]
        nickname = self.nicknames.of(rng, forename)
        preferred = ""
        if nickname is not None and rng.random() < NICKNAME_LEGAL:
            forename = nickname
        elif nickname is not None and rng.random() < NICKNAME_PREFERRED:
            preferred = nickname
        address = child["address"]
        lines, town, postcode = address["lines"], address["town"], address["postcode"]
        previous = _previous(child)
        if previous is not None and rng.random() < STALE_CENSUS_ADDRESS:
            town, postcode = previous.get("town") or town, previous["postcode"]
        self.census.append(
            {
                "upn": pupil_number(child["identifier"], born),
                "school_urn": school["code"] if school["code"].isdigit() else "100000",
                "census_date": CENSUS_DATE.isoformat(),
                "legal_surname": _maybe_typo(rng, child["family_name"]),
                "forename": _maybe_typo(rng, forename),
                "preferred_forename": preferred,
                "gender": _SEX[child["gender"]],
                "date_of_birth": child["date_of_birth"],
                "address_line_1": lines[0],
                "address_line_2": lines[1] if len(lines) > 1 else "",
                "town": town,
                "postcode": postcode,
                "school_name": school["name"],
                "school_phone": school.get("phone") or "",
                "truth": child["identifier"],
            }
        )

    def _benefit(self, child: dict[str, Any], born: date, today: date) -> None:
        rng = self.rng(child, Source.CHILD_BENEFIT)
        household = _household(child)
        reference, count = self.claims.get(household, ("", 0))
        attempt = 0
        while not reference:
            # A claim reference is one household's: drawn again when another has it (at 90,000
            # households, eight digits alone gave about 40 two households' claims).
            digits = _digest("claim", self.seed, *household, attempt) % 100_000_000
            letters = "".join(_LETTERS[(digits >> (5 * i)) % 26] for i in range(2)).upper()
            drawn = f"CHB{digits:08d}{letters}"
            if drawn not in self.references:
                reference = drawn
                self.references.add(drawn)
            attempt += 1
        self.claims[household] = (reference, count + 1)
        address = child["address"]
        previous = _previous(child)
        since = previous.get("to") if previous else None
        self.benefit.append(
            {
                "claim_reference": reference,
                "child_number": str(count + 1),
                "version": "1",
                "updated_on": min(born + timedelta(days=60), today).isoformat(),
                "child_forenames": _maybe_typo(rng, child["given_names"]),
                "child_surname": _maybe_typo(rng, child["family_name"]),
                "child_sex": _SEX[child["gender"]],
                "child_date_of_birth": child["date_of_birth"],
                "address_line_1": address["lines"][0],
                "address_line_2": address["lines"][1] if len(address["lines"]) > 1 else "",
                "town": address["town"],
                "postcode": address["postcode"],
                "address_since": since or "",
                "truth": child["identifier"],
            }
        )

    def _health(self, child: dict[str, Any], born: date, today: date) -> None:
        rng = self.rng(child, Source.HEALTH)
        number = nhs_number(child["identifier"])
        address = child["address"]
        previous = _previous(child)
        since = (previous.get("to") if previous else None) or child["date_of_birth"]
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": number,
            "meta": {"versionId": "1", "lastUpdated": f"{today.isoformat()}T06:00:00+00:00"},
            "identifier": [
                {"system": NHS_NUMBER_SYSTEM, "value": number},
                {"system": TRUTH_SYSTEM, "value": child["identifier"]},
            ],
            "name": [
                {
                    "use": "usual",
                    "family": _maybe_typo(rng, child["family_name"]),
                    "given": _maybe_typo(rng, child["given_names"]).split(),
                }
            ],
            "gender": child["gender"],
            "birthDate": child["date_of_birth"],
            "address": [
                {
                    "use": "home",
                    "line": address["lines"],
                    "city": address["town"],
                    "postalCode": address["postcode"],
                    "period": {"start": since},
                }
            ],
        }
        practice = child.get("gp_practice")
        if practice:
            organisation: dict[str, Any] = {
                "resourceType": "Organization",
                "id": "gp",
                "identifier": [{"system": ODS_SYSTEM, "value": practice["code"]}],
                "name": practice["name"],
            }
            if practice.get("phone"):
                organisation["telecom"] = [{"system": "phone", "value": practice["phone"]}]
            resource["contained"] = [organisation]
            resource["generalPractitioner"] = [
                {
                    "reference": "#gp",
                    "identifier": {"system": ODS_SYSTEM, "value": practice["code"]},
                }
            ]
        if rng.random() < DEATHS:
            resource["deceasedDateTime"] = f"{today.isoformat()}T03:00:00+00:00"
        self.health.append(json.dumps(resource, separators=(",", ":")))


def _newborn(child: dict[str, Any], rng: random.Random, today: date) -> dict[str, Any]:
    """A child born in the last two months, at its family's address: no school, no history."""
    born = today - timedelta(days=rng.randrange(3, 60))
    kept = {k: v for k, v in child.items() if k not in ("education_setting", "other_names")}
    return kept | {"date_of_birth": born.isoformat(), "previous_addresses": []}


def write_demo_feeds(
    *,
    out: Path,
    children: int,
    seed: int,
    feed_children: int,
    new_children: int,
    today: date | None = None,
) -> dict[Source, int]:
    """Write the four feeds to `out` (births.csv, school-census.csv, child-benefit.csv,
    health.jsonl); return how many records each holds."""
    when = today or date.today()
    population = list(generate_children(count=children + new_children, seed=seed))
    indexed, new = population[:children], population[children:]
    rng = random.Random(f"demo-feeds/{seed}")
    drawn = _draw(indexed, max(feed_children - len(new), 0), rng) + [
        _newborn(child, rng, when) for child in new
    ]
    feeds = _Feeds(seed)
    # Sorted by date of birth: a national feed arrives in no particular order of household.
    for child in sorted(drawn, key=lambda c: (c["date_of_birth"], c["identifier"])):
        feeds.add(child, today=when)
    out.mkdir(parents=True, exist_ok=True)
    counts = {
        Source.BIRTHS: _write_csv(out / FILES[Source.BIRTHS], Source.BIRTHS, feeds.births),
        Source.SCHOOL_CENSUS: _write_csv(
            out / FILES[Source.SCHOOL_CENSUS], Source.SCHOOL_CENSUS, feeds.census
        ),
        Source.CHILD_BENEFIT: _write_csv(
            out / FILES[Source.CHILD_BENEFIT], Source.CHILD_BENEFIT, feeds.benefit
        ),
    }
    (out / FILES[Source.HEALTH]).write_text("\n".join(feeds.health) + "\n", encoding="utf-8")
    counts[Source.HEALTH] = len(feeds.health)
    return counts
