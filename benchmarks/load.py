"""Bulk-load benchmark: children per second for N demo children into an empty database.

Usage: .venv/bin/python benchmarks/load.py [--children 100000] [--runs 3] [--json PATH]

Runs on a database of its own (contactpoint_bench) on the local cluster, so the demo data of
`make run` is left alone. Prints each run and the median.

The demo file is reused from an earlier run when there is one (the header says so): writing it
is not timed. Every run empties every table first and loads with new connections, and counts
each child inserted: a run that found a child already there would say so and stop.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("PG_DATABASE", "contactpoint_bench")

from _header import pg_setting, print_header, write_report  # noqa: E402
from _population import app_engine, demo_file, empty_database, load_demo, migrate  # noqa: E402

from contactpoint.services import up  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()

    settings = get_settings()
    for line in up(settings, which=("postgres",)):
        print(line)
    migrate(settings)
    demo = demo_file(settings, children=args.children, seed=args.seed)
    probe = app_engine(settings)
    shared_buffers = pg_setting(probe, "shared_buffers")
    probe.dispose()
    header = print_header(
        "load.py",
        children=args.children,
        fields={
            "data": "emptied-each-run",
            "seed": args.seed,
            "demo_file": "reused" if demo.reused else "written",
            "demo_written_at": demo.written_at,
            "demo_bytes": demo.path.stat().st_size,
            "runs": args.runs,
            "batch": settings.load_batch_size,
            "pg_shared_buffers": shared_buffers,
        },
    )
    rates: list[float] = []
    runs: list[dict[str, object]] = []
    for run in range(1, args.runs + 1):
        empty_database(settings)
        # New connections each run: nothing a connection kept (its staging tables, its plans)
        # carries over from the run before.
        engine = app_engine(settings)
        started = time.perf_counter()
        result = load_demo(engine=engine, path=demo.path, batch_size=settings.load_batch_size)
        elapsed = time.perf_counter() - started
        engine.dispose()
        if result.rejected or result.inserted != args.children:
            raise SystemExit(
                f"run {run}: expected {args.children} inserted, got {result.inserted} "
                f"({result.updated} updated, {result.unchanged} unchanged) "
                f"with {result.rejected_lines} lines rejected"
            )
        rates.append(args.children / elapsed)
        runs.append(
            {
                "inserted": result.inserted,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rejected": result.rejected_lines,
                "seconds": elapsed,
                "rate": rates[-1],
            }
        )
        print(
            f"run {run}: {args.children} children in {elapsed:.1f} s = {rates[-1]:,.0f} children/s"
        )
    print(
        f"load: median {statistics.median(rates):,.0f} children/s over {args.runs} runs "
        f"({args.children} children inserted into an empty database each run)"
    )
    write_report(args.json, {"header": header, "runs": runs})


if __name__ == "__main__":
    main()
