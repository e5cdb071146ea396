"""The project-local Elasticsearch node: fetch from Maven, configure security, start, stop."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
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
# How many nodes `up` last started (settings.local_es_nodes reads it).
CLUSTER_FILE = "cluster.json"
# The file realm and the roles: the same on every node, written on node 1 and copied.
SECURITY_FILES = ("users", "users_roles", "roles.yml", ALIASES_FILE)

# Purpose in settings/secrets → (file-realm user name, role).
USERS = {
    "admin": ("contactpoint_es_admin", "superuser"),
    "indexer": ("contactpoint_indexer", "contactpoint_indexer"),
    "api": ("contactpoint_api", "contactpoint_search"),
}


@dataclass(frozen=True, slots=True)
class Paths:
    """Where one node of the local cluster keeps its things; `root` and `home` are shared.

    Node 1 keeps the single node's layout (config, data, logs under `root`), so a one-node stack
    of before is the first node of a cluster; node N > 1 keeps its own under `root/node-N`.
    """

    root: Path
    home: Path
    config: Path
    data: Path
    logs: Path
    pid: Path
    launcher_log: Path
    tmp: Path
    downloads: Path
    number: int = 1

    @classmethod
    def of(cls, settings: Settings, number: int = 1) -> Paths:
        root = (settings.var_dir / "elasticsearch").resolve()
        own = root if number == 1 else root / f"node-{number}"
        return cls(
            root=root,
            home=root / f"elasticsearch-{ELASTICSEARCH_VERSION}",
            config=own / "config",
            data=own / "data",
            logs=own / "logs",
            pid=own / "elasticsearch.pid",
            launcher_log=own / "launcher.log",
            tmp=own / "tmp",
            downloads=settings.downloads_dir.resolve(),
            number=number,
        )

    @property
    def name(self) -> str:
        return f"contactpoint-local-{self.number}"


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the local cluster: its folders and its two ports."""

    paths: Paths
    http_port: int
    transport_port: int


def nodes_of(settings: Settings, count: int | None = None) -> list[Node]:
    """The nodes of the local cluster (`count` of them, by default as the settings say)."""
    total = settings.local_es_nodes() if count is None else count
    return [
        Node(
            paths=Paths.of(settings, number),
            http_port=settings.es_port + number - 1,
            transport_port=settings.es_transport_port + number - 1,
        )
        for number in range(1, total + 1)
    ]


def _recorded_nodes(root: Path) -> int | None:
    try:
        recorded = json.loads((root / CLUSTER_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    nodes = recorded.get("nodes") if isinstance(recorded, dict) else None
    return nodes if isinstance(nodes, int) else None


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


def _write_config(settings: Settings, node: Node, cluster: list[Node], *, fresh: bool) -> None:
    """The node's elasticsearch.yml and heap. One node: single-node discovery; several: they
    find each other on the loopback, and a fresh cluster is bootstrapped from all of them."""
    paths = node.paths
    if not paths.config.is_dir():
        shutil.copytree(paths.home / "config", paths.config)
    for directory in (paths.data, paths.logs, paths.tmp):
        directory.mkdir(parents=True, exist_ok=True)
    if len(cluster) == 1:
        discovery = ["discovery.type: single-node"]
    else:
        seeds = json.dumps([f"{settings.pg_host}:{other.transport_port}" for other in cluster])
        discovery = [f"discovery.seed_hosts: {seeds}"]
        if fresh:
            # Only while the cluster has never formed: afterwards the nodes keep its state.
            names = json.dumps([other.paths.name for other in cluster])
            discovery.append(f"cluster.initial_master_nodes: {names}")
    (paths.config / "elasticsearch.yml").write_text(
        "\n".join(
            [
                "# Written by `contactpoint services up`; edits are overwritten.",
                "cluster.name: contactpoint-local",
                f"node.name: {paths.name}",
                f"network.host: {settings.pg_host}",
                f"http.port: {node.http_port}",
                f"transport.port: {node.transport_port}",
                *discovery,
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


def _sync_security(settings: Settings, cluster: list[Node]) -> None:
    """Copy node 1's users and roles to the other nodes (each node reloads them by itself)."""
    first = cluster[0].paths.config
    for node in cluster[1:]:
        for name in SECURITY_FILES:
            source = first / name
            if source.is_file():
                target = node.paths.config / name
                if not target.is_file() or target.read_bytes() != source.read_bytes():
                    shutil.copy2(source, target)
                    system.chown_tree(target, settings.service_user)


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


def _has_privileges(settings: Settings, port: int, purpose: str, probe: dict[str, Any]) -> bool:
    try:
        response = httpx.post(
            f"http://{settings.pg_host}:{port}/_security/user/_has_privileges",
            json=probe,
            auth=_credentials(settings, purpose),
            timeout=5.0,
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and bool(response.json().get("has_all_requested"))


def _wait_for_roles(settings: Settings, cluster: list[Node]) -> None:
    """Until every running node has reloaded roles.yml: the indexer may manage the alias's
    indices and the API read the alias. Both are asked: the indexer's wildcard of another alias
    can cover this one's indices already ("children-*" of the default alias "children" covers
    "children-bench-v0-probe"), so only the API's exact name shows that the file was read."""
    alias = settings.index_alias
    manage = {"index": [{"names": [f"{alias}-v0-probe"], "privileges": ["manage"]}]}
    read = {"index": [{"names": [alias], "privileges": ["read"]}]}
    deadline = time.monotonic() + ROLES_RELOAD_TIMEOUT_S
    waiting = [node for node in cluster if system.read_pid(node.paths.pid) is not None]
    while waiting and time.monotonic() < deadline:
        waiting = [
            node
            for node in waiting
            if not (
                _has_privileges(settings, node.http_port, "indexer", manage)
                and _has_privileges(settings, node.http_port, "api", read)
            )
        ]
        if waiting:
            time.sleep(0.5)
    if waiting:
        raise ServiceError(
            f"Elasticsearch ({', '.join(node.paths.name for node in waiting)}) did not take up "
            f"the roles for the alias {alias!r} within {ROLES_RELOAD_TIMEOUT_S:.0f} s"
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


def _cluster_health(
    settings: Settings, ports: list[int], *, timeout: float = 5.0
) -> dict[str, Any] | None:
    """The cluster's health as the first node that answers gives it, or None when none does."""
    auth = _credentials(settings, "admin")
    for port in ports:
        try:
            response = httpx.get(
                f"http://{settings.pg_host}:{port}/_cluster/health", auth=auth, timeout=timeout
            )
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            health: dict[str, Any] = response.json()
            return health
    return None


def _health(settings: Settings, port: int, *, timeout: float = 5.0) -> str | None:
    """The health status ("green", "yellow", "red") as one node sees it, or None."""
    health = _cluster_health(settings, [port], timeout=timeout)
    return None if health is None else str(health.get("status", "red"))


def _log_tail(paths: Paths, lines: int = 15) -> str:
    texts: list[str] = []
    for candidate in (paths.launcher_log, paths.logs / "contactpoint-local.log"):
        try:
            texts.extend(candidate.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            continue
    return "\n".join(texts[-lines:])


def _launch(settings: Settings, node: Node, jdk: Path) -> None:
    """Start one node as the service user, daemonised; returns once its launcher has."""
    paths = node.paths
    for port in (node.http_port, node.transport_port):
        if not system.port_is_free(settings.pg_host, port):
            raise ServiceError(
                f"port {settings.pg_host}:{port} is taken by another program; "
                "set ES_PORT / ES_TRANSPORT_PORT to free ports"
            )
    env = {
        "ES_JAVA_HOME": str(jdk),
        "ES_PATH_CONF": str(paths.config),
        "ES_TMPDIR": str(paths.tmp),
    }
    paths.tmp.mkdir(parents=True, exist_ok=True)
    log.info(
        "starting Elasticsearch %s (%s) on %s:%s",
        ELASTICSEARCH_VERSION,
        paths.name,
        settings.pg_host,
        node.http_port,
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
            f"Elasticsearch ({paths.name}) did not start (exit {result.returncode}); "
            f"log:\n{_log_tail(paths)}"
        )


def _start(settings: Settings, cluster: list[Node], starting: list[Node], jdk: Path) -> None:
    """Start `starting` together (a new cluster forms only once a majority runs), then wait
    until the cluster has every node and its health is yellow or green."""
    system.chown_tree(cluster[0].paths.root, settings.service_user)
    errors: list[BaseException] = []

    def launch(node: Node) -> None:
        try:
            _launch(settings, node, jdk)
        except BaseException as exc:  # noqa: BLE001 (reported below, for every node)
            errors.append(exc)

    threads = [threading.Thread(target=launch, args=(node,)) for node in starting]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    ports = [node.http_port for node in cluster]
    deadline = time.monotonic() + settings.es_start_timeout_s
    grace = time.monotonic() + 20
    while time.monotonic() < deadline:
        health = _cluster_health(settings, ports)
        if (
            health is not None
            and health.get("status") in ("green", "yellow")
            and health.get("number_of_nodes") == len(cluster)
        ):
            return
        for node in starting:
            if system.read_pid(node.paths.pid) is None and time.monotonic() > grace:
                raise ServiceError(
                    f"Elasticsearch ({node.paths.name}) exited during start-up; "
                    f"log:\n{_log_tail(node.paths)}"
                )
        time.sleep(1.0)
    raise ServiceError(
        f"Elasticsearch was not healthy with {len(cluster)} node(s) within "
        f"{settings.es_start_timeout_s:.0f} s; log:\n{_log_tail(starting[0].paths)}"
    )


def up(settings: Settings) -> str:
    """Fetch, configure and start the local node, or the local cluster of ES_NODES nodes
    (unless ELASTICSEARCH_URL is set); a node of the cluster that is down is started again."""
    if settings.elasticsearch_url is not None:
        return "elasticsearch: ELASTICSEARCH_URL is set; using that cluster, nothing started"
    first = Paths.of(settings)
    recorded = _recorded_nodes(first.root)
    count = settings.es_nodes or recorded or 1
    if recorded is not None and count < recorded:
        raise ServiceError(
            f"the local Elasticsearch cluster has {recorded} nodes and its indices may be on any "
            f"of them; start {recorded}, or remove {first.root} to begin again with {count}"
        )
    cluster = nodes_of(settings, count)
    running = [node for node in cluster if system.read_pid(node.paths.pid) is not None]
    if count > (recorded or 1) and running:
        # A running node keeps the discovery it started with (a single node's admits nobody).
        raise ServiceError(
            f"the local Elasticsearch runs with {recorded or 1} node(s): stop it "
            f"(`services down`), then start {count}"
        )
    starting: list[Node] = []
    for node in cluster:
        pid = system.read_pid(node.paths.pid)
        if pid is None:
            starting.append(node)
        elif _health(settings, node.http_port) is None:
            raise ServiceError(
                f"Elasticsearch ({node.paths.name}, pid {pid}) runs but does not answer; "
                f"see {node.paths.logs}"
            )
    if starting:
        jdk = find_jdk(settings)
        system.ensure_service_user(settings.service_user)
        system.make_reachable(settings.var_dir)
        first.root.mkdir(parents=True, exist_ok=True)
        if not (first.home / "bin" / "elasticsearch").is_file():
            _unpack(_download(first), first)
        fresh = not any(
            node.paths.data.is_dir() and any(node.paths.data.iterdir()) for node in cluster
        )
        for node in starting:
            _write_config(settings, node, cluster, fresh=fresh)
        _grant_alias(settings, first)
        system.chown_tree(first.root, settings.service_user)
        _ensure_users(settings, first, jdk)
        _sync_security(settings, cluster)
        (first.root / CLUSTER_FILE).write_text(json.dumps({"nodes": count}) + "\n")
        _start(settings, cluster, starting, jdk)
    if _grant_alias(settings, first) or starting != cluster:
        # Started for another alias, or beside running nodes: they reload roles.yml by themselves.
        _sync_security(settings, cluster)
        _wait_for_roles(settings, cluster)
    return (
        "elasticsearch: "
        + "; ".join(
            f"{node.paths.name} running (pid {system.read_pid(node.paths.pid)}) on "
            f"http://{settings.pg_host}:{node.http_port}"
            for node in cluster
        )
        + f"; {ELASTICSEARCH_VERSION}, security on, logs {first.logs}"
    )


def down(settings: Settings) -> str:
    """Stop the nodes that `up` started, by the pids they wrote (the last node first)."""
    if settings.elasticsearch_url is not None:
        return "elasticsearch: ELASTICSEARCH_URL is set; nothing to stop"
    stopped: list[str] = []
    for node in reversed(nodes_of(settings)):
        pid = system.read_pid(node.paths.pid)
        if pid is None:
            continue
        if not system.stop_pid(pid, sig=signal.SIGTERM, timeout=60):
            raise ServiceError(f"elasticsearch ({node.paths.name}, pid {pid}) did not stop")
        stopped.append(f"pid {pid}")
    if not stopped:
        return "elasticsearch: not running"
    return f"elasticsearch: stopped ({', '.join(stopped)})"


def status(settings: Settings) -> tuple[str, bool]:
    """A status line and whether the cluster is healthy (every node up, yellow or green)."""
    if settings.elasticsearch_url is not None:
        return _external_status(settings)
    cluster = nodes_of(settings)
    pids = {node.paths.name: system.read_pid(node.paths.pid) for node in cluster}
    running = [node for node in cluster if pids[node.paths.name] is not None]
    if not running:
        return f"elasticsearch: not running (would listen on {settings.es_port})", False
    health = _cluster_health(settings, [node.http_port for node in running])
    state = "unreachable" if health is None else str(health.get("status", "red"))
    where = ", ".join(
        f"{node.paths.name} pid {pids[node.paths.name] or 'down'} "
        f"http://{settings.pg_host}:{node.http_port}"
        for node in cluster
    )
    if len(cluster) > 1 and health is not None:
        state += f", {health.get('number_of_nodes')} of {len(cluster)} nodes"
    healthy = (
        health is not None
        and health.get("status") in ("green", "yellow")
        and len(running) == len(cluster)
    )
    return f"elasticsearch: {'healthy' if healthy else 'unhealthy'} ({state}; {where})", healthy


def _external_status(settings: Settings) -> tuple[str, bool]:
    from elasticsearch import Elasticsearch
    from elasticsearch import exceptions as es_exceptions

    urls = settings.effective_elasticsearch_urls()
    url = ", ".join(urls)
    client = Elasticsearch(urls, **settings.elasticsearch_credentials(purpose="indexer"))
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
