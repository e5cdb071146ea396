"""The project-local Elasticsearch node: fetch from Maven, configure security, start, stop."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from contactpoint.services import _system as system
from contactpoint.services._system import ServiceError
from contactpoint.settings import ELASTICSEARCH_VERSION, Settings

log = logging.getLogger(__name__)

MAVEN_ARTIFACT = (
    f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ELASTICSEARCH_VERSION}:zip"
)
MIN_JAVA = 21

# Least privilege: the API reads through the alias only; the indexer manages its indices.
ROLES_YML = """\
contactpoint_search:
  cluster: []
  indices:
    - names: {read}
      privileges: ["read"]
contactpoint_indexer:
  cluster: ["monitor"]
  indices:
    - names: {manage}
      privileges: ["create_index", "delete_index", "manage", "read", "write", "view_index_metadata"]
"""
# Every alias that a program of this project has used on the node (the demo's, a benchmark's):
# one node serves them all, so the roles name them all.
ALIASES_FILE = "contactpoint-aliases"
ROLES_RELOAD_TIMEOUT_S = 30.0

# Purpose in settings/secrets → (file-realm user name, role).
USERS = {
    "admin": ("contactpoint_es_admin", "superuser"),
    "indexer": ("contactpoint_indexer", "contactpoint_indexer"),
    "api": ("contactpoint_api", "contactpoint_search"),
}


@dataclass(frozen=True, slots=True)
class Paths:
    root: Path
    home: Path
    config: Path
    data: Path
    logs: Path
    pid: Path
    launcher_log: Path
    downloads: Path

    @classmethod
    def of(cls, settings: Settings) -> Paths:
        root = (settings.var_dir / "elasticsearch").resolve()
        return cls(
            root=root,
            home=root / f"elasticsearch-{ELASTICSEARCH_VERSION}",
            config=root / "config",
            data=root / "data",
            logs=root / "logs",
            pid=root / "elasticsearch.pid",
            launcher_log=root / "launcher.log",
            downloads=settings.downloads_dir.resolve(),
        )


def _java_major(java_home: Path) -> int | None:
    try:
        release = (java_home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', release, re.MULTILINE)
    if match is None or not (java_home / "bin" / "java").is_file():
        return None
    return int(match.group(1))


def find_jdk(settings: Settings, *, jvm_root: Path = Path("/usr/lib/jvm")) -> Path:
    """A JDK of Java 21 or newer: ES_JAVA_HOME, JAVA_HOME, then those under jvm_root."""
    candidates: list[Path] = []
    for explicit in (settings.es_java_home, os.environ.get("ES_JAVA_HOME")):
        if explicit:
            candidates.append(Path(explicit))
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    if jvm_root.is_dir():
        candidates.extend(sorted(jvm_root.iterdir(), reverse=True))
    seen: list[str] = []
    for candidate in candidates:
        major = _java_major(candidate)
        seen.append(f"{candidate} ({major or 'not a JDK'})")
        if major is not None and major >= MIN_JAVA:
            return candidate
    raise ServiceError(
        f"no JDK of Java {MIN_JAVA} or newer found for Elasticsearch (looked at: "
        f"{', '.join(seen) or 'nothing'}); install one or set ES_JAVA_HOME"
    )


def _download(paths: Paths) -> Path:
    archive = paths.downloads / f"elasticsearch-{ELASTICSEARCH_VERSION}.zip"
    if archive.is_file() and zipfile.is_zipfile(archive):
        return archive
    mvn = system.which("mvn")
    if mvn is None:
        raise ServiceError("Maven (mvn) is needed to fetch Elasticsearch; install maven")
    paths.downloads.mkdir(parents=True, exist_ok=True)
    log.info("fetching %s with Maven", MAVEN_ARTIFACT)
    try:
        system.run(
            [
                mvn,
                "-B",
                "-q",
                "dependency:copy",
                f"-Dartifact={MAVEN_ARTIFACT}",
                f"-DoutputDirectory={paths.downloads}",
                "-Dmdep.useBaseVersion=true",
                "-Dmdep.overWriteReleases=true",
            ],
            cwd=paths.downloads,
            timeout=1200,
        )
    except ServiceError as exc:
        raise ServiceError(
            f"download of Elasticsearch {ELASTICSEARCH_VERSION} failed: {exc}"
        ) from exc
    if not zipfile.is_zipfile(archive):
        raise ServiceError(f"download of Elasticsearch left no valid archive at {archive}")
    return archive


def _unpack(archive: Path, paths: Paths) -> None:
    log.info("unpacking %s", archive.name)
    staging = paths.root / ".unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = Path(zf.extract(info, staging))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
    (staging / paths.home.name).rename(paths.home)
    staging.rmdir()


def _write_config(settings: Settings, paths: Paths) -> None:
    if not paths.config.is_dir():
        shutil.copytree(paths.home / "config", paths.config)
    for directory in (paths.data, paths.logs):
        directory.mkdir(parents=True, exist_ok=True)
    (paths.config / "elasticsearch.yml").write_text(
        "\n".join(
            [
                "# Written by `contactpoint services up`; edits are overwritten.",
                "cluster.name: contactpoint-local",
                "node.name: contactpoint-local-1",
                f"network.host: {settings.pg_host}",
                f"http.port: {settings.es_port}",
                f"transport.port: {settings.es_transport_port}",
                "discovery.type: single-node",
                f"path.data: {paths.data}",
                f"path.logs: {paths.logs}",
                "xpack.security.enabled: true",
                # Loopback only; a cluster that users run themselves takes a CA certificate.
                "xpack.security.http.ssl.enabled: false",
                "xpack.security.transport.ssl.enabled: false",
                "action.destructive_requires_name: true",
                # Indices are made only on purpose (the reindex, with the mapping): a write to an
                # index that a failed reindex has deleted is refused, never a stray index.
                "action.auto_create_index: false",
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "",
            ]
        )
    )
    heap = settings.es_heap
    (paths.config / "jvm.options.d").mkdir(exist_ok=True)
    (paths.config / "jvm.options.d" / "heap.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")
    _grant_alias(settings, paths)


def _grant_alias(settings: Settings, paths: Paths) -> bool:
    """Name the settings' alias in the roles (with the others used before); whether it changed."""
    known = paths.config / ALIASES_FILE
    roles = paths.config / "roles.yml"
    if known.is_file():
        aliases = set(known.read_text().split())
    elif roles.is_file():
        # Written before the aliases were listed: the aliases are the names without a wildcard.
        lines = [line for line in roles.read_text().splitlines() if "names:" in line]
        aliases = {name for name in re.findall(r'"([^"]+)"', "\n".join(lines)) if "*" not in name}
    else:
        aliases = set()
    if settings.index_alias in aliases and roles.is_file() and known.is_file():
        return False
    aliases.add(settings.index_alias)
    ordered = sorted(aliases)
    read = json.dumps(ordered)
    manage = json.dumps([name for alias in ordered for name in (alias, f"{alias}-*")])
    roles.write_text(ROLES_YML.format(read=read, manage=manage))
    known.write_text("\n".join(ordered) + "\n")
    return True


def _has_privileges(settings: Settings, purpose: str, probe: dict[str, Any]) -> bool:
    try:
        response = httpx.post(
            f"http://{settings.pg_host}:{settings.es_port}/_security/user/_has_privileges",
            json=probe,
            auth=_credentials(settings, purpose),
            timeout=5.0,
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and bool(response.json().get("has_all_requested"))


def _wait_for_roles(settings: Settings) -> None:
    """Until the running node has reloaded roles.yml: the indexer may manage the alias's indices
    and the API read the alias. Both are asked: the indexer's wildcard of another alias can
    cover this one's indices already ("children-*" of the default alias "children" covers
    "children-bench-v0-probe"), so only the API's exact name shows that the file was read."""
    alias = settings.index_alias
    manage = {"index": [{"names": [f"{alias}-v0-probe"], "privileges": ["manage"]}]}
    read = {"index": [{"names": [alias], "privileges": ["read"]}]}
    deadline = time.monotonic() + ROLES_RELOAD_TIMEOUT_S
    while time.monotonic() < deadline:
        if _has_privileges(settings, "indexer", manage) and _has_privileges(settings, "api", read):
            return
        time.sleep(0.5)
    raise ServiceError(
        f"Elasticsearch did not take up the roles for the alias {alias!r} "
        f"within {ROLES_RELOAD_TIMEOUT_S:.0f} s"
    )


def _existing_users(paths: Paths) -> set[str]:
    try:
        lines = (paths.config / "users").read_text().splitlines()
    except FileNotFoundError:
        return set()
    return {line.split(":", 1)[0] for line in lines if ":" in line}


def _ensure_users(settings: Settings, paths: Paths, jdk: Path) -> None:
    """File-realm users with generated passwords, kept in the secrets file."""
    secrets = system.load_secrets(settings.secrets_file)
    es_secrets: dict[str, dict[str, str]] = secrets.setdefault("elasticsearch", {})
    existing = _existing_users(paths)
    env = {"ES_JAVA_HOME": str(jdk), "ES_PATH_CONF": str(paths.config)}
    tool = str(paths.home / "bin" / "elasticsearch-users")
    for purpose, (username, role) in USERS.items():
        entry = es_secrets.get(purpose)
        if entry is not None and entry.get("username") == username and username in existing:
            continue
        password = system.new_password()
        if username in existing:
            argv = [tool, "passwd", username, "-p", password]
        else:
            argv = [tool, "useradd", username, "-p", password, "-r", role]
        system.run(system.as_service_user(settings.service_user, argv), env=env, timeout=120)
        es_secrets[purpose] = {"username": username, "password": password}
        system.save_secrets(settings.secrets_file, secrets)


def _credentials(settings: Settings, purpose: str) -> tuple[str, str] | None:
    entry = system.load_secrets(settings.secrets_file).get("elasticsearch", {}).get(purpose)
    if entry is None:
        return None
    return entry["username"], entry["password"]


def _health(settings: Settings, *, timeout: float = 5.0) -> str | None:
    """The cluster health status ("green", "yellow", "red"), or None when unreachable."""
    auth = _credentials(settings, "admin")
    try:
        response = httpx.get(
            f"http://{settings.pg_host}:{settings.es_port}/_cluster/health",
            auth=auth,
            timeout=timeout,
        )
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    status: str = response.json().get("status", "red")
    return status


def _log_tail(paths: Paths, lines: int = 15) -> str:
    texts: list[str] = []
    for candidate in (paths.launcher_log, paths.logs / "contactpoint-local.log"):
        try:
            texts.extend(candidate.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            continue
    return "\n".join(texts[-lines:])


def _start(settings: Settings, paths: Paths, jdk: Path) -> None:
    for port in (settings.es_port, settings.es_transport_port):
        if not system.port_is_free(settings.pg_host, port):
            raise ServiceError(
                f"port {settings.pg_host}:{port} is taken by another program; "
                "set ES_PORT / ES_TRANSPORT_PORT to free ports"
            )
    env = {
        "ES_JAVA_HOME": str(jdk),
        "ES_PATH_CONF": str(paths.config),
        "ES_TMPDIR": str(paths.root / "tmp"),
    }
    (paths.root / "tmp").mkdir(exist_ok=True)
    system.chown_tree(paths.root, settings.service_user)
    log.info(
        "starting Elasticsearch %s on %s:%s",
        ELASTICSEARCH_VERSION,
        settings.pg_host,
        settings.es_port,
    )
    argv = [str(paths.home / "bin" / "elasticsearch"), "-d", "-p", str(paths.pid)]
    with paths.launcher_log.open("w") as out:
        result = subprocess.run(
            system.as_service_user(settings.service_user, argv),
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=settings.es_start_timeout_s,
            check=False,
        )
    if result.returncode != 0:
        raise ServiceError(
            f"Elasticsearch did not start (exit {result.returncode}); log:\n{_log_tail(paths)}"
        )
    deadline = time.monotonic() + settings.es_start_timeout_s
    while time.monotonic() < deadline:
        if _health(settings) in ("green", "yellow"):
            return
        if system.read_pid(paths.pid) is None and time.monotonic() > deadline - (
            settings.es_start_timeout_s - 20
        ):
            raise ServiceError(f"Elasticsearch exited during start-up; log:\n{_log_tail(paths)}")
        time.sleep(1.0)
    raise ServiceError(
        f"Elasticsearch was not healthy within {settings.es_start_timeout_s:.0f} s; "
        f"log:\n{_log_tail(paths)}"
    )


def up(settings: Settings) -> str:
    """Fetch, configure and start the local node (unless ELASTICSEARCH_URL is set)."""
    if settings.elasticsearch_url is not None:
        return "elasticsearch: ELASTICSEARCH_URL is set; using that cluster, nothing started"
    paths = Paths.of(settings)
    pid = system.read_pid(paths.pid)
    if pid is None or _health(settings) is None:
        if pid is not None:
            raise ServiceError(
                f"Elasticsearch (pid {pid}) runs but is not healthy; see {paths.logs}"
            )
        jdk = find_jdk(settings)
        system.ensure_service_user(settings.service_user)
        system.make_reachable(settings.var_dir)
        paths.root.mkdir(parents=True, exist_ok=True)
        if not (paths.home / "bin" / "elasticsearch").is_file():
            _unpack(_download(paths), paths)
        _write_config(settings, paths)
        system.chown_tree(paths.root, settings.service_user)
        _ensure_users(settings, paths, jdk)
        _start(settings, paths, jdk)
        pid = system.read_pid(paths.pid)
    elif _grant_alias(settings, paths):
        # Started for another alias: the node reloads roles.yml within seconds.
        _wait_for_roles(settings)
    return (
        f"elasticsearch: running (pid {pid}) {ELASTICSEARCH_VERSION} on "
        f"http://{settings.pg_host}:{settings.es_port}, security on, logs {paths.logs}"
    )


def down(settings: Settings) -> str:
    """Stop the node that `up` started, by the pid it wrote."""
    if settings.elasticsearch_url is not None:
        return "elasticsearch: ELASTICSEARCH_URL is set; nothing to stop"
    paths = Paths.of(settings)
    pid = system.read_pid(paths.pid)
    if pid is None:
        return "elasticsearch: not running"
    if not system.stop_pid(pid, sig=signal.SIGTERM, timeout=60):
        raise ServiceError(f"elasticsearch (pid {pid}) did not stop")
    return f"elasticsearch: stopped (pid {pid})"


def status(settings: Settings) -> tuple[str, bool]:
    """A status line and whether the cluster is healthy."""
    if settings.elasticsearch_url is not None:
        return _external_status(settings)
    paths = Paths.of(settings)
    pid = system.read_pid(paths.pid)
    if pid is None:
        return f"elasticsearch: not running (would listen on {settings.es_port})", False
    health = _health(settings)
    where = f"http://{settings.pg_host}:{settings.es_port}"
    if health in ("green", "yellow"):
        return f"elasticsearch: healthy ({health}; pid {pid}, {where})", True
    return f"elasticsearch: unhealthy ({health or 'unreachable'}; pid {pid}, {where})", False


def _external_status(settings: Settings) -> tuple[str, bool]:
    from elasticsearch import Elasticsearch
    from elasticsearch import exceptions as es_exceptions

    url = settings.effective_elasticsearch_url()
    client = Elasticsearch(url, **settings.elasticsearch_credentials(purpose="indexer"))
    try:
        health = client.cluster.health(timeout="5s")
    except es_exceptions.ApiError as exc:
        return f"elasticsearch: answered {exc.meta.status} at {url}", False
    except es_exceptions.TransportError as exc:
        return f"elasticsearch: unreachable at {url}: {exc}", False
    finally:
        client.close()
    state = str(health.get("status"))
    return f"elasticsearch: {state} at {url}", state in ("green", "yellow")
