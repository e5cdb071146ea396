"""Full-reindex benchmark: documents per second, and where the time goes.

Usage: .venv/bin/python benchmarks/reindex.py --children 100000 [--runs 3]

Uses a database (contactpoint_bench_reindex) and an alias (children-bench) of its own on the
local servers, so the data of `make run` is left alone. Prints every run, the median, and the
seconds spent reading PostgreSQL (in the thread that feeds the bulk requests) and building
documents (in worker processes) next to the wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("PG_DATABASE", "contactpoint_bench_reindex")
os.environ.setdefault("INDEX_ALIAS", "children-bench")

from _population import prepare, reindex_options  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from indexer.reindex import reindex  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    settings = get_settings()
    engine = prepare(settings, children=args.children, seed=args.seed)
    client = make_client(settings, purpose="indexer")
    rates: list[float] = []
    for run in range(1, args.runs + 1):
        report = reindex(
            engine=engine,
            client=client,
            alias=settings.index_alias,
            options=reindex_options(settings),
        )
        rates.append(report.rate)
        stages = report.stages
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
        f"({args.children} children, batch {settings.reindex_batch_size}, "
        f"{settings.reindex_threads} bulk threads, {settings.reindex_build_workers} build "
        f"processes, heap {settings.es_heap}, "
        f"{os.cpu_count()} cores); "
        f"index size {size['store']['size_in_bytes'] / 2**20:,.0f} MiB"
    )
    client.close()
    engine.dispose()


if __name__ == "__main__":
    main()
