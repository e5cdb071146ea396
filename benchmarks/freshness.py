"""Freshness benchmark: seconds from a committed change to the change being searchable.

Usage: .venv/bin/python benchmarks/freshness.py [--updates 500] [--rate 25] [--children 20000]
                                                [--rebuild] [--json PATH]

Runs `contactpoint indexer run` as a child process on a database and alias of its own, commits
the updates at a steady rate, and polls Elasticsearch for each change. Prints p50/p95/p99
seconds with the index's refresh interval.

Each run writes markers of its own (family names holding the run's id): no marker can be in the
index before this run commits it, and the script checks that none is. The children are reused
from an earlier run when they are the ones asked for (the header says so); the index is built
afresh by every run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("PG_DATABASE", "contactpoint_bench_fresh")
os.environ.setdefault("INDEX_ALIAS", "children-bench-fresh")

from _api import start_indexer  # noqa: E402
from _header import es_heap, print_header, write_report  # noqa: E402
from _population import percentiles, prepare, reindex_population  # noqa: E402
from elasticsearch import Elasticsearch  # noqa: E402
from sqlalchemy import text  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402

SEED = 3


@dataclass
class Tracker:
    """When each marker was committed and first seen, and every marker the poller asked for."""

    committed: dict[str, float] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    polled: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pending(self) -> list[str]:
        with self.lock:
            return [marker for marker in self.committed if marker not in self.seen]


def markers(run_id: str, count: int) -> list[str]:
    """This run's family names: letters and digits only, so the index folds them to themselves."""
    return [f"fresh{run_id}n{n:05d}" for n in range(count)]


def _present(client: Elasticsearch, alias: str, names: list[str]) -> int:
    """How many of `names` the index already holds."""
    client.indices.refresh(index=alias)
    found = 0
    for start in range(0, len(names), 1000):
        chunk = names[start : start + 1000]
        query = {"terms": {"family_name_folded": chunk}}
        found += int(client.count(index=alias, query=query)["count"])
    return found


def _poll(
    client: Elasticsearch, alias: str, tracker: Tracker, done: threading.Event, deadline: float
) -> None:
    while time.monotonic() < deadline:
        pending = tracker.pending()
        if done.is_set() and not pending:
            return
        if pending:
            asked = pending[:1000]
            tracker.polled.update(asked)
            hits = client.search(
                index=alias,
                query={"terms": {"family_name_folded": asked}},
                source=["family_name_folded"],
                size=len(asked),
            )["hits"]["hits"]
            now = time.perf_counter()
            with tracker.lock:
                for hit in hits:
                    tracker.seen.setdefault(hit["_source"]["family_name_folded"], now)
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--rate", type=float, default=25.0, help="updates per second")
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--rebuild", action="store_true", help="load the children afresh")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()

    settings = get_settings()
    run_id = secrets.token_hex(4)
    population = prepare(settings, children=args.children, seed=SEED, rebuild=args.rebuild)
    engine = population.engine
    client = make_client(settings, purpose="indexer")
    alias = settings.index_alias
    index = reindex_population(settings, population, client).index
    refresh = client.indices.get_settings(index=index, name="index.refresh_interval")
    header = print_header(
        "freshness.py",
        children=args.children,
        fields={
            **population.header_fields(),
            "index": "built",
            "run": run_id,
            "updates": args.updates,
            "rate": f"{args.rate:g}/s",
            "indexer_batch": settings.indexer_batch_size,
            "indexer_poll": f"{settings.indexer_poll_interval_s:g}s",
            "refresh": refresh[index]["settings"]["index"]["refresh_interval"],
            "es_heap": es_heap(client),
        },
    )
    with engine.connect() as connection:
        ids = (
            connection.execute(
                text("SELECT id FROM child ORDER BY id LIMIT :n"), {"n": args.updates}
            )
            .scalars()
            .all()
        )
    names = markers(run_id, len(ids))
    present_before = _present(client, alias, names)
    if present_before:
        raise SystemExit(f"{present_before} of this run's markers are in the index already")

    tracker = Tracker()
    done = threading.Event()
    indexer = start_indexer(engine)
    try:
        deadline = time.monotonic() + args.updates / args.rate + 60
        poller = threading.Thread(target=_poll, args=(client, alias, tracker, done, deadline))
        poller.start()
        interval = 1.0 / args.rate
        start = time.perf_counter()
        for n, (child_id, marker) in enumerate(zip(ids, names, strict=True)):
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE child SET family_name = :marker WHERE id = :id"),
                    {"marker": marker, "id": child_id},
                )
            with tracker.lock:
                tracker.committed[marker] = time.perf_counter()
            time.sleep(max(0.0, start + (n + 1) * interval - time.perf_counter()))
        done.set()
        poller.join()
    finally:
        indexer.terminate()
        indexer.wait(timeout=30)
    committed, seen = tracker.committed, tracker.seen
    delays = [seen[m] - committed[m] for m in committed if m in seen]
    missing = len(committed) - len(delays)
    cuts = percentiles(delays)
    print(
        f"freshness: {len(delays)} of {len(committed)} updates searchable "
        f"({missing} not within the deadline) at {args.rate:g} updates/s; seconds from commit "
        f"to searchable: p50 {cuts['p50']:.2f}, p95 {cuts['p95']:.2f}, p99 {cuts['p99']:.2f} "
        f"(every marker written by this run, none in the index before it)"
    )
    write_report(
        args.json,
        {
            "header": header,
            "run": run_id,
            "present_before": present_before,
            "written": list(committed),
            "polled": sorted(tracker.polled),
            "seen": sorted(seen),
            "delays_s": delays,
            **cuts,
        },
    )
    client.close()
    engine.dispose()


if __name__ == "__main__":
    main()
