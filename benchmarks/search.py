"""Search benchmark: recall of corrupted queries, latency through the API and straight to ES,
and a PostgreSQL pg_trgm + fuzzystrmatch baseline on the same data and queries.

Recall is printed per corruption kind (`KINDS` of benchmarks/_search_queries.py): typos, a
nickname, a family name that sounds alike, day and month swapped, the outward postcode only, no
given name, a typo anywhere, a date digit or postcode character wrong, one part of a barrelled
name, two errors at once; and the hard kinds: the family name replaced by another, given and
family name exchanged with a second error, two postcode digits transposed, the year one off;
and a child who moved, found by names, full date of birth and its old postcode (`moved`).

Usage: .venv/bin/python benchmarks/search.py [--children 1000000] [--queries 200] [--warm 2000]
                                             [--query-seed N] [--rebuild] [--keep-up]
                                             [--json PATH]

Runs on a stack of its own (var/bench-search, ports 55436/59204, database
contactpoint_bench_search, alias children-bench-search) so no dev or test data is touched.
Servers the benchmark started are stopped at the end unless --keep-up.

What a run reuses, it says in its header: the children (when the database holds the ones asked
for) and the index (only when committed code that makes the same documents built it of these
children, `_header.same_documents`). Each run draws new queries (a new --query-seed, printed,
unless one is given) and first warms every path with --warm queries of other children, not
timed: a node just started answered new queries about twice as slowly for its first two
thousand or so (measured here: p50 22-26 ms, then 9-10 ms), and a run timing those would be
slower than one on a node already warm. Each timed query is
then sent once through the API and once straight to Elasticsearch, so no cache of either process
has seen it before; recall is that of the API's answers. The run checks that the audit holds
every search it sent to the API and that Elasticsearch ran every query.
"""

from __future__ import annotations

import os

for _key, _value in {
    "VAR_DIR": "var/bench-search",
    "PG_PORT": "55436",
    "ES_PORT": "59204",
    "ES_TRANSPORT_PORT": "59304",
    "PG_DATABASE": "contactpoint_bench_search",
    "INDEX_ALIAS": "children-bench-search",
    "ES_HEAP": "2g",
}.items():
    os.environ.setdefault(_key, _value)

import argparse  # noqa: E402
import math  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from _api import free_port, start_api, stop_api  # noqa: E402
from _header import es_heap, pg_setting, print_header, write_report  # noqa: E402
from _population import (  # noqa: E402
    audited_searches,
    bench_account,
    ensure_index,
    not_running,
    practitioner,
    prepare,
)
from _search_queries import (  # noqa: E402
    KINDS,
    BenchQuery,
    build_queries,
    latency_figures,
    latency_table,
    pg_baseline,
    recall,
    recall_table,
    run_concurrent,
)
from elasticsearch import Elasticsearch  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.services import down  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from searchapi.access import child_access  # noqa: E402
from searchapi.search import search_body  # noqa: E402

CONCURRENCY = (1, 8, 32)
PG_QUERIES = 300
PG_WARM = 100


def _queries_run(client: Elasticsearch, index: str) -> int:
    """Searches Elasticsearch has run on `index` since it opened (its query phases)."""
    stats = client.indices.stats(index=index, metric="search")
    return int(stats["_all"]["primaries"]["search"]["query_total"])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="per corruption kind")
    parser.add_argument("--warm", type=int, default=2000, help="warm-up queries, not timed")
    parser.add_argument("--seed", type=int, default=7, help="of the demo children")
    parser.add_argument(
        "--query-seed", type=int, default=None, help="draws the queries (default: a new one)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="uvicorn worker processes (API_WORKERS)"
    )
    parser.add_argument("--rebuild", action="store_true", help="load and index afresh")
    parser.add_argument("--keep-up", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()

    settings = get_settings()
    run_id = secrets.token_hex(4)
    query_seed = args.query_seed if args.query_seed is not None else secrets.randbelow(10**6)
    workers = args.workers or settings.api_workers
    started = not_running(settings)
    api: subprocess.Popen[bytes] | None = None
    try:
        population = prepare(settings, children=args.children, seed=args.seed, rebuild=args.rebuild)
        engine = population.engine
        indexer_es = make_client(settings, purpose="indexer")
        index, index_reused_at = ensure_index(settings, population, indexer_es)
        queries: list[BenchQuery] = build_queries(engine, per_kind=args.queries, seed=query_seed)
        if len(queries) < len(CONCURRENCY):
            raise SystemExit(f"{len(queries)} queries: too few for {len(CONCURRENCY)} rounds")
        targets = frozenset(query.target for query in queries)
        warm = build_queries(
            engine,
            per_kind=math.ceil(args.warm / len(KINDS)),
            seed=query_seed + 1,
            exclude=targets,
        )[: args.warm]
        header = print_header(
            "search.py",
            children=args.children,
            fields={
                **population.header_fields(),
                "index": "built" if index_reused_at is None else "reused",
                # Started by this run (cold), or running before it (warm from earlier work).
                "servers": "+".join(started) + "-started" if started else "running",
                "run": run_id,
                "query_seed": query_seed,
                "queries": len(queries),
                "per_kind": args.queries,
                "warm": len(warm),
                "concurrency": "/".join(map(str, CONCURRENCY)),
                "api_workers": workers,
                "es_heap": es_heap(indexer_es),
                "pg_shared_buffers": pg_setting(engine, "shared_buffers"),
            },
        )
        print(
            f"{len(queries)} queries over {', '.join(KINDS)}; {len(warm)} more of other "
            "children to warm up, not timed"
        )
        account = bench_account(settings, engine, suffix=run_id)
        port = free_port()
        api = start_api(port, workers)
        headers = {"Authorization": f"Bearer {account.key}", "X-On-Behalf-Of": account.username}
        access = child_access(practitioner(account), named_children=frozenset())
        es = make_client(settings, purpose="api")

        def direct(query: BenchQuery) -> list[str]:
            body: dict[str, Any] = search_body(query.criteria, access, limit=10)
            hits = es.search(index=settings.index_alias, **body)["hits"]["hits"]
            return [hit["_source"]["identifier"] for hit in hits[:10]]

        import orjson
        import urllib3

        def through_api(client: urllib3.PoolManager, query: BenchQuery) -> list[str]:
            response = client.request(
                "POST",
                f"http://127.0.0.1:{port}/v1/search",
                body=orjson.dumps(query.body),
                headers={**headers, "Content-Type": "application/json"},
            )
            if response.status != 200:
                raise RuntimeError(f"the API answered {response.status}: {response.data[:200]!r}")
            return [result["identifier"] for result in orjson.loads(response.data)["results"]]

        queries_before = _queries_run(indexer_es, index)
        # Warm both paths (and the caches) with queries that are not timed.
        warm_started = time.perf_counter()
        run_concurrent(warm, lambda c, q: through_api(c, q), headers, 4)
        run_concurrent(warm, lambda c, q: direct(q), headers, 4)
        print(
            f"warmed up: {len(warm)} queries each way in {time.perf_counter() - warm_started:.0f} s"
        )
        # Each timed query once per path: a third of them at each concurrency.
        found: list[list[str]] = [[] for _ in queries]
        rows = []
        latency: dict[str, dict[str, object]] = {}
        for share, concurrency in enumerate(CONCURRENCY):
            positions = range(share, len(queries), len(CONCURRENCY))
            sample = [queries[i] for i in positions]
            api_found, api_times = run_concurrent(
                sample, lambda c, q: through_api(c, q), headers, concurrency
            )
            _, es_times = run_concurrent(sample, lambda c, q: direct(q), headers, concurrency)
            for i, answer in zip(positions, api_found, strict=True):
                found[i] = answer
            rows.append((concurrency, api_times, es_times))
            latency[f"c{concurrency}"] = {
                "queries": len(sample),
                "api": latency_figures(api_times),
                "es": latency_figures(es_times),
            }
        api_sent = len(warm) + len(queries)
        direct_sent = len(warm) + len(queries)
        audited = audited_searches(engine, username=account.username)
        es_queries = _queries_run(indexer_es, index) - queries_before
        if audited != api_sent or es_queries < api_sent + direct_sent:
            raise SystemExit(
                f"of {api_sent} searches through the API {audited} were audited, and "
                f"Elasticsearch ran {es_queries} queries of the {api_sent + direct_sent} sent"
            )
        print(recall_table({"elasticsearch (API)": found}, queries))
        print(latency_table(rows))
        pg_sample = queries[: min(len(queries), PG_QUERIES)]
        pg_found, pg_times = pg_baseline(settings, pg_sample, warm=warm[:PG_WARM])
        print(recall_table({"postgresql pg_trgm": pg_found}, pg_sample))
        print(latency_table([(1, pg_times, pg_times)], label="postgresql c=1"))
        print(
            f"every timed search was new work: {audited} searches through the API audited "
            f"(of {api_sent} sent), {es_queries} queries run by Elasticsearch on {index} "
            f"(of {api_sent + direct_sent} sent), {len(pg_found)} run by PostgreSQL"
        )
        write_report(
            args.json,
            {
                "header": header,
                "run": run_id,
                "index": index,
                "api_sent": api_sent,
                "direct_sent": direct_sent,
                "audited": audited,
                "es_queries": es_queries,
                "queries": [{"kind": q.kind, "target": q.target} for q in queries],
                "warm_targets": sorted({q.target for q in warm}),
                "recall": recall(queries, found),
                "latency_ms": latency,
                "pg_recall": recall(pg_sample, pg_found),
                "pg_latency_ms": latency_figures(pg_times),
            },
        )
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
