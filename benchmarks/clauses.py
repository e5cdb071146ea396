"""Clause cost: what the search's broad clauses cost Elasticsearch at this population.

Usage: .venv/bin/python benchmarks/clauses.py [--children 11000000] [--seed 7] [--queries 20]
                                              [--rounds 3] [--json PATH]

A search is a disjunction of per-field clauses (`mappings.query_builder`), and two of them must
match. Some match a share of the whole population: the year of birth alone (about 1 child in
18) and the outward postcode (thousands in a district). Their postings grow with the population
while the names' and the full dates' stay nearly flat. This script measures what they cost: it
draws --queries corrupted queries of each kind (benchmarks/_search_queries.py) from the
children, builds each one's Elasticsearch request as the API does (10 hits, a practitioner's
access filter), and the same request without those clauses:

- `full`: the search's own request;
- `no_year`: without the date of birth's year-only clause;
- `no_outward`: without the postcode's outward-code clause;
- `neither`: without both.

A clause that is the field's only way of matching (a search by year of birth or by district
alone) is kept. Every variant of every query is sent once to warm up, then --rounds more times,
each round in a new order, one at a time. Printed per variant: Elasticsearch's own `took`
p50/p95/p99 (ms), the median against `full`'s, and the recall@10 of the queries' children, so
that the cost of a clause is seen beside what it finds.

Runs on the scale benchmark's stack (var/bench-scale, ports 55449/59219, database
contactpoint_bench_scale, alias children-bench-scale; VAR_DIR, PG_PORT, ES_PORT and
ES_TRANSPORT_PORT as exported win) and reuses its children. A live index that holds every child
is used whichever commit built it (the requests are what this script varies, and an 11 M
reindex takes half an hour); without one, one is built. The stack is left running.
"""

from __future__ import annotations

import os

for _key, _value in {
    "VAR_DIR": "var/bench-scale",
    "PG_PORT": "55449",
    "ES_PORT": "59219",
    "ES_TRANSPORT_PORT": "59319",
    "PG_DATABASE": "contactpoint_bench_scale",
    "INDEX_ALIAS": "children-bench-scale",
}.items():
    os.environ.setdefault(_key, _value)

import argparse  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from _header import es_heap, print_header, write_report  # noqa: E402
from _population import (  # noqa: E402
    bench_account,
    ensure_index,
    live_index,
    percentiles,
    practitioner,
    prepare,
)
from _search_queries import KINDS, BenchQuery, build_queries  # noqa: E402
from _variants import VARIANTS, left_out, without  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from searchapi.access import child_access  # noqa: E402
from searchapi.search import search_body  # noqa: E402

SEED = 7
LIMIT = 10


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=11_000_000)
    parser.add_argument("--seed", type=int, default=SEED, help="the demo population's seed")
    parser.add_argument("--queries", type=int, default=20, help="queries per corruption kind")
    parser.add_argument("--rounds", type=int, default=3, help="timed sends of each request")
    parser.add_argument("--query-seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.queries < 1 or args.rounds < 2:
        parser.error("--queries must be at least 1 and --rounds at least 2")
    return args


def main() -> None:
    args = _arguments()
    settings = get_settings()
    population = prepare(settings, children=args.children, seed=args.seed)
    es = make_client(settings, purpose="indexer")
    live = live_index(es, settings.index_alias)
    if live is not None and int(es.count(index=live)["count"]) == population.children:
        index_state = "live"
        print(f"using the live index {live} ({population.children} documents)")
    else:
        ensure_index(settings, population, es)
        index_state = "built"
    query_seed = args.query_seed if args.query_seed is not None else secrets.randbelow(10**6)
    queries = build_queries(population.engine, per_kind=args.queries, seed=query_seed)
    run_id = secrets.token_hex(4)
    header = print_header(
        "clauses.py",
        children=population.children,
        fields={
            "data": "reused" if population.reused else "built",
            "seed": args.seed,
            "loaded_at": population.loaded_at,
            "index": index_state,
            "run": run_id,
            "query_seed": query_seed,
            "queries": len(queries),
            "per_kind": args.queries,
            "rounds": args.rounds,
            "es_heap": es_heap(es),
        },
    )
    account = bench_account(settings, population.engine, suffix=run_id)
    access = child_access(practitioner(account), named_children=frozenset())
    bodies = [search_body(query.criteria, access, limit=LIMIT) for query in queries]
    requests = {
        name: [without(body, prefixes) for body in bodies] for name, prefixes in VARIANTS.items()
    }

    searcher = make_client(settings, purpose="api")

    def send(body: Mapping[str, Any]) -> tuple[float, list[str]]:
        # The alias, as the API searches (it names the live index, or the one just built).
        response = searcher.search(index=settings.index_alias, **body)
        hits = response["hits"]["hits"]
        return float(response["took"]), [str(hit["_source"]["identifier"]) for hit in hits]

    report = measure(queries, requests, send, rounds=args.rounds, seed=query_seed)
    for name in VARIANTS:
        figures = report[name]
        print(
            f"{name:<11} took ms p50/p95/p99 {figures['took_ms']['p50']:6.1f}/"
            f"{figures['took_ms']['p95']:6.1f}/{figures['took_ms']['p99']:6.1f}  "
            f"median x{figures['median_ratio']:.2f} of full  "
            f"recall@10 {figures['recall_at_10']:.3f}  "
            f"clauses left out {figures['clauses_left_out']} in "
            f"{figures['queries_changed']} of {len(queries)} requests"
        )
    write_report(args.json, {"header": header, "variants": report, "kinds": list(KINDS)})


Sender = Callable[[Mapping[str, Any]], tuple[float, list[str]]]


def measure(
    queries: list[BenchQuery],
    requests: Mapping[str, list[dict[str, Any]]],
    send: Sender,
    *,
    rounds: int,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Each variant's took figures and recall@10 (warmed up once, then `rounds` timed sends of
    every request, each round shuffled)."""
    pairs = [(name, position) for name in requests for position in range(len(queries))]
    found: dict[tuple[str, int], list[str]] = {}
    for name, position in pairs:
        _, found[(name, position)] = send(requests[name][position])
    took: dict[str, list[float]] = {name: [] for name in requests}
    rng = random.Random(seed)
    for _ in range(rounds):
        rng.shuffle(pairs)
        for name, position in pairs:
            elapsed, _ = send(requests[name][position])
            took[name].append(elapsed)
    full = statistics.median(took["full"]) or 1.0
    report: dict[str, dict[str, Any]] = {}
    for name, timings in took.items():
        hits = [q.target in found[(name, i)][:LIMIT] for i, q in enumerate(queries)]
        dropped = [left_out(requests["full"][i], requests[name][i]) for i in range(len(queries))]
        report[name] = {
            "took_ms": percentiles(timings),
            "median_ratio": statistics.median(timings) / full,
            "recall_at_10": sum(hits) / len(hits) if hits else 0.0,
            "clauses_left_out": sum(dropped),
            "queries_changed": sum(1 for d in dropped if d),
        }
    return report


if __name__ == "__main__":
    main()
