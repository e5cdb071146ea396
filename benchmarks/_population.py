"""Shared set-up of the benchmarks: a database of their own, loaded with N demo children."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine, create_engine, pool, text

from contactpoint.demo_data import write_demo_file
from contactpoint.services import up
from contactpoint.settings import Settings
from db.load import load_file
from db.migrate import upgrade
from db.session import make_engine
from indexer.reindex import ReindexOptions
from indexer.retry import RetryPolicy

CHILD_TABLES = "child, carer, involvement, shield, organisation, practitioner"
BOOKKEEPING = "index_outbox, index_dead_letter, index_build"


def reindex_options(settings: Settings) -> ReindexOptions:
    """The configured reindex, with no replicas and bulk retries at most 5 s apart."""
    return replace(
        ReindexOptions.from_settings(settings),
        replicas=0,
        retry=RetryPolicy(attempts=5, max_wait_s=5.0),
    )


def demo_file(settings: Settings, *, children: int, seed: int) -> Path:
    """The demo file of N children (written once, then reused)."""
    path = Path(settings.var_dir) / "bench" / f"demo-{children}-{seed}.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_demo_file(path=path, children=children, seed=seed)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s")
    return path


def prepare(settings: Settings, *, children: int, seed: int) -> Engine:
    """Servers up, schema migrated, and exactly the N demo children loaded."""
    for line in up(settings):
        print(line)
    upgrade(url=settings.effective_migration_url(), revision="head")
    engine = make_engine(settings.effective_database_url())
    with engine.connect() as connection:
        present = int(connection.execute(text("SELECT count(*) FROM child")).scalar_one())
    if present != children:
        owner = create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)
        with owner.begin() as connection:
            connection.execute(text(f"TRUNCATE {CHILD_TABLES}, {BOOKKEEPING} CASCADE"))
        owner.dispose()
        path = demo_file(settings, children=children, seed=seed)
        started = time.perf_counter()
        result = load_file(engine=engine, path=path, batch_size=settings.load_batch_size)
        print(f"loaded {result.inserted} children in {time.perf_counter() - started:.1f} s")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM index_outbox"))
    return engine


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and p99 of the values."""
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}
