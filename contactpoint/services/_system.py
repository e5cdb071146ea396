"""Operating-system plumbing for the local servers: the service user, pids, ports, secrets."""

from __future__ import annotations

import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    """A local server could not be installed, started or stopped; the message says why."""


def is_root() -> bool:
    return os.geteuid() == 0


def ensure_service_user(name: str) -> None:
    """Create the dedicated system user that runs the servers (they refuse to run as root)."""
    if not is_root():
        return
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    log.info("creating system user %s", name)
    run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name])


def owner_ids(name: str) -> tuple[int, int]:
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def chown_tree(path: Path, user: str) -> None:
    """Give the service user a directory tree (only when running as root)."""
    if not is_root():
        return
    uid, gid = owner_ids(user)
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


def make_reachable(path: Path) -> None:
    """Let the service user traverse every ancestor of `path` (adds o+x only where missing).

    A checkout in a private temporary folder (mode 0700) is otherwise unreachable for it.
    """
    if not is_root():
        return
    for parent in [path.resolve(), *path.resolve().parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.info("adding o+x to %s so the service user can reach its data", parent)
            os.chmod(parent, mode | stat.S_IXOTH)


def as_service_user(user: str, argv: Sequence[str]) -> list[str]:
    """The command line that runs argv as the service user (unchanged when not root)."""
    if not is_root():
        return list(argv)
    return ["runuser", "-u", user, "--", *argv]


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = 600.0,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command; raise ServiceError with its output when it fails."""
    full_env = {**os.environ, **(env or {})}
    try:
        result = subprocess.run(
            list(argv),
            env=full_env,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ServiceError(f"command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(f"{argv[0]} did not finish within {timeout:.0f} s") from exc
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-2000:]
        raise ServiceError(f"{' '.join(argv[:3])} failed (exit {result.returncode}): {output}")
    return result


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(path: Path) -> int | None:
    """The pid in a pid file (first line), or None when absent or stale."""
    try:
        pid = int(path.read_text().splitlines()[0].strip())
    except (FileNotFoundError, IndexError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def stop_pid(pid: int, *, sig: signal.Signals, timeout: float) -> bool:
    """Send `sig` and wait for the process to end; SIGKILL after `timeout`. True if it ended."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.2)
    log.warning("pid %s did not stop within %.0f s; killing it", pid, timeout)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    time.sleep(0.5)
    return not pid_alive(pid)


def new_password() -> str:
    return secrets.token_urlsafe(24)


def load_secrets(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return data


def save_secrets(path: Path, data: Mapping[str, Any]) -> None:
    """Write the generated credentials, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


def which(name: str) -> str | None:
    return shutil.which(name)
