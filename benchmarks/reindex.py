"""Full-reindex benchmark: documents per second, and where the time goes.

Usage: .venv/bin/python benchmarks/reindex.py --children 100000 [--runs 3] [--rebuild]
                                              [--json PATH]

Uses a database (contactpoint_bench_reindex) and an alias (children-bench) of its own on the
local servers, so the data of `make run` is left alone. Prints every run, the median, and the
seconds spent reading PostgreSQL (in the thread that feeds the bulk requests) and building
documents (in worker processes) next to the wall-clock time.

The children are reused from an earlier run when they are the ones asked for (the header says
so): a reindex reads them all whatever their age. Every run builds a new physical index of its
own, which did not exist before the run, and counts the documents it wrote. One untimed reindex
comes first (unless --no-warm-up): on a node just started the first reindex of 100,000 children
took 24 s here and the next ones 15-19 s, so without it the first invocation on a cold node
would be slower than the next for reasons a user of a running cluster would not see.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

os.environ.setdefault("PG_DATABASE", "contactpoint_bench_reindex")
os.environ.setdefault("INDEX_ALIAS", "children-bench")

from _header import es_heap, pg_setting, print_header, write_report  # noqa: E402
from _population import not_running, prepare, reindex_population  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="load the children afresh")
    parser.add_argument(
        "--no-warm-up", dest="warm_up", action="store_false", help="no untimed reindex first"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()

    settings = get_settings()
    started = not_running(settings)
    population = prepare(settings, children=args.children, seed=args.seed, rebuild=args.rebuild)
    client = make_client(settings, purpose="indexer")
    header = print_header(
        "reindex.py",
        children=args.children,
        fields={
            **population.header_fields(),
            "index": "built-each-run",
            # Started by this run (cold), or running before it.
            "servers": "+".join(started) + "-started" if started else "running",
            "warm_up": "one-untimed-reindex" if args.warm_up else "none",
            "runs": args.runs,
            "batch": settings.reindex_batch_size,
            "bulk_threads": settings.reindex_threads,
            "build_workers": settings.reindex_build_workers,
            "replicas": 0,
            "es_heap": es_heap(client),
            "pg_shared_buffers": pg_setting(population.engine, "shared_buffers"),
        },
    )
    warm_up = None
    if args.warm_up:
        warm_up = reindex_population(settings, population, client).index
        print(f"warm-up: one untimed reindex into {warm_up}")
    rates: list[float] = []
    runs: list[dict[str, object]] = []
    for run in range(1, args.runs + 1):
        existed = set(client.indices.get(index=f"{settings.index_alias}-v*"))
        report = reindex_population(settings, population, client)
        if report.index in existed or report.documents != args.children:
            raise SystemExit(
                f"run {run}: expected a new index of {args.children} documents, got "
                f"{report.index} ({'old' if report.index in existed else 'new'}) with "
                f"{report.documents}"
            )
        rates.append(report.rate)
        stages = report.stages
        runs.append(
            {
                "index": report.index,
                "existed_before": sorted(existed),
                "documents": report.documents,
                "seconds": report.seconds,
                "rate": report.rate,
                "read_s": stages.read_s,
                "build_s": stages.build_s,
                "merge_s": stages.merge_s,
            }
        )
        print(
            f"run {run}: {report.documents} documents in {report.seconds:.1f} s = "
            f"{report.rate:,.0f} docs/s (reading PostgreSQL {stages.read_s:.1f} s in the feeding "
            f"thread; building documents {stages.build_s:.1f} s of CPU in "
            f"{settings.reindex_build_workers} worker processes, in parallel with it and with "
            "Elasticsearch; then, already serving, merging into one segment "
            f"{stages.merge_s:.1f} s)"
        )
    size = client.indices.stats(index=settings.index_alias, metric="store")["_all"]["primaries"]
    print(
        f"reindex: median {statistics.median(rates):,.0f} docs/s over {args.runs} runs "
        f"({args.children} children, each run into a new index); "
        f"index size {size['store']['size_in_bytes'] / 2**20:,.0f} MiB"
    )
    write_report(args.json, {"header": header, "warm_up": warm_up, "runs": runs})
    client.close()
    population.engine.dispose()


if __name__ == "__main__":
    main()
