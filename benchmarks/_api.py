"""The API under uvicorn on a free loopback port, for the benchmarks that search through it."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping

import httpx
from sqlalchemy import Engine, text


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_api(port: int, workers: int) -> subprocess.Popen[bytes]:
    """`searchapi.main:create_app` under uvicorn with `workers` processes, once it answers."""
    command = [sys.executable, "-m", "uvicorn", "searchapi.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--log-level", "warning"]
    process = subprocess.Popen(command)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503):
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the API did not start")


def stop_api(process: subprocess.Popen[bytes] | None) -> None:
    """Stop the API that `start_api` started (nothing when it never started)."""
    if process is not None:
        process.terminate()
        process.wait(timeout=30)


_LISTENERS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND query LIKE 'LISTEN %'"
)


def start_indexer(engine: Engine) -> subprocess.Popen[bytes]:
    """`contactpoint indexer run`, once it listens for the outbox's notifications."""
    with engine.connect() as connection:
        before = int(connection.execute(text(_LISTENERS)).scalar_one())
    indexer = subprocess.Popen(
        [sys.executable, "-m", "contactpoint", "indexer", "run"], stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if indexer.poll() is not None:
            raise SystemExit(f"the indexer exited with {indexer.returncode} before listening")
        with engine.connect() as connection:
            if int(connection.execute(text(_LISTENERS)).scalar_one()) > before:
                return indexer
        time.sleep(0.1)
    indexer.terminate()
    raise SystemExit("the indexer did not start listening within 120 s")


def thread_clients(port: int, headers: Mapping[str, str]) -> Callable[[], httpx.Client]:
    """Each calling thread's own client of the API on `port`, sending `headers`."""
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                base_url=f"http://127.0.0.1:{port}", headers=dict(headers), timeout=30
            )
        found: httpx.Client = local.client
        return found

    return client
