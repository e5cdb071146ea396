"""An Elasticsearch node killed (SIGKILL) under load: searches, the indexer's sync and a reindex
live through it, and the cluster is green again once the node is back.

Usage: .venv/bin/python benchmarks/node_loss.py [--children 20000] [--nodes 3] [--concurrency 8]
                                                [--seconds 30] [--es-heap 512m] [--json PATH]

The children are loaded into a database of their own (contactpoint_bench_nodeloss) on the
stack's PostgreSQL; the cluster is a local one of its own (`services up --es-nodes 3` in
VAR_DIR/es-cluster, on ES_PORT + 20 onwards), started when it does not run and stopped after.
Three phases, each killing the node that holds the primary copy of the index at work, then
starting it again (as `services up` does) while the work goes on:

- search: --concurrency threads send searches through the API (uvicorn, a CMS client acting for
  a practitioner) for --seconds: by names and date of birth (two in three) and, of a shielded
  child of another authority, by its postcode (one in three), which must never return it.
  Every answer that is not a 200 is a failed search; every shielded child returned is a leak;
- sync: `contactpoint indexer run` follows a stream of committed changes (one every 20 ms for
  --seconds); once it has caught up, every change whose commit returned must be in the index
  at its last version (the ones that are not are lost);
- reindex: a full reindex into the cluster, the node killed once the new index exists; either
  it completes (the alias on the new index, which holds every child) or it fails and leaves the
  alias where it was. A second reindex after the node's return must complete.

Printed for each phase: what was done, what failed, latency p50/p95/p99 (search: before, during
and after the loss), and how long the cluster took to be green again after the node's start.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("PG_DATABASE", "contactpoint_bench_nodeloss")
os.environ.setdefault("INDEX_ALIAS", "children-bench-nodeloss")

import httpx  # noqa: E402
from _api import free_port  # noqa: E402
from _header import es_heap, print_header, write_report  # noqa: E402
from _population import bench_account, percentiles, prepare, rebuild_frequencies  # noqa: E402
from elasticsearch import Elasticsearch  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from contactpoint.es_client import make_client  # noqa: E402
from contactpoint.services import _system as system  # noqa: E402
from contactpoint.services import elasticsearch as es_service  # noqa: E402
from contactpoint.settings import Settings, get_settings  # noqa: E402
from indexer.indices import alias_state  # noqa: E402
from indexer.reindex import ReindexError, ReindexOptions, reindex  # noqa: E402
from mappings import fields as f  # noqa: E402

SEED = 23
# Bounds on the waits (not figures): the node's start, green, the indexer's catch-up.
DEADLINE_S = 300.0


@dataclass
class Loss:
    """One node's loss and return: when each happened, and how long green took after."""

    node: str = ""
    killed_at: float = 0.0
    started_at: float = 0.0
    green_s: float = 0.0

    def report(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "restart_s": self.started_at - self.killed_at,
            "green_s": self.green_s,
        }


def cluster_settings(settings: Settings, *, nodes: int, heap: str) -> Settings:
    """The cluster's settings: a folder and ports of its own, the stack's PostgreSQL (its
    credentials are copied into the cluster's secrets, beside the cluster's own users)."""
    root = (settings.var_dir / "es-cluster").resolve()
    root.mkdir(parents=True, exist_ok=True)
    stack = system.load_secrets(settings.secrets_file)
    mine = system.load_secrets(root / "secrets.json")
    system.save_secrets(
        root / "secrets.json", {**stack, "elasticsearch": mine.get("elasticsearch", {})}
    )
    return settings.model_copy(
        update={
            "var_dir": root,
            "es_port": settings.es_port + 20,
            "es_transport_port": settings.es_transport_port + 20,
            "es_nodes": nodes,
            "es_heap": heap,
        }
    )


def _env(cluster: Settings) -> dict[str, str]:
    """The environment of the API and the indexer on the cluster."""
    return {
        **os.environ,
        "VAR_DIR": str(cluster.var_dir),
        "ES_PORT": str(cluster.es_port),
        "ES_TRANSPORT_PORT": str(cluster.es_transport_port),
        "ES_NODES": str(cluster.es_nodes),
        "LOG_FORMAT": "text",
        "INDEXER_MAX_BACKOFF_S": "2",
    }


def _primary_node(es: Elasticsearch, index: str) -> str:
    """The name of the node holding the index's primary copy."""
    shards = es.cat.shards(index=index, format="json", h="prirep,state,node")
    for shard in shards:
        if shard["prirep"] == "p" and shard["state"] == "STARTED":
            return str(shard["node"])
    raise RuntimeError(f"no started primary of {index}: {shards}")


def _node_of(cluster: Settings, name: str) -> es_service.Node:
    return next(node for node in es_service.nodes_of(cluster) if node.paths.name == name)


def _kill(cluster: Settings, name: str, loss: Loss, started: float) -> None:
    pid = system.read_pid(_node_of(cluster, name).paths.pid)
    if pid is None:
        raise RuntimeError(f"{name} does not run")
    os.kill(pid, signal.SIGKILL)
    loss.node, loss.killed_at = name, time.perf_counter() - started
    while system.pid_alive(pid):
        time.sleep(0.05)


def _restart(cluster: Settings, es: Elasticsearch, loss: Loss, started: float) -> None:
    """Start the killed node again (as `services up` does); time green from its start."""
    es_service.up(cluster)
    loss.started_at = time.perf_counter() - started
    begun = time.perf_counter()
    health = es.cluster.health(wait_for_status="green", timeout=f"{DEADLINE_S:.0f}s")
    if health["status"] != "green":
        raise RuntimeError(f"the cluster is {health['status']} after the node's return")
    loss.green_s = time.perf_counter() - begun


def _lose_a_node(
    args: argparse.Namespace,
    cluster: Settings,
    es: Elasticsearch,
    victim: str,
    loss: Loss,
    started: float,
) -> None:
    """A third of --seconds of work, the node killed, a third without it, the node started
    again, and a third after its return."""
    time.sleep(args.seconds / 3)
    _kill(cluster, victim, loss, started)
    time.sleep(args.seconds / 3)
    _restart(cluster, es, loss, started)
    time.sleep(args.seconds / 3)


def _start_api(cluster: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "searchapi.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(
        command, env=_env(cluster), stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with {process.returncode}; see {log}")
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the API did not become healthy")


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Searches:
    """(seconds since start, latency, ok) of every search; leaks and failures with a sample."""

    samples: list[tuple[float, float, bool]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _picks(engine: Engine, authority: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Children to search for by name, and shielded children of other authorities."""
    with engine.connect() as connection:
        named = [
            dict(row)
            for row in connection.execute(
                text(
                    "SELECT identifier, given_names, family_name, date_of_birth FROM child "
                    "WHERE status = 'active' ORDER BY random() LIMIT 500"
                )
            ).mappings()
        ]
        shielded = [
            dict(row)
            for row in connection.execute(
                text(
                    "SELECT c.identifier, c.family_name, c.postcode FROM child c "
                    "WHERE c.status = 'active' AND c.local_authority_code <> :authority "
                    "AND EXISTS (SELECT 1 FROM shield s WHERE s.child_id = c.id "
                    "AND s.removed_at IS NULL) ORDER BY random() LIMIT 50"
                ),
                {"authority": authority},
            ).mappings()
        ]
    if not named or not shielded:
        raise SystemExit("the population has no children or no shielded child to search for")
    return named, shielded


def _search_worker(
    number: int,
    *,
    port: int,
    headers: dict[str, str],
    named: list[dict[str, Any]],
    shielded: list[dict[str, Any]],
    results: Searches,
    started: float,
    stop: threading.Event,
) -> None:
    rng = random.Random(SEED * 100 + number)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
        while not stop.is_set():
            hidden = None
            if rng.random() < 1 / 3:
                hidden = rng.choice(shielded)
                body = {"family_name": hidden["family_name"], "postcode": hidden["postcode"]}
            else:
                kid = rng.choice(named)
                body = {
                    "given_name": kid["given_names"].split()[0],
                    "family_name": kid["family_name"],
                    "date_of_birth": kid["date_of_birth"].isoformat(),
                }
            begun = time.perf_counter()
            ok = False
            problem = ""
            try:
                answer = client.post("/v1/search", json=body)
                ok = answer.status_code == 200
                if not ok:
                    problem = f"{answer.status_code} {answer.text[:200]}"
                elif hidden is not None and hidden["identifier"] in {
                    result["identifier"] for result in answer.json()["results"]
                }:
                    with results.lock:
                        results.leaks.append(f"{hidden['identifier']} found by its postcode")
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            ended = time.perf_counter()
            with results.lock:
                results.samples.append((ended - started, ended - begun, ok))
                if problem:
                    results.failures.append(problem)


def search_phase(
    args: argparse.Namespace, cluster: Settings, engine: Engine, es: Elasticsearch, log: Path
) -> dict[str, Any]:
    account = bench_account(cluster, engine, suffix=f"nodeloss-{secrets.token_hex(4)}")
    named, shielded = _picks(engine, account.authority)
    headers = {"Authorization": f"Bearer {account.key}", "X-On-Behalf-Of": account.username}
    results, loss = Searches(), Loss()
    port = free_port()
    api = _start_api(cluster, port, log)
    try:
        victim = _primary_node(es, cluster.index_alias)
        started = time.perf_counter()
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=args.concurrency) as executor:
            futures = [
                executor.submit(
                    _search_worker,
                    number,
                    port=port,
                    headers=headers,
                    named=named,
                    shielded=shielded,
                    results=results,
                    started=started,
                    stop=stop,
                )
                for number in range(args.concurrency)
            ]
            try:
                _lose_a_node(args, cluster, es, victim, loss, started)
            finally:
                stop.set()
            for future in futures:
                future.result()
    finally:
        _stop(api)
    before = [s[1] for s in results.samples if s[0] < loss.killed_at]
    during = [
        s[1] for s in results.samples if loss.killed_at <= s[0] < loss.started_at + loss.green_s
    ]
    after = [s[1] for s in results.samples if s[0] >= loss.started_at + loss.green_s]
    return {
        "searches": len(results.samples),
        "failed": len(results.failures),
        "failure_samples": results.failures[:5],
        "leaks": len(results.leaks),
        "leak_samples": results.leaks[:5],
        "latency_s": {
            name: percentiles(values) if len(values) >= 2 else None
            for name, values in (("before", before), ("during", during), ("after", after))
        },
        "loss": loss.report(),
    }


def _indexed(es: Elasticsearch, alias: str, identifiers: list[str]) -> dict[str, int]:
    es.indices.refresh(index=alias)
    docs = es.mget(index=alias, ids=identifiers, source=[f.RECORD_VERSION])["docs"]
    return {doc["_id"]: int(doc["_source"][f.RECORD_VERSION]) for doc in docs if doc.get("found")}


def sync_phase(
    args: argparse.Namespace, cluster: Settings, engine: Engine, es: Elasticsearch, log: Path
) -> dict[str, Any]:
    with engine.connect() as connection:
        identifiers = list(
            connection.execute(
                text(
                    "SELECT identifier FROM child WHERE status = 'active' "
                    "ORDER BY random() LIMIT 100"
                )
            ).scalars()
        )
    command = [sys.executable, "-m", "contactpoint", "indexer", "run"]
    indexer = subprocess.Popen(
        command, env=_env(cluster), stdout=log.open("ab"), stderr=subprocess.STDOUT
    )
    committed: dict[str, int] = {}
    writes = [0]
    loss = Loss()
    started = time.perf_counter()
    try:
        victim = _primary_node(es, cluster.index_alias)
        stop = threading.Event()

        def write() -> None:
            number = 0
            while not stop.is_set():
                identifier = identifiers[number % len(identifiers)]
                with engine.begin() as connection:
                    version = connection.execute(
                        text(
                            "UPDATE child SET family_name = :name WHERE identifier = :id "
                            "RETURNING record_version"
                        ),
                        {"name": f"Nodeloss{number}", "id": identifier},
                    ).scalar_one()
                committed[identifier] = int(version)
                number += 1
                writes[0] = number
                time.sleep(0.02)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            _lose_a_node(args, cluster, es, victim, loss, started)
        finally:
            stop.set()
            writer.join()
        writes_ended = time.perf_counter()
        deadline = time.monotonic() + DEADLINE_S
        while True:
            indexed = _indexed(es, cluster.index_alias, list(committed))
            behind = [i for i, v in committed.items() if indexed.get(i) != v]
            if not behind or time.monotonic() > deadline or indexer.poll() is not None:
                break
            time.sleep(0.5)
        caught_up_s = time.perf_counter() - writes_ended
    finally:
        _stop(indexer)
    return {
        "changes": writes[0],
        "children_changed": len(committed),
        "lost": len(behind),
        "lost_samples": behind[:5],
        "caught_up_s": caught_up_s,
        "indexer_exited": indexer.returncode not in (None, 0, -signal.SIGTERM),
        "loss": loss.report(),
    }


def reindex_phase(cluster: Settings, engine: Engine, es: Elasticsearch) -> dict[str, Any]:
    alias = cluster.index_alias
    # As `contactpoint reindex` runs on a cluster (built with the serving replica), in chunks
    # small enough that a population of a few thousand is still being written at the kill.
    options = replace(ReindexOptions.from_settings(cluster), batch_size=250)
    before = alias_state(es, alias=alias).live
    outcome: dict[str, Any] = {}
    loss = Loss()
    started = time.perf_counter()

    def kill_once(done: int, total: int) -> None:
        # From the build's first progress: the new index exists and is being written.
        if loss.node or "not_killed" in outcome:
            return
        try:
            building = next(
                name for name in alias_state(es, alias=alias).others if name > (before or "")
            )
            _kill(cluster, _primary_node(es, building), loss, started)
            outcome["killed_after"] = done
        except Exception as exc:  # noqa: BLE001 (reported: the kill did not happen)
            outcome["not_killed"] = str(exc)

    try:
        outcome["index"] = reindex(
            engine=engine, client=es, alias=alias, options=options, on_progress=kill_once
        ).index
    except ReindexError as exc:
        outcome["error"] = str(exc)
    live = alias_state(es, alias=alias).live
    if loss.node:
        _restart(cluster, es, loss, started)
    with engine.connect() as connection:
        children = int(connection.execute(text("SELECT count(*) FROM child")).scalar_one())
    if "index" in outcome:
        count = int(es.count(index=alias)["count"])
        kept = live == outcome["index"] and count == children
    else:
        kept = live == before
    again = reindex(engine=engine, client=es, alias=alias, options=options)
    es.indices.refresh(index=alias)
    return {
        "completed": "index" in outcome,
        "error": outcome.get("error", ""),
        "alias_kept_or_moved_whole": kept,
        "killed_during_build": bool(loss.node),
        "killed_after_documents": outcome.get("killed_after"),
        "not_killed": outcome.get("not_killed", ""),
        "second_reindex_documents": again.documents,
        "second_reindex_complete": again.documents == children
        and alias_state(es, alias=alias).live == again.index,
        "loss": loss.report(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0, help="each phase's load")
    parser.add_argument("--es-heap", default="512m", help="each node's heap")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args()
    if not 2 <= args.nodes <= 5 or not 1 <= args.concurrency <= 64 or not 4 <= args.seconds <= 3600:
        parser.error("--nodes in [2, 5], --concurrency in [1, 64], --seconds in [4, 3600]")

    settings = get_settings()
    population = prepare(settings, children=args.children, seed=SEED)
    engine = population.engine
    cluster = cluster_settings(settings, nodes=args.nodes, heap=args.es_heap)
    was_running = es_service.status(cluster)[1]
    begun = time.perf_counter()
    print(es_service.up(cluster))
    cluster_up_s = time.perf_counter() - begun
    es = make_client(cluster, purpose="indexer")
    log = cluster.var_dir / "processes.log"
    try:
        options = ReindexOptions.from_settings(cluster)
        reindex(engine=engine, client=es, alias=cluster.index_alias, options=options)
        rebuild_frequencies(population)
        es.cluster.health(wait_for_status="green", timeout=f"{DEADLINE_S:.0f}s")
        header = print_header(
            "node_loss.py",
            children=args.children,
            fields={
                **population.header_fields(),
                "cluster": "running" if was_running else "started",
                "nodes": args.nodes,
                "replicas": cluster.effective_index_replicas(),
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "es_heap": es_heap(es),
            },
        )
        search = search_phase(args, cluster, engine, es, log)
        sync = sync_phase(args, cluster, engine, es, log)
        rebuilt = reindex_phase(cluster, engine, es)
    finally:
        es.close()
        if not was_running:
            print(es_service.down(cluster))
    latency = search["latency_s"]
    print(f"cluster of {args.nodes} nodes up in {cluster_up_s:.1f} s")
    print(
        f"search: {search['searches']} searches at concurrency {args.concurrency}, "
        f"{search['failed']} failed, {search['leaks']} shielded children found by postcode; "
        f"killed {search['loss']['node']}, back green {search['loss']['green_s']:.1f} s "
        "after its start"
    )
    for name in ("before", "during", "after"):
        if latency[name] is not None:
            cuts = latency[name]
            print(
                f"  {name:>6}: p50 {cuts['p50'] * 1000:.0f} ms, p95 {cuts['p95'] * 1000:.0f} ms, "
                f"p99 {cuts['p99'] * 1000:.0f} ms"
            )
    print(
        f"sync: {sync['changes']} changes committed to {sync['children_changed']} children, "
        f"{sync['lost']} lost, "
        f"caught up {sync['caught_up_s']:.1f} s after the last write; killed "
        f"{sync['loss']['node']}, back green {sync['loss']['green_s']:.1f} s after its start"
    )
    print(
        f"reindex: node killed during the build: {rebuilt['killed_during_build']}; "
        f"{'completed' if rebuilt['completed'] else 'failed: ' + rebuilt['error'][:120]}; "
        f"alias kept or moved whole: {rebuilt['alias_kept_or_moved_whole']}; the reindex after "
        f"the return: {rebuilt['second_reindex_documents']} documents, "
        f"complete: {rebuilt['second_reindex_complete']}"
    )
    write_report(
        args.json,
        {
            "header": header,
            "cluster_up_s": cluster_up_s,
            "search": search,
            "sync": sync,
            "reindex": rebuilt,
        },
    )
    failed = (
        search["failed"]
        or search["leaks"]
        or sync["lost"]
        or not rebuilt["alias_kept_or_moved_whole"]
        or not rebuilt["second_reindex_complete"]
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
