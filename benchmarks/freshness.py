"""Freshness benchmark: seconds from a committed change to the change being searchable.

Usage: .venv/bin/python benchmarks/freshness.py [--updates 500] [--rate 25] [--children 20000]

Runs `contactpoint indexer run` as a child process on a database and alias of its own, commits
the updates at a steady rate, and polls Elasticsearch (through the read-only API user) for each
change. Prints p50/p95/p99 seconds with the index's default refresh interval.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time

os.environ.setdefault("PG_DATABASE", "contactpoint_bench_fresh")
os.environ.setdefault("INDEX_ALIAS", "children-bench-fresh")

from _population import percentiles, prepare, reindex_options  # noqa: E402
from sqlalchemy import text  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from indexer.reindex import reindex  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--rate", type=float, default=25.0, help="updates per second")
    parser.add_argument("--children", type=int, default=20_000)
    args = parser.parse_args()

    settings = get_settings()
    engine = prepare(settings, children=args.children, seed=3)
    client = make_client(settings, purpose="indexer")
    reindex(
        engine=engine,
        client=client,
        alias=settings.index_alias,
        options=reindex_options(settings),
    )
    with engine.connect() as connection:
        ids = (
            connection.execute(
                text("SELECT id FROM child ORDER BY id LIMIT :n"), {"n": args.updates}
            )
            .scalars()
            .all()
        )

    indexer = subprocess.Popen(
        [sys.executable, "-m", "contactpoint", "indexer", "run"], stderr=subprocess.DEVNULL
    )
    committed: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def poll() -> None:
        # The indexer's client may read any index; the alias is the bench's own.
        deadline = time.monotonic() + args.updates / args.rate + 60
        while time.monotonic() < deadline and not (done.is_set() and len(seen) == len(committed)):
            pending = [marker for marker in list(committed) if marker not in seen]
            if pending:
                hits = client.search(
                    index=settings.index_alias,
                    query={"terms": {"family_name_folded": pending[:1000]}},
                    source=["family_name_folded"],
                    size=1000,
                )["hits"]["hits"]
                now = time.perf_counter()
                for hit in hits:
                    seen.setdefault(hit["_source"]["family_name_folded"], now)
            time.sleep(0.02)

    try:
        time.sleep(3.0)  # the indexer connects and listens
        poller = threading.Thread(target=poll)
        poller.start()
        interval = 1.0 / args.rate
        start = time.perf_counter()
        for n, child_id in enumerate(ids):
            marker = f"fresh{n:05d}"
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE child SET family_name = :marker WHERE id = :id"),
                    {"marker": marker, "id": child_id},
                )
            committed[marker] = time.perf_counter()
            time.sleep(max(0.0, start + (n + 1) * interval - time.perf_counter()))
        done.set()
        poller.join()
    finally:
        indexer.terminate()
        indexer.wait(timeout=30)
    delays = [seen[m] - committed[m] for m in committed if m in seen]
    missing = len(committed) - len(delays)
    cuts = percentiles(delays)
    print(
        f"freshness: {len(delays)} of {len(committed)} updates searchable "
        f"({missing} not within the deadline) at {args.rate:g} updates/s; seconds from commit "
        f"to searchable: p50 {cuts['p50']:.2f}, p95 {cuts['p95']:.2f}, p99 {cuts['p99']:.2f} "
        f"(refresh interval 1s, {args.children} children)"
    )
    client.close()
    engine.dispose()


if __name__ == "__main__":
    main()
