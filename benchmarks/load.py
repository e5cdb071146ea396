"""Bulk-load benchmark: children per second for N demo children into an empty database.

Usage: .venv/bin/python benchmarks/load.py [--children 100000] [--runs 3]

Runs on a database of its own (contactpoint_bench) on the local cluster, so the demo data of
`make run` is left alone. Prints each run and the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("PG_DATABASE", "contactpoint_bench")

from sqlalchemy import text  # noqa: E402

from contactpoint.demo_data import write_demo_file  # noqa: E402
from contactpoint.services import up  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from db.load import load_file  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Base  # noqa: E402
from db.session import make_engine  # noqa: E402


def _empty_database(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    settings = get_settings()
    for line in up(settings, which=("postgres",)):
        print(line)
    upgrade(url=settings.effective_migration_url(), revision="head")

    data = Path(settings.var_dir) / "bench" / f"demo-{args.children}-{args.seed}.jsonl"
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_demo_file(path=data, children=args.children, seed=args.seed)
        print(f"generated {data} in {time.perf_counter() - started:.1f} s")

    engine = make_engine(settings.effective_database_url())
    rates: list[float] = []
    for run in range(1, args.runs + 1):
        _empty_database(settings.effective_migration_url())
        started = time.perf_counter()
        result = load_file(engine=engine, path=data, batch_size=settings.load_batch_size)
        elapsed = time.perf_counter() - started
        if result.rejected or result.inserted != args.children:
            raise SystemExit(
                f"run {run}: expected {args.children} inserted, got {result.inserted} "
                f"with {len(result.rejected)} rejected"
            )
        rates.append(args.children / elapsed)
        print(
            f"run {run}: {args.children} children in {elapsed:.1f} s = {rates[-1]:,.0f} children/s"
        )
    engine.dispose()
    print(
        f"load: median {statistics.median(rates):,.0f} children/s over {args.runs} runs "
        f"({args.children} children, batch {settings.load_batch_size}, {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
