"""The whole path at national scale: demo data, load, reindex, searches at concurrency 1 and 8
against Elasticsearch straight, freshness, and the sizes of the index and the database.

Usage: .venv/bin/python benchmarks/scale.py [--children 11000000] [--seed 7] [--queries 100]
                                            [--warm 2000] [--updates 200] [--rate 20]
                                            [--json PATH]

Runs on a stack of its own (var/bench-scale, ports 55449/59219, database
contactpoint_bench_scale, alias children-bench-scale), which it leaves running (the figures of
a later run that reuses the demo file say so). Each stage, in order, with its figure:

- demo data: the demo file of --children children of --seed (`contactpoint demo-data`), in
  children/s; reused when an earlier run wrote it (the header says so, and nothing is timed);
- load: the database emptied, then the file loaded as `contactpoint load` does, children/s;
- reindex: a full reindex of the loaded children, documents/s and the stage times;
- search: benchmarks/search.py on these very children and index (it reuses both): recall of
  corrupted queries and p50/p95/p99 through the API and straight to Elasticsearch at
  concurrency 1, 8 and 32;
- freshness: `indexer run` beside, --updates changes at --rate a second; seconds from each
  commit to its change being searchable, p50/p95/p99;
- sizes: the index (primaries' store, documents) and the database (in all, the largest tables),
  and the bytes of each per child.

Aims (issue 18, on 2 cores): load ≥ 10,000 children/s, reindex ≥ 15,000 documents/s, search p99
≤ 150 ms at concurrency 8.
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
import json  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from _api import start_indexer  # noqa: E402
from _header import es_heap, pg_setting, print_header, write_report  # noqa: E402
from _population import percentiles, prepare, reindex_population  # noqa: E402
from freshness import Tracker, _poll, markers  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.settings import Settings, get_settings  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parent
# A bound on the freshness poll (not a figure).
FRESHNESS_DEADLINE_S = 600.0


def _search(args: argparse.Namespace, report_path: Path) -> dict[str, Any]:
    """search.py on the same stack, children and index; its tables are printed as it prints
    them (not its header: this run has one)."""
    command = [sys.executable, str(BENCHMARKS / "search.py"), "--children", str(args.children)]
    command += ["--seed", str(args.seed), "--queries", str(args.queries)]
    command += ["--warm", str(args.warm), "--keep-up", "--json", str(report_path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"search.py failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    for line in done.stdout.splitlines():
        if not line.startswith("# "):
            print(f"  {line}")
    report: dict[str, Any] = json.loads(report_path.read_text())
    return report


def _freshness(settings: Settings, engine: Engine, *, updates: int, rate: float) -> dict[str, Any]:
    """Changes committed at `rate` a second with the indexer beside; commit → searchable."""
    es = make_client(settings, purpose="api")
    names = markers(secrets.token_hex(4), updates)
    with engine.connect() as connection:
        identifiers = list(
            connection.execute(
                text(
                    "SELECT identifier FROM child WHERE status = 'active' "
                    "ORDER BY random() LIMIT :n"
                ),
                {"n": updates},
            ).scalars()
        )
    tracker = Tracker()
    done = threading.Event()
    indexer = start_indexer(engine)
    poller = threading.Thread(
        target=_poll,
        args=(es, settings.index_alias, tracker, done, time.monotonic() + FRESHNESS_DEADLINE_S),
    )
    poller.start()
    try:
        for identifier, name in zip(identifiers, names, strict=False):
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE child SET family_name = :name WHERE identifier = :id"),
                    {"name": name, "id": identifier},
                )
            with tracker.lock:
                tracker.committed[name] = time.perf_counter()
            time.sleep(1 / rate)
        done.set()
        poller.join()
    finally:
        done.set()
        indexer.terminate()
        indexer.wait(timeout=60)
        es.close()
    delays = [
        tracker.seen[name] - at for name, at in tracker.committed.items() if name in tracker.seen
    ]
    return {
        "updates": len(tracker.committed),
        "seen": len(delays),
        "seconds": percentiles(delays) if len(delays) >= 2 else None,
    }


def _sizes(settings: Settings, engine: Engine, children: int) -> dict[str, Any]:
    es = make_client(settings, purpose="indexer")
    try:
        stats = es.indices.stats(index=settings.index_alias, metric="store,docs")["_all"]
    finally:
        es.close()
    index_bytes = int(stats["primaries"]["store"]["size_in_bytes"])
    with engine.connect() as connection:
        database_bytes = int(
            connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        )
        tables = [
            (str(row[0]), int(row[1]))
            for row in connection.execute(
                text(
                    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
                    "ORDER BY 2 DESC LIMIT 6"
                )
            )
        ]
    return {
        "index_bytes": index_bytes,
        "index_bytes_with_replicas": int(stats["total"]["store"]["size_in_bytes"]),
        "index_documents": int(stats["primaries"]["docs"]["count"]),
        "database_bytes": database_bytes,
        "largest_tables": tables,
        "index_bytes_per_child": index_bytes / children,
        "database_bytes_per_child": database_bytes / children,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=11_000_000)
    parser.add_argument("--seed", type=int, default=7, help="of the demo children")
    parser.add_argument("--queries", type=int, default=100, help="search.py's, per kind")
    parser.add_argument("--warm", type=int, default=2000, help="search.py's warm-up queries")
    parser.add_argument("--updates", type=int, default=200, help="freshness changes")
    parser.add_argument("--rate", type=float, default=20.0, help="freshness changes a second")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()
    if not 1 <= args.children <= 20_000_000 or not 0 < args.rate <= 1000:
        parser.error("--children in [1, 20,000,000], --rate in (0, 1000]")

    settings = get_settings()
    # Demo data and load: the database emptied and loaded afresh by this run.
    population = prepare(settings, children=args.children, seed=args.seed, rebuild=True)
    engine = population.engine
    demo = population.demo
    assert demo is not None
    es = make_client(settings, purpose="indexer")
    header = print_header(
        "scale.py",
        children=args.children,
        fields={
            **population.header_fields(),
            "queries_per_kind": args.queries,
            "updates": args.updates,
            "rate": args.rate,
            "es_heap": es_heap(es),
            "pg_shared_buffers": pg_setting(engine, "shared_buffers"),
            "replicas": settings.effective_index_replicas(),
        },
    )
    started = time.perf_counter()
    rebuilt = reindex_population(settings, population, es)
    reindex_s = time.perf_counter() - started
    es.close()
    report_path = (args.json or Path(settings.var_dir) / "scale.json").with_suffix(".search.json")
    print("search (benchmarks/search.py on these children and this index):")
    search = _search(args, report_path)
    fresh = _freshness(settings, engine, updates=args.updates, rate=args.rate)
    sizes = _sizes(settings, engine, args.children)

    stages: dict[str, Any] = {
        "demo_data": {
            "reused": demo.reused,
            "seconds": demo.seconds,
            "children_per_s": args.children / demo.seconds if demo.seconds else None,
        },
        "load": {
            "seconds": population.load_seconds,
            "children_per_s": args.children / population.load_seconds
            if population.load_seconds
            else None,
        },
        "reindex": {
            "seconds": reindex_s,
            "documents": rebuilt.documents,
            "docs_per_s": rebuilt.documents / reindex_s,
            "stages": asdict(rebuilt.stages),
        },
        "search": {"recall": search["recall"], "latency_ms": search["latency_ms"]},
        "freshness": fresh,
        "sizes": sizes,
    }
    demo_line = (
        "reused (written by an earlier run)"
        if demo.reused
        else f"{stages['demo_data']['children_per_s']:,.0f} children/s ({demo.seconds:.0f} s)"
    )
    print(f"demo data: {demo_line}")
    print(
        f"load: {stages['load']['children_per_s'] or 0:,.0f} children/s "
        f"({population.load_seconds or 0:.0f} s; aim 10,000)"
    )
    print(
        f"reindex: {stages['reindex']['docs_per_s']:,.0f} documents/s ({reindex_s:.0f} s; "
        "aim 15,000)"
    )
    overall = search["recall"].get("overall")
    if overall is not None:
        print(f"search: recall@1 {overall[0]:.3f}, recall@10 {overall[1]:.3f} ({overall[2]})")
    for level in ("c1", "c8"):
        figures = search["latency_ms"].get(level)
        if figures is not None:
            api, direct = figures["api"], figures["es"]
            print(
                f"search {level}: API p50/p95/p99 {api['p50']:.0f}/{api['p95']:.0f}/"
                f"{api['p99']:.0f} ms, Elasticsearch {direct['p50']:.0f}/{direct['p95']:.0f}/"
                f"{direct['p99']:.0f} ms" + (" (aim p99 150 ms)" if level == "c8" else "")
            )
    if fresh["seconds"] is not None:
        cuts = fresh["seconds"]
        print(
            f"freshness: {fresh['seen']} of {fresh['updates']} changes searchable, "
            f"p50/p95/p99 {cuts['p50']:.2f}/{cuts['p95']:.2f}/{cuts['p99']:.2f} s"
        )
    print(
        f"sizes: index {sizes['index_bytes'] / 2**30:.2f} GiB of primaries "
        f"({sizes['index_bytes_per_child']:,.0f} bytes a child, {sizes['index_documents']:,} "
        f"documents), database {sizes['database_bytes'] / 2**30:.2f} GiB "
        f"({sizes['database_bytes_per_child']:,.0f} bytes a child); largest tables: "
        + ", ".join(f"{name} {size / 2**20:,.0f} MiB" for name, size in sizes["largest_tables"])
    )
    write_report(args.json, {"header": header, "stages": stages})


if __name__ == "__main__":
    main()
