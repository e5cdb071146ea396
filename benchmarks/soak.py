"""Soak: mixed searches, views, updates and sign-ins through the API for --minutes, on the
loopback only; errors, p99 per minute, memory at start and end, PostgreSQL's connections.

Usage: .venv/bin/python benchmarks/soak.py [--minutes 30] [--concurrency 16] [--children 20000]
                                           [--workers N] [--seed 21] [--json PATH]

Starts the API (uvicorn, API_WORKERS processes) and `contactpoint indexer run` on a database and
alias of their own (contactpoint_bench_soak, children-bench-soak), then runs --concurrency
threads until the time is up, each drawing its next request (of its own random stream): a
search by given name, family name and date of birth of a child of the population (50 %), a
record view (30 %), an update (15 %: the record read, then its address changed with If-Match
and an Idempotency-Key; each thread updates children of its own, so no two race for one), and
a sign-in with password, PIN and the current one-time code (5 %; each thread has an account
of its own and signs in at most once a minute, a search otherwise). The searches, views and
updates are a CMS client's, acting for a practitioner. Every answer that is not the one
expected is an error. Bounded: --minutes and --concurrency; nothing leaves the loopback.

Printed: the requests and errors of each kind; p50 and p99 of each minute (all kinds); the
resident memory of the API (its processes together) and of Elasticsearch at the start and the
end, and the growth; PostgreSQL's connections to the database at the start, the most seen, and
at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("PG_DATABASE", "contactpoint_bench_soak")
os.environ.setdefault("INDEX_ALIAS", "children-bench-soak")
# Every simulated user signs in from the loopback: the per-address limit would stop them.
os.environ.setdefault("SIGN_IN_RATE_PER_ADDRESS", "1000000")

import httpx  # noqa: E402
import pyotp  # noqa: E402
from _api import free_port, start_api, start_indexer, stop_api  # noqa: E402
from _header import es_heap, pg_setting, print_header, write_report  # noqa: E402
from _population import bench_account, ensure_index, not_running, prepare  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.settings import get_settings  # noqa: E402

SEED = 21
PASSWORD = "benchmark password 1"
PIN = "2580"
KINDS = ("search", "view", "update", "sign_in")
WEIGHTS = (50, 30, 15, 5)


@dataclass
class Account:
    username: str
    key: str
    totp: pyotp.TOTP
    last_step: int = -1


@dataclass
class Results:
    """(seconds since start, kind, latency, ok) of every request."""

    samples: list[tuple[float, str, float, bool]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, at: float, kind: str, latency: float, ok: bool, error: str = "") -> None:
        with self.lock:
            self.samples.append((at, kind, latency, ok))
            if not ok and len(self.errors) < 50:
                self.errors.append(f"{kind}: {error}")


def _rss_kib(pid: int) -> int:
    """Resident memory of a process and its descendants, in KiB (0 once gone)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(
                int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(child) for child in children]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def _es_pid(es: Any) -> int:
    nodes = es.nodes.info(metric="process")["nodes"]
    return int(next(iter(nodes.values()))["process"]["id"])


def _pg_connections(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            ).scalar_one()
        )


def _children(engine: Engine, n: int) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT identifier, given_names, family_name, date_of_birth FROM child "
                "WHERE status = 'active' ORDER BY random() LIMIT :n"
            ),
            {"n": n},
        ).mappings()
        return [dict(row) for row in rows]


def _accounts(settings: Any, engine: Engine, run_id: str, n: int) -> list[Account]:
    made = []
    for number in range(n):
        account = bench_account(
            settings, engine, suffix=f"soak-{run_id}-{number}", gp_practice=True
        )
        with engine.connect() as connection:
            secret = connection.execute(
                text("SELECT totp_secret FROM app_user WHERE username = :u"),
                {"u": account.username},
            ).scalar_one()
        made.append(Account(username=account.username, key=account.key, totp=pyotp.TOTP(secret)))
    return made


def _worker(
    number: int,
    *,
    port: int,
    account: Account,
    pool: list[dict[str, Any]],
    mine: list[dict[str, Any]],
    results: Results,
    started: float,
    until: float,
    seed: int,
) -> None:
    rng = random.Random(seed * 1000 + number)
    cms = {"Authorization": f"Bearer {account.key}", "X-On-Behalf-Of": account.username}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        while time.monotonic() < until:
            kind = rng.choices(KINDS, WEIGHTS)[0]
            step = account.totp.timecode(time.time())
            # At most one sign-in a minute each (a code is used once; the per-user limit).
            if kind == "sign_in" and step <= account.last_step + 1:
                kind = "search"
            child = rng.choice(pool)
            begun = time.perf_counter()
            ok, error = True, ""
            try:
                if kind == "search":
                    body = {
                        "given_name": child["given_names"].split()[0],
                        "family_name": child["family_name"],
                        "date_of_birth": child["date_of_birth"].isoformat(),
                    }
                    answer = client.post("/v1/search", json=body, headers=cms)
                    ok = answer.status_code == 200
                elif kind == "view":
                    answer = client.get(f"/v1/children/{child['identifier']}", headers=cms)
                    ok = answer.status_code == 200
                elif kind == "update":
                    target = rng.choice(mine)
                    path = f"/v1/children/{target['identifier']}"
                    view = client.get(path, headers=cms)
                    answer = view
                    if view.status_code == 200:
                        address = {
                            "lines": [f"{rng.randint(1, 400)} Soak Road"],
                            "town": "Leeds",
                            "postcode": "LS2 1AB",
                        }
                        headers = {
                            **cms,
                            "If-Match": view.headers["ETag"],
                            "Idempotency-Key": uuid.uuid4().hex,
                        }
                        answer = client.put(f"{path}/address", json=address, headers=headers)
                    ok = answer.status_code == 200
                else:
                    account.last_step = step
                    body = {
                        "username": account.username,
                        "password": PASSWORD,
                        "pin": PIN,
                        "code": account.totp.at(time.time()),
                    }
                    answer = client.post("/v1/auth/login", json=body)
                    ok = answer.status_code == 200
                if not ok:
                    error = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            ended = time.perf_counter()
            results.add(ended - started, kind, ended - begun, ok, error)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=None, help="uvicorn worker processes")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rebuild", action="store_true", help="load the children afresh")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()
    if not 0 < args.minutes <= 24 * 60 or not 1 <= args.concurrency <= 256:
        parser.error("--minutes must be in (0, 1440] and --concurrency in [1, 256]")

    settings = get_settings()
    run_id = secrets.token_hex(4)
    workers = args.workers or settings.api_workers
    started_servers = not_running(settings)
    population = prepare(settings, children=args.children, seed=SEED, rebuild=args.rebuild)
    engine = population.engine
    es = make_client(settings, purpose="indexer")
    index, reused_at = ensure_index(settings, population, es)
    pool = _children(engine, 2000)
    # Each thread updates children of its own: two writers never race for one If-Match.
    updated = _children(engine, 20 * args.concurrency)
    accounts = _accounts(settings, engine, run_id, args.concurrency)
    header = print_header(
        "soak.py",
        children=args.children,
        fields={
            **population.header_fields(),
            "index": "built" if reused_at is None else "reused",
            "servers": "+".join(started_servers) + "-started" if started_servers else "running",
            "run": run_id,
            "minutes": args.minutes,
            "concurrency": args.concurrency,
            "api_workers": workers,
            "mix": "+".join(f"{k}{w}" for k, w in zip(KINDS, WEIGHTS, strict=True)),
            "es_heap": es_heap(es),
            "pg_shared_buffers": pg_setting(engine, "shared_buffers"),
        },
    )
    results = Results()
    api = indexer = None
    memory: dict[str, int] = {}
    connections: list[int] = []
    try:
        port = free_port()
        api = start_api(port, workers)
        indexer = start_indexer(engine)
        es_pid = _es_pid(es)
        memory["api_start_kib"], memory["es_start_kib"] = _rss_kib(api.pid), _rss_kib(es_pid)
        connections.append(_pg_connections(engine))
        started = time.perf_counter()
        until = time.monotonic() + args.minutes * 60
        done = threading.Event()

        def sample() -> None:
            while not done.wait(10):
                connections.append(_pg_connections(engine))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        chunk = max(1, len(updated) // args.concurrency)
        with ThreadPoolExecutor(max_workers=args.concurrency) as executor:
            futures = [
                executor.submit(
                    _worker,
                    number,
                    port=port,
                    account=accounts[number],
                    pool=pool,
                    mine=updated[number * chunk : (number + 1) * chunk] or updated[:1],
                    results=results,
                    started=started,
                    until=until,
                    seed=args.seed,
                )
                for number in range(args.concurrency)
            ]
            for future in futures:
                future.result()
        elapsed = time.perf_counter() - started
        done.set()
        memory["api_end_kib"], memory["es_end_kib"] = _rss_kib(api.pid), _rss_kib(es_pid)
        connections.append(_pg_connections(engine))
    finally:
        stop_api(api)
        if indexer is not None:
            indexer.terminate()
            indexer.wait(timeout=30)
    kinds = {
        kind: {
            "requests": sum(1 for s in results.samples if s[1] == kind),
            "errors": sum(1 for s in results.samples if s[1] == kind and not s[3]),
        }
        for kind in KINDS
    }
    minutes: list[dict[str, float]] = []
    for minute in range(int(elapsed // 60) + 1):
        latencies = [s[2] for s in results.samples if minute * 60 <= s[0] < (minute + 1) * 60]
        if latencies:
            minutes.append(
                {
                    "minute": minute + 1,
                    "requests": len(latencies),
                    "p50_ms": _quantile(latencies, 0.50) * 1000,
                    "p99_ms": _quantile(latencies, 0.99) * 1000,
                }
            )
    errors = sum(kind["errors"] for kind in kinds.values())
    total = len(results.samples)
    growth = {
        name: (memory[f"{name}_end_kib"] - memory[f"{name}_start_kib"])
        / max(1, memory[f"{name}_start_kib"])
        for name in ("api", "es")
    }
    print(
        f"soak: {total:,} requests in {elapsed:.0f} s at concurrency {args.concurrency} "
        f"({total / elapsed:.0f}/s), {errors} errors"
    )
    for kind, figures in kinds.items():
        print(f"  {kind}: {figures['requests']:,} requests, {figures['errors']} errors")
    for row in minutes:
        print(
            f"  minute {row['minute']:.0f}: {row['requests']:.0f} requests, "
            f"p50 {row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms"
        )
    for name, label in (("api", "API"), ("es", "Elasticsearch")):
        print(
            f"memory {label}: {memory[f'{name}_start_kib'] / 1024:.0f} MiB at the start, "
            f"{memory[f'{name}_end_kib'] / 1024:.0f} MiB at the end ({growth[name]:+.1%})"
        )
    print(
        f"PostgreSQL connections: {connections[0]} at the start, {max(connections)} at most, "
        f"{connections[-1]} at the end"
    )
    for error in results.errors[:5]:
        print(f"error: {error}")
    write_report(
        args.json,
        {
            "header": header,
            "run": run_id,
            "elapsed_s": elapsed,
            "requests": total,
            "errors": errors,
            "kinds": kinds,
            "minutes": minutes,
            "memory_kib": memory,
            "memory_growth": growth,
            "pg_connections": {
                "start": connections[0],
                "max": max(connections),
                "end": connections[-1],
            },
            "error_samples": results.errors,
        },
    )
    es.close()
    engine.dispose()


if __name__ == "__main__":
    main()
