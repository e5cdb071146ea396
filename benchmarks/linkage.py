"""Linkage benchmark: FEBRL duplicates searched for among their originals and distractors, through
the API, retrieval alone, today's ranking and a PostgreSQL pg_trgm + dmetaphone baseline.

Usage: .venv/bin/python benchmarks/linkage.py [--datasets 1,2,3] [--distractors 200000]
                                              [--queries N] [--seed 1] [--workers N]
                                              [--rebuild] [--keep-up] [--json PATH]

The originals of FEBRL data sets 1-3 (never 4: it is kept for an independent check), mapped to
the import format as benchmarks/_febrl.py documents, and --distractors children whose fields
are drawn one by one from the originals' values, are loaded with the loader and indexed with a
reindex, on a stack of its own (var/bench-linkage, ports 55441/59211, database
contactpoint_bench_linkage, alias children-bench-linkage). Each duplicate whose original is
loaded (or a seeded sample of --queries) is then searched for with what it gives (given name,
family name, date of birth, postcode; a missing or unreadable field left out), as a
practitioner's CMS would:

- through the API (uvicorn, limit 10): recall@1 and @10; a 422 (too little to search on) and
  too_many_matches count as misses and are counted apart;
- retrieval alone: the API's Elasticsearch request (`search_body(..., limit=200)`) sent straight
  to Elasticsearch: recall@200, and recall@1/@10 of Elasticsearch's own order (today's ranking);
- PostgreSQL pg_trgm + dmetaphone (`_search_queries.pg_baseline`, its query needs a family name).

Then the calibration of the probability of every result the API showed (when the API gives
one), and the misses by how the duplicate differs from its original. The population is reused
when the database holds exactly the children this run would load (the import file's digest),
the index only when committed code that makes the same documents built it. Servers the run
started are stopped at the end unless --keep-up.
"""

from __future__ import annotations

import os

for _key, _value in {
    "VAR_DIR": "var/bench-linkage",
    "PG_PORT": "55441",
    "ES_PORT": "59211",
    "ES_TRANSPORT_PORT": "59311",
    "PG_DATABASE": "contactpoint_bench_linkage",
    "INDEX_ALIAS": "children-bench-linkage",
    "ES_HEAP": "2g",
}.items():
    os.environ.setdefault(_key, _value)

import argparse  # noqa: E402
import math  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, TypeVar  # noqa: E402

import orjson  # noqa: E402
import urllib3  # noqa: E402
from _api import free_port, start_api, stop_api  # noqa: E402
from _febrl import (  # noqa: E402
    DIFFERENCES,
    FebrlRecord,
    LinkagePopulation,
    LinkageQuery,
    build_population,
    build_queries,
    probability_bands,
    read_febrl,
)
from _header import es_heap, print_header, write_report  # noqa: E402
from _population import (  # noqa: E402
    SourceFile,
    audited_searches,
    bench_account,
    ensure_index,
    not_running,
    practitioner,
    prepare,
)
from _search_queries import BenchQuery, pg_baseline  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.services import down  # noqa: E402
from contactpoint.settings import Settings, get_settings  # noqa: E402
from searchapi.access import child_access  # noqa: E402
from searchapi.search import search_body  # noqa: E402
from searchapi.search_schemas import SearchRequest, SearchResult  # noqa: E402

API_LIMIT = 10
RETRIEVAL = 200
THREADS = 4
EXAMPLES = 5
_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass
class Outcome:
    """What each path found for one query: identifiers best first (None: the path could not
    run the query), and the API's answer."""

    api_status: str = "ok"  # ok, refused (422), too_many_matches
    api: list[str] | None = None
    api_results: list[dict[str, Any]] | None = None
    retrieval: list[str] | None = None
    pg: list[str] | None = None


def _in_parallel(items: Sequence[_T], run: Callable[[_T], _R]) -> list[_R]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool_:
        return list(pool_.map(run, items))


def _import_file(settings: Settings, population: LinkagePopulation) -> SourceFile:
    """The population's import file, written only when its content changed."""
    fingerprint = population.fingerprint
    path = Path(settings.var_dir) / "bench" / f"linkage-{fingerprint[7:19]}.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text("\n".join(population.lines) + "\n")
        partial.rename(path)
    return SourceFile(path=path, fingerprint=fingerprint)


def _at(target: str, found: list[str] | None, k: int) -> bool:
    return found is not None and target in found[:k]


def _figures(queries: Sequence[LinkageQuery], outcomes: Sequence[Outcome]) -> dict[str, Any]:
    pairs = list(zip(queries, outcomes, strict=True))
    n = len(pairs)

    def share(test: Callable[[LinkageQuery, Outcome], bool]) -> float:
        return sum(test(q, o) for q, o in pairs) / n if n else math.nan

    return {
        "queries": n,
        "refused": sum(o.api_status == "refused" for _, o in pairs),
        "too_many_matches": sum(o.api_status == "too_many_matches" for _, o in pairs),
        "api_at_1": share(lambda q, o: _at(q.target, o.api, 1)),
        "api_at_10": share(lambda q, o: _at(q.target, o.api, 10)),
        "retrieval_at_200": share(lambda q, o: _at(q.target, o.retrieval, RETRIEVAL)),
        "es_order_at_1": share(lambda q, o: _at(q.target, o.retrieval, 1)),
        "es_order_at_10": share(lambda q, o: _at(q.target, o.retrieval, 10)),
        # How deep retrieval must go: the share found within Elasticsearch's first k.
        "retrieval_depth": {
            str(k): share(lambda q, o, k=k: _at(q.target, o.retrieval, k)) for k in _DEPTHS
        },
        "pg_run": sum(o.pg is not None for _, o in pairs),
        "pg_at_1": share(lambda q, o: _at(q.target, o.pg, 1)),
        "pg_at_10": share(lambda q, o: _at(q.target, o.pg, 10)),
    }


_DEPTHS = (25, 50, 100, 150, 200)


def _depth_line(figures: dict[str, Any]) -> str:
    depth = figures["retrieval_depth"]
    return "retrieval found within Elasticsearch's first k: " + ", ".join(
        f"k={k} {depth[str(k)]:.3f}" for k in _DEPTHS
    )


def _recall_table(groups: dict[str, dict[str, Any]]) -> str:
    lines = [
        "recall            n  refused  too_many   API@1  API@10   retr@200   ES@1   ES@10"
        "   PG@1   PG@10",
    ]
    for name, f in groups.items():
        lines.append(
            f"  {name:<12} {f['queries']:>5} {f['refused']:>8} {f['too_many_matches']:>9}"
            f"   {f['api_at_1']:5.3f}   {f['api_at_10']:5.3f}      {f['retrieval_at_200']:5.3f}"
            f"  {f['es_order_at_1']:5.3f}   {f['es_order_at_10']:5.3f}"
            f"  {f['pg_at_1']:5.3f}   {f['pg_at_10']:5.3f}"
        )
    return "\n".join(lines)


def _misses(queries: Sequence[LinkageQuery], outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    rows = []
    for kind in DIFFERENCES:
        pairs = [(q, o) for q, o in zip(queries, outcomes, strict=True) if kind in q.differences]
        rows.append(
            {
                "kind": kind,
                "queries": len(pairs),
                "api_missed_at_1": sum(not _at(q.target, o.api, 1) for q, o in pairs),
                "api_missed_at_10": sum(not _at(q.target, o.api, 10) for q, o in pairs),
                "retrieval_missed_at_200": sum(
                    not _at(q.target, o.retrieval, RETRIEVAL) for q, o in pairs
                ),
            }
        )
    return rows


def _misses_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "misses by how the duplicate differs (a query may differ in several ways; reporting only)",
        f"  {'kind':<38} {'queries':>7} {'API@1':>7} {'API@10':>7} {'retr@200':>9}",
    ]
    for row in rows:
        lines.append(
            f"  {row['kind']:<38} {row['queries']:>7} {row['api_missed_at_1']:>7}"
            f" {row['api_missed_at_10']:>7} {row['retrieval_missed_at_200']:>9}"
        )
    return "\n".join(lines)


def _shown(
    queries: Sequence[LinkageQuery], outcomes: Sequence[Outcome]
) -> list[tuple[float, bool]]:
    """Every result the API showed with a probability: (the probability, whether the child)."""
    return [
        (float(result["probability"]), result["identifier"] == q.target)
        for q, o in zip(queries, outcomes, strict=True)
        for result in o.api_results or []
        if result.get("probability") is not None
    ]


def _calibration_table(rows: list[dict[str, Any]]) -> str:
    total = sum(row["results"] for row in rows)
    lines = [f"calibration of the {total} results shown, by probability band"]
    lines.append(f"  {'band':<8} {'results':>8} {'mean p':>8} {'the child':>10}")
    for row in rows:
        if not row["results"]:
            lines.append(f"  {row['band']:<8} {0:>8} {'-':>8} {'-':>10}")
            continue
        flag = "  <- gap over 5 points" if row["flagged"] else ""
        lines.append(
            f"  {row['band']:<8} {row['results']:>8} {row['mean_probability']:8.3f}"
            f" {row['share_the_child']:10.3f}{flag}"
        )
    return "\n".join(lines)


def _head_to_head(queries: Sequence[LinkageQuery], outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Queries the API's ranking and Elasticsearch's order (of the same retrieval) disagree on."""
    pairs = list(zip(queries, outcomes, strict=True))
    return {
        "api_first_es_not": sum(
            _at(q.target, o.api, 1) and not _at(q.target, o.retrieval, 1) for q, o in pairs
        ),
        "es_first_api_not": sum(
            _at(q.target, o.retrieval, 1) and not _at(q.target, o.api, 1) for q, o in pairs
        ),
        "es_first_api_too_many": sum(
            _at(q.target, o.retrieval, 1) and o.api_status == "too_many_matches" for q, o in pairs
        ),
        "es_top10_api_not": sum(
            _at(q.target, o.retrieval, 10) and not _at(q.target, o.api, 10) for q, o in pairs
        ),
        "es_top10_api_too_many": sum(
            _at(q.target, o.retrieval, 10) and o.api_status == "too_many_matches" for q, o in pairs
        ),
    }


def _examples(
    queries: Sequence[LinkageQuery],
    outcomes: Sequence[Outcome],
    records: dict[tuple[int, str], FebrlRecord],
) -> list[dict[str, Any]]:
    """Up to EXAMPLES queries the API did not answer with the child first though Elasticsearch's
    order did (then, if too few, any the API missed at rank 1 though retrieval found the child)."""
    missed = [
        (q, o)
        for q, o in zip(queries, outcomes, strict=True)
        if not _at(q.target, o.api, 1) and _at(q.target, o.retrieval, RETRIEVAL)
    ]
    missed.sort(key=lambda pair: not _at(pair[0].target, pair[1].retrieval, 1))
    found = []
    for q, o in missed[:EXAMPLES]:
        original = records[q.original_key]
        first = (o.api_results or [{}])[0]
        found.append(
            {
                "duplicate": f"febrl{q.dataset}:{q.rec_id}",
                "query": {k: v for k, v in q.body.items() if k != "limit"},
                "original": {
                    "given_name": original.given_name,
                    "family_name": original.surname,
                    "date_of_birth": str(original.date_of_birth),
                    "postcode": original.postcode,
                },
                "api_status": o.api_status,
                "api_rank": (o.api or []).index(q.target) + 1 if _at(q.target, o.api, 10) else None,
                "retrieval_rank": (o.retrieval or []).index(q.target) + 1,
                "api_first": {
                    key: first.get(key)
                    for key in (
                        "given_names",
                        "family_name",
                        "date_of_birth",
                        "postcode_outward",
                        "probability",
                        "match_weight",
                        "comparisons",
                    )
                },
            }
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--datasets", default="1,2,3", help="FEBRL data sets among 1, 2, 3")
    parser.add_argument("--distractors", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=None, help="a seeded sample (default all)")
    parser.add_argument("--seed", type=int, default=1, help="of the distractors and the sample")
    parser.add_argument(
        "--workers", type=int, default=None, help="uvicorn worker processes (API_WORKERS)"
    )
    parser.add_argument("--rebuild", action="store_true", help="load and index afresh")
    parser.add_argument("--keep-up", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()
    try:
        datasets = sorted({int(part) for part in args.datasets.split(",") if part.strip()})
    except ValueError:
        raise SystemExit(f"--datasets {args.datasets!r}: give numbers among 1, 2, 3") from None
    if not datasets or not set(datasets) <= {1, 2, 3}:
        raise SystemExit(f"--datasets {args.datasets!r}: give numbers among 1, 2, 3")
    if args.distractors < 0 or (args.queries is not None and args.queries < 1):
        raise SystemExit("--distractors must be 0 or more and --queries 1 or more")

    settings = get_settings()
    run_id = secrets.token_hex(4)
    workers = args.workers or settings.api_workers
    records = read_febrl(datasets)
    linkage = build_population(records, distractors=args.distractors, seed=args.seed)
    queries, duplicates = build_queries(
        records, linkage, sample=args.queries, seed=args.seed, limit=API_LIMIT
    )
    started = not_running(settings)
    api: subprocess.Popen[bytes] | None = None
    try:
        source = _import_file(settings, linkage)
        children = linkage.originals + linkage.distractors
        population = prepare(
            settings, children=children, seed=args.seed, rebuild=args.rebuild, source=source
        )
        engine = population.engine
        indexer_es = make_client(settings, purpose="indexer")
        index, index_reused_at = ensure_index(settings, population, indexer_es)
        probability = "probability" in SearchResult.model_fields
        header = print_header(
            "linkage.py",
            children=children,
            fields={
                **population.header_fields(),
                "index": "built" if index_reused_at is None else "reused",
                "servers": "+".join(started) + "-started" if started else "running",
                "run": run_id,
                "datasets": ",".join(map(str, datasets)),
                "originals": linkage.originals,
                "left_out": sum(linkage.left_out.values()),
                "distractors": linkage.distractors,
                "population": source.fingerprint[:19],
                "queries": len(queries),
                "duplicates": duplicates,
                "api_limit": API_LIMIT,
                "retrieval": RETRIEVAL,
                "probability": "in_results" if probability else "absent",
                "api_workers": workers,
                "es_heap": es_heap(indexer_es),
            },
        )
        left_out = ", ".join(f"{why}: {n}" for why, n in sorted(linkage.left_out.items()))
        stand_ins = ", ".join(f"{what}: {n}" for what, n in sorted(linkage.stand_ins.items()))
        print(
            f"originals: {linkage.originals} loaded; left out (a required field missing): "
            f"{left_out or 'none'}; stand-ins: {stand_ins or 'none'}"
        )
        print(
            f"queries: {len(queries)} of the {duplicates} duplicates of loaded originals"
            + (f" (seeded sample, seed {args.seed})" if len(queries) < duplicates else "")
        )
        account = bench_account(settings, engine, suffix=run_id)
        port = free_port()
        api = start_api(port, workers)
        headers = {
            "Authorization": f"Bearer {account.key}",
            "X-On-Behalf-Of": account.username,
            "Content-Type": "application/json",
        }
        access = child_access(practitioner(account), named_children=frozenset())
        es = make_client(settings, purpose="api")
        http = urllib3.PoolManager(headers=headers, maxsize=THREADS, timeout=60)
        outcomes = [Outcome() for _ in queries]

        def through_api(i: int) -> None:
            response = http.request(
                "POST", f"http://127.0.0.1:{port}/v1/search", body=orjson.dumps(queries[i].body)
            )
            if response.status == 422:
                outcomes[i].api_status = "refused"
                return
            if response.status != 200:
                raise RuntimeError(f"the API answered {response.status}: {response.data[:200]!r}")
            answer = orjson.loads(response.data)
            if answer["too_many_matches"]:
                outcomes[i].api_status = "too_many_matches"
            outcomes[i].api_results = answer["results"]
            outcomes[i].api = [result["identifier"] for result in answer["results"]]

        def retrieval(i: int) -> None:
            if outcomes[i].api_status == "refused":
                return  # too little to search on: the API sends nothing to Elasticsearch either
            criteria = SearchRequest.model_validate(queries[i].body).criteria()
            body = search_body(criteria, access, limit=RETRIEVAL)
            hits = es.search(index=settings.index_alias, **body)["hits"]["hits"]
            outcomes[i].retrieval = [hit["_source"]["identifier"] for hit in hits[:RETRIEVAL]]

        clock = time.perf_counter()
        _in_parallel(range(len(queries)), through_api)
        api_s = time.perf_counter() - clock
        clock = time.perf_counter()
        _in_parallel(range(len(queries)), retrieval)
        es_s = time.perf_counter() - clock
        with_family = [i for i, q in enumerate(queries) if "family_name" in q.body]
        pg_queries = [
            BenchQuery(f"febrl{queries[i].dataset}", queries[i].target, queries[i].body)
            for i in with_family
        ]
        clock = time.perf_counter()
        pg_found, _ = pg_baseline(settings, pg_queries)
        pg_s = time.perf_counter() - clock
        for i, found in zip(with_family, pg_found, strict=True):
            outcomes[i].pg = found
        # A refusal (422) is audited too, as a refused request rather than a search.
        refused = sum(outcome.api_status == "refused" for outcome in outcomes)
        audited = audited_searches(engine, username=account.username)
        audited_refused = audited_searches(
            engine, username=account.username, event="request_refused"
        )
        if (audited, audited_refused) != (len(queries) - refused, refused):
            raise SystemExit(
                f"of {len(queries)} searches sent to the API {audited} were audited as searches "
                f"and {audited_refused} as refused requests; {refused} were refused"
            )
        print(
            f"ran {len(queries)} queries through the API in {api_s:.0f} s, straight to "
            f"Elasticsearch in {es_s:.0f} s, {len(pg_queries)} in PostgreSQL in {pg_s:.0f} s "
            f"({THREADS} at a time, PostgreSQL one at a time); audited: {audited} searches, "
            f"{audited_refused} refusals"
        )
        groups = {
            f"febrl{number}": _figures(
                [q for q in queries if q.dataset == number],
                [o for q, o in zip(queries, outcomes, strict=True) if q.dataset == number],
            )
            for number in datasets
        }
        groups["overall"] = _figures(queries, outcomes)
        print(_recall_table(groups))
        print(_depth_line(groups["overall"]))
        print(
            "  (API: limit 10, a refusal or too_many_matches is a miss; retr: the API's "
            "Elasticsearch request with limit 200; ES: Elasticsearch's order of it, today's "
            "ranking; PG: pg_trgm + dmetaphone, queries with a family name only)"
        )
        shown = _shown(queries, outcomes)
        calibration = probability_bands(shown) if shown else None
        if calibration is not None:
            print(_calibration_table(calibration))
        else:
            print("calibration: none, the API's results carry no probability (absent)")
        misses = _misses(queries, outcomes)
        print(_misses_table(misses))
        head_to_head = _head_to_head(queries, outcomes)
        print(
            f"the API's ranking against Elasticsearch's order: the child first in the API's answer"
            f" but not in Elasticsearch's {head_to_head['api_first_es_not']}, the reverse "
            f"{head_to_head['es_first_api_not']} (of which too_many_matches "
            f"{head_to_head['es_first_api_too_many']}); in Elasticsearch's top 10 but not in the "
            f"API's answer {head_to_head['es_top10_api_not']} (too_many_matches "
            f"{head_to_head['es_top10_api_too_many']})"
        )
        examples = _examples(queries, outcomes, {record.key: record for record in records})
        if examples:
            print("ranking misses (the child retrieved, not first in the API's answer):")
            for example in examples:
                print(f"  {orjson.dumps(example).decode()}")
        write_report(
            args.json,
            {
                "header": header,
                "run": run_id,
                "index": index,
                "left_out": dict(linkage.left_out),
                "stand_ins": dict(linkage.stand_ins),
                "audited": audited,
                "audited_refused": audited_refused,
                "figures": groups,
                "misses": misses,
                "head_to_head": head_to_head,
                "calibration": calibration,
                "examples": examples,
                "queries": [
                    {
                        "duplicate": f"febrl{q.dataset}:{q.rec_id}",
                        "target": q.target,
                        "differences": list(q.differences),
                        "api_status": o.api_status,
                        "api": o.api,
                        "retrieval_rank": (
                            o.retrieval.index(q.target) + 1
                            if o.retrieval is not None and q.target in o.retrieval
                            else None
                        ),
                        "pg": o.pg,
                    }
                    for q, o in zip(queries, outcomes, strict=True)
                ],
            },
        )
        http.clear()
        es.close()
        indexer_es.close()
        engine.dispose()
    finally:
        stop_api(api)
        if started and not args.keep_up:
            for line in down(settings, which=started):
                print(line)


if __name__ == "__main__":
    main()
