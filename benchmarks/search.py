"""Search benchmark: recall of corrupted queries, latency through the API and straight to ES,
and a PostgreSQL pg_trgm + fuzzystrmatch baseline on the same data and queries.

Usage: .venv/bin/python benchmarks/search.py [--children 1000000] [--queries 200] [--keep-up]

Runs on a stack of its own (var/bench-search, ports 55436/59204, database
contactpoint_bench_search) so no dev or test data is touched; the demo file is reused from
var/bench. Servers the benchmark started are stopped at the end unless --keep-up.
"""

from __future__ import annotations

import os

for _key, _value in {
    "VAR_DIR": "var/bench-search",
    "PG_PORT": "55436",
    "ES_PORT": "59204",
    "ES_TRANSPORT_PORT": "59304",
    "PG_DATABASE": "contactpoint_bench_search",
    "ES_HEAP": "2g",
}.items():
    os.environ.setdefault(_key, _value)

import argparse  # noqa: E402
import random  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from _population import reindex_options  # noqa: E402
from _search_queries import (  # noqa: E402
    KINDS,
    BenchQuery,
    build_queries,
    latency_table,
    pg_baseline,
    recall_table,
    run_concurrent,
)
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from contactpoint.demo_data import write_demo_file  # noqa: E402
from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.services import down, status, up  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402
from db.access import NewUser, Principal, Role, create_client, create_user  # noqa: E402
from db.load import load_file  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.session import make_engine  # noqa: E402
from indexer.reindex import reindex  # noqa: E402
from searchapi.access import child_access  # noqa: E402
from searchapi.search import search_body  # noqa: E402


def _prepare(children: int, seed: int) -> None:
    settings = get_settings()
    engine = make_engine(settings.effective_database_url())
    with engine.connect() as connection:
        have = connection.execute(text("SELECT count(*) FROM child")).scalar_one()
    if have == children:
        print(f"reusing the {children} children already loaded")
        engine.dispose()
        return
    data = Path("var/bench") / f"demo-{children}-{seed}.jsonl"
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_demo_file(path=data, children=children, seed=seed)
        print(f"generated {data} in {time.perf_counter() - started:.0f} s")
    owner = make_engine(settings.effective_migration_url())
    with owner.begin() as connection:
        connection.execute(
            text(
                "TRUNCATE child, carer, involvement, shield, organisation, practitioner,"
                " index_outbox RESTART IDENTITY CASCADE"
            )
        )
    owner.dispose()
    started = time.perf_counter()
    load_file(engine=engine, path=data, batch_size=settings.load_batch_size)
    print(f"loaded {children} children in {time.perf_counter() - started:.0f} s")
    es = make_client(settings, purpose="indexer")
    started = time.perf_counter()
    reindex(
        engine=engine,
        client=es,
        alias=settings.index_alias,
        options=reindex_options(settings),
    )
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM index_outbox"))
    print(f"reindexed in {time.perf_counter() - started:.0f} s")
    es.close()
    engine.dispose()


def _api_key() -> tuple[str, str]:
    """A practitioner account and a CMS client key acting for it."""
    settings = get_settings()
    engine = make_engine(settings.effective_database_url())
    suffix = random.randrange(10**9)
    with Session(engine) as session, session.begin():
        authority = session.execute(text("SELECT code FROM local_authority LIMIT 1")).scalar_one()
        username = f"bench-{suffix}"
        create_user(
            session=session,
            settings=settings.model_copy(update={"argon2_time_cost": 1}),
            actor=Principal.operator(),
            request_id=None,
            new=NewUser(
                username=username,
                roles=frozenset({Role.PRACTITIONER}),
                authorities=frozenset({authority}),
            ),
            password="benchmark password 1",
            pin="2580",
        )
        issued = create_client(
            session=session,
            actor=Principal.operator(),
            request_id=None,
            name=f"bench-cms-{suffix}",
            roles=frozenset({Role.PRACTITIONER}),
            authority=authority,
        )
    engine.dispose()
    return issued.key, username


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_api(port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "searchapi.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(command)
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503):
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the API did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="per corruption kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workers", type=int, default=None, help="uvicorn worker processes (API_WORKERS)"
    )
    parser.add_argument("--keep-up", action="store_true")
    args = parser.parse_args()

    settings = get_settings()
    was_running = all(ok for _, ok in status(settings))
    for line in up(settings):
        print(line)
    api: subprocess.Popen[bytes] | None = None
    try:
        upgrade(url=settings.effective_migration_url(), revision="head")
        _prepare(args.children, args.seed)
        engine = make_engine(settings.effective_database_url())
        queries: list[BenchQuery] = build_queries(engine, per_kind=args.queries, seed=args.seed)
        print(f"{len(queries)} queries over {', '.join(KINDS)}")
        key, username = _api_key()
        port = _free_port()
        api = _start_api(port, args.workers or settings.api_workers)
        headers = {"Authorization": f"Bearer {key}", "X-On-Behalf-Of": username}
        principal = Principal(user_id=None, username=username, roles=frozenset({Role.PRACTITIONER}))
        access = child_access(principal, named_children=frozenset())
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

        # Warm both paths (and the caches) before measuring.
        run_concurrent(queries[:100], lambda c, q: through_api(c, q), headers, 4)
        run_concurrent(queries[:100], lambda c, q: direct(q), headers, 4)
        found, _ = run_concurrent(queries, lambda c, q: through_api(c, q), headers, 8)
        print(recall_table({"elasticsearch (API)": found}, queries))
        rows = []
        for concurrency in (1, 8, 32):
            sample = queries if concurrency > 1 else queries[: min(len(queries), 400)]
            _, api_times = run_concurrent(
                sample, lambda c, q: through_api(c, q), headers, concurrency
            )
            _, es_times = run_concurrent(sample, lambda c, q: direct(q), headers, concurrency)
            rows.append((concurrency, api_times, es_times))
        print(latency_table(rows))
        pg_found, pg_times = pg_baseline(settings, queries[: min(len(queries), 300)])
        print(recall_table({"postgresql pg_trgm": pg_found}, queries[: len(pg_found)]))
        print(latency_table([(1, pg_times, pg_times)], label="postgresql c=1"))
        es.close()
        engine.dispose()
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=30)
        if not was_running and not args.keep_up:
            for line in down(settings):
                print(line)


if __name__ == "__main__":
    main()
