"""The API under uvicorn on a free loopback port, for the benchmarks that search through it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


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
