"""Match scoring benchmark: milliseconds to score 200 candidates against one query.

Usage: .venv/bin/python benchmarks/matching_score.py [--queries 300] [--candidates 200]
       [--children 20000] [--model matching/data/model.json]

Pure Python, no servers. Each query is a demo child with one field typed differently; its
candidates are the child and others drawn as a broad retrieval would bring them (sharing the
family name, the district or the year of birth, and some at random). Prints p50/p95/p99 ms per
query for candidates given as records with the value caches as a running service has them
(warm: names and postcodes recur) and emptied before each query (cold: every name's phonetic
keys computed again), and for candidates prepared from their index documents, whose keys are
stored (cold caches: what a search pays).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from _header import print_header, write_report

from contactpoint.demo_data import generate_children
from mappings import IndexedChild, build_child_document
from mappings.normalise import family_name_keys, fold, given_name_keys, phonetic_keys
from matching import (
    MatchRecord,
    default_model_path,
    load_model,
    prepared_from_document,
    score,
)
from matching.prepared import clear_caches

_MAPPINGS_CACHES: tuple[Callable[..., object], ...] = (
    given_name_keys,
    family_name_keys,
    phonetic_keys,
    fold,
)


def _clear_caches() -> None:
    clear_caches()
    for function in _MAPPINGS_CACHES:
        function.cache_clear()  # type: ignore[attr-defined]


def _records(children: int, seed: int) -> list[MatchRecord]:
    return [
        MatchRecord(
            given_names=child["given_names"],
            family_name=child["family_name"],
            date_of_birth=date.fromisoformat(child["date_of_birth"]),
            postcode=child["address"]["postcode"],
            town=child["address"]["town"],
            gender=child["gender"],
            identifier=child["identifier"],
        )
        for child in generate_children(count=children, seed=seed)
    ]


def _document(record: MatchRecord) -> dict[str, object]:
    assert record.date_of_birth is not None
    return build_child_document(
        IndexedChild(
            identifier=record.identifier or "",
            given_names=record.given_names or "",
            family_name=record.family_name or "",
            gender="female" if record.gender == "female" else "male",
            date_of_birth=record.date_of_birth,
            address_lines=(),
            town=record.town or "",
            postcode=record.postcode or "",
            status="active",
            record_version=1,
            shielded=False,
        )
    )


def _query(rng: random.Random, child: MatchRecord) -> MatchRecord:
    """What a practitioner might type: the first given name, and one field a little off."""
    assert child.given_names and child.family_name and child.date_of_birth
    given = child.given_names.split()[0]
    family = child.family_name
    born = child.date_of_birth
    postcode = child.postcode
    kind = rng.randrange(4)
    if kind == 0:
        family = family[:-1] + ("e" if family[-1] != "e" else "a")
    elif kind == 1:
        born = born + timedelta(days=1)
    elif kind == 2 and postcode:
        postcode = postcode.split(" ")[0]
    return MatchRecord(given_names=given, family_name=family, date_of_birth=born, postcode=postcode)


def _candidates(
    rng: random.Random,
    child: MatchRecord,
    population: list[MatchRecord],
    by: dict[str, dict[object, list[MatchRecord]]],
    count: int,
) -> list[MatchRecord]:
    assert child.date_of_birth is not None and child.postcode is not None
    keys = {
        "family": child.family_name,
        "outward": child.postcode.split(" ")[0],
        "year": child.date_of_birth.year,
    }
    pool = [child]
    for name, key in keys.items():
        pool.extend(by[name].get(key, [])[: count // 4])
    while len(pool) < count:
        pool.append(rng.choice(population))
    chosen = pool[:count]
    rng.shuffle(chosen)
    return chosen


def _index(population: list[MatchRecord]) -> dict[str, dict[object, list[MatchRecord]]]:
    by: dict[str, dict[object, list[MatchRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in population:
        assert record.date_of_birth is not None and record.postcode is not None
        by["family"][record.family_name].append(record)
        by["outward"][record.postcode.split(" ")[0]].append(record)
        by["year"][record.date_of_birth.year].append(record)
    return by


def _percentiles(values: list[float]) -> str:
    cuts = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return f"p50 {cuts[49]:.2f} ms  p95 {cuts[94]:.2f} ms  p99 {cuts[98]:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = parser.parse_args()

    # Nothing is reused: the population is generated in this process and every cache starts
    # empty; the warm figures warm them on purpose, first.
    header = print_header(
        "matching_score.py",
        children=args.children,
        fields={
            "data": "built",
            "queries": args.queries,
            "candidates": args.candidates,
            "model": args.model.name,
            "seed": args.seed,
        },
    )
    model = load_model(args.model)
    population = _records(args.children, seed=args.seed)
    by = _index(population)
    rng = random.Random(args.seed)
    work = []
    for _ in range(args.queries):
        child = rng.choice(population)
        candidates = _candidates(rng, child, population, by, args.candidates)
        work.append((child, _query(rng, child), candidates))

    for _, query, candidates in work:  # warm the caches, as a running service has them
        score(query, candidates, model)
    found = 0
    timings: dict[str, list[float]] = {
        "records, warm caches": [],
        "records, cold caches": [],
        "documents, cold caches": [],
    }
    for mode, values in timings.items():
        for child, query, candidates in work:
            documents = [_document(c) for c in candidates] if mode.startswith("doc") else []
            if "cold" in mode:
                _clear_caches()
            start = time.perf_counter()
            if documents:
                ranked = score(query, [prepared_from_document(d) for d in documents], model)
            else:
                ranked = score(query, candidates, model)
            values.append((time.perf_counter() - start) * 1000)
            if mode.startswith("records, warm"):
                found += ranked[0].record is child
    print(
        f"scoring {args.candidates} candidates, {args.queries} queries, "
        f"model {args.model.name} ({model.training.get('rows')} rows)"
    )
    for mode, values in timings.items():
        print(f"  {mode:<24} {_percentiles(values)}")
    print(f"  the child ranked first in {found} of {args.queries} queries")
    write_report(
        args.json,
        {
            "header": header,
            "timings_ms": timings,
            "found_first": found,
            "model_rows": model.training.get("rows"),
        },
    )


if __name__ == "__main__":
    main()
