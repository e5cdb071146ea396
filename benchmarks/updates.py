"""Updates benchmark: CMS writes per second through the API, and commit → searchable.

Usage: .venv/bin/python benchmarks/updates.py [--children 20000] [--updates 2000]
                                              [--concurrency 8] [--workers N] [--json PATH]

Starts the API (uvicorn, API_WORKERS processes) and `contactpoint indexer run` on a database and
alias of their own, registers a GP practice's CMS, then sends from `--concurrency` threads, for
each of `--updates / 3` children: a POST of an involvement (as lead professional), a PATCH of its
assessment flag and a PUT of the address, each with the If-Match of the answer before it and an
Idempotency-Key. Prints writes per second, latency p50/p95/p99, and the seconds from each answer
(the commit) until Elasticsearch holds that record version (polled by id).
"""

from __future__ import annotations

import argparse
import os
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("PG_DATABASE", "contactpoint_bench_updates")
os.environ.setdefault("INDEX_ALIAS", "children-bench-updates")

import httpx  # noqa: E402
from _api import free_port, start_api, start_indexer, stop_api, thread_clients  # noqa: E402
from _header import es_heap, pg_setting, print_header, write_report  # noqa: E402
from _population import (  # noqa: E402
    bench_account,
    ensure_index,
    not_running,
    percentiles,
    prepare,
)
from elasticsearch import Elasticsearch  # noqa: E402
from sqlalchemy import text  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from mappings import fields as f  # noqa: E402

SEED = 16


@dataclass
class Tracker:
    """Each write's latency, and when each (child, version) was committed and first indexed."""

    latencies: list[float] = field(default_factory=list)
    committed: dict[tuple[str, int], float] = field(default_factory=dict)
    seen: dict[tuple[str, int], float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pending(self) -> list[tuple[str, int]]:
        with self.lock:
            return [key for key in self.committed if key not in self.seen]


def _write(
    client: httpx.Client, tracker: Tracker, method: str, path: str, etag: str, body: Any
) -> tuple[str, dict[str, Any]] | None:
    headers = {"If-Match": etag, "Idempotency-Key": uuid.uuid4().hex}
    started = time.perf_counter()
    response = client.request(method, path, json=body, headers=headers)
    ended = time.perf_counter()
    if response.status_code not in (200, 201):
        with tracker.lock:
            tracker.failures.append(f"{method} {response.status_code} {response.text[:200]}")
        return None
    answer: dict[str, Any] = response.json()
    identifier = answer["record"]["identifier"]
    with tracker.lock:
        tracker.latencies.append(ended - started)
        tracker.committed[(identifier, int(answer["record_version"]))] = ended
    return response.headers["ETag"], answer


def _child_updates(client: httpx.Client, tracker: Tracker, identifier: str, n: int) -> None:
    base = f"/v1/children/{identifier}"
    view = client.get(base)
    if view.status_code != 200:
        with tracker.lock:
            tracker.failures.append(f"GET {view.status_code}")
        return
    practitioner = {
        "name": "Bench Practitioner",
        "email": f"bench{uuid.uuid4().hex[:12]}@gp.example",
    }
    started = _write(
        client,
        tracker,
        "POST",
        f"{base}/involvements",
        view.headers["ETag"],
        {"practitioner": practitioner, "lead_professional": True},
    )
    if started is None:
        return
    etag, answer = started
    patched = _write(
        client,
        tracker,
        "PATCH",
        f"{base}/involvements/{answer['involvement_id']}",
        etag,
        {"assessment_completed": True},
    )
    if patched is None:
        return
    address = {"lines": [f"{n % 400 + 1} Bench Road"], "town": "Leeds", "postcode": "LS2 1AB"}
    _write(client, tracker, "PUT", f"{base}/address", patched[0], address)


def _poll(
    es: Elasticsearch, alias: str, tracker: Tracker, done: threading.Event, deadline: float
) -> None:
    while time.monotonic() < deadline:
        pending = tracker.pending()
        if done.is_set() and not pending:
            return
        wanted: dict[str, list[tuple[str, int]]] = {}
        for key in pending[:1000]:
            wanted.setdefault(key[0], []).append(key)
        if wanted:
            docs = es.mget(index=alias, ids=list(wanted), source=[f.RECORD_VERSION])["docs"]
            now = time.perf_counter()
            with tracker.lock:
                for doc in docs:
                    if not doc.get("found"):
                        continue
                    version = int(doc["_source"][f.RECORD_VERSION])
                    for key in wanted[doc["_id"]]:
                        if key[1] <= version:
                            tracker.seen.setdefault(key, now)
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--updates", type=int, default=2000, help="writes in all (3 per child)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="uvicorn worker processes")
    parser.add_argument("--rebuild", action="store_true", help="load the children afresh")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()

    settings = get_settings()
    run_id = secrets.token_hex(4)
    workers = args.workers or settings.api_workers
    started_servers = not_running(settings)
    population = prepare(settings, children=args.children, seed=SEED, rebuild=args.rebuild)
    engine = population.engine
    es = make_client(settings, purpose="indexer")
    index, reused_at = ensure_index(settings, population, es)
    alias = settings.index_alias
    refresh = es.indices.get_settings(index=index, name="index.refresh_interval")
    per_child = 3
    with engine.connect() as connection:
        identifiers = list(
            connection.execute(
                text(
                    "SELECT identifier FROM child WHERE status = 'active' ORDER BY random() "
                    "LIMIT :n"
                ),
                {"n": max(1, args.updates // per_child)},
            ).scalars()
        )
    header = print_header(
        "updates.py",
        children=args.children,
        fields={
            **population.header_fields(),
            "index": "built" if reused_at is None else "reused",
            "servers": "+".join(started_servers) + "-started" if started_servers else "running",
            "run": run_id,
            "updates": len(identifiers) * per_child,
            "concurrency": args.concurrency,
            "api_workers": workers,
            "indexer_batch": settings.indexer_batch_size,
            "refresh": refresh[index]["settings"]["index"]["refresh_interval"],
            "es_heap": es_heap(es),
            "pg_shared_buffers": pg_setting(engine, "shared_buffers"),
        },
    )
    account = bench_account(settings, engine, suffix=f"updates-{run_id}", gp_practice=True)
    username, key = account.username, account.key
    tracker = Tracker()
    done = threading.Event()
    api = None
    indexer = None
    try:
        port = free_port()
        api = start_api(port, workers)
        indexer = start_indexer(engine)
        headers = {"Authorization": f"Bearer {key}", "X-On-Behalf-Of": username}
        client = thread_clients(port, headers)

        poller = threading.Thread(
            target=_poll, args=(es, alias, tracker, done, time.monotonic() + 600)
        )
        poller.start()
        begun = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(
                pool.map(
                    lambda item: _child_updates(client(), tracker, item[1], item[0]),
                    enumerate(identifiers),
                )
            )
        elapsed = time.perf_counter() - begun
        done.set()
        poller.join()
    finally:
        stop_api(api)
        if indexer is not None:
            indexer.terminate()
            indexer.wait(timeout=30)
    writes = len(tracker.latencies)
    latency = percentiles(tracker.latencies)
    delays = [
        tracker.seen[k] - tracker.committed[k] for k in tracker.committed if k in tracker.seen
    ]
    fresh = percentiles(delays)
    print(
        f"updates: {writes} writes ({len(tracker.failures)} failed) in {elapsed:.1f} s at "
        f"concurrency {args.concurrency}: {writes / elapsed:.0f} writes/s (each child's GET "
        f"included in the time); latency ms p50 {latency['p50'] * 1000:.0f}, "
        f"p95 {latency['p95'] * 1000:.0f}, p99 {latency['p99'] * 1000:.0f}"
    )
    print(
        f"commit → searchable: {len(delays)} of {len(tracker.committed)} versions seen; seconds "
        f"p50 {fresh['p50']:.2f}, p95 {fresh['p95']:.2f}, p99 {fresh['p99']:.2f}"
    )
    for failure in tracker.failures[:5]:
        print(f"failed: {failure}")
    write_report(
        args.json,
        {
            "header": header,
            "run": run_id,
            "writes": writes,
            "searchable": len(delays),
            "failures": tracker.failures,
            "elapsed_s": elapsed,
            "writes_per_s": writes / elapsed,
            "latency_s": latency,
            "searchable_s": fresh,
        },
    )
    es.close()
    engine.dispose()


if __name__ == "__main__":
    main()
