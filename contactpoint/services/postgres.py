"""The project-local PostgreSQL 15 cluster: install, initdb, start, stop, status."""

from __future__ import annotations

import logging
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

from contactpoint.services import _system as system
from contactpoint.services._system import ServiceError
from contactpoint.settings import POSTGRES_MAJOR, Settings
from db.audit.seal import new_private_key

log = logging.getLogger(__name__)

ADMIN_ROLE = "contactpoint_admin"
OWNER_ROLE = "contactpoint_owner"
APP_ROLE = "contactpoint_app"
# The streaming standby (`services up --pg-standby`): the role it replicates as, and the name
# (application_name and replication slot) that the primary's synchronous commit waits for.
REPLICATION_ROLE = "contactpoint_replicator"
STANDBY_NAME = "contactpoint_standby"
# Left in the old primary's folder by `services promote-standby`: it must never start again as
# a primary beside the promoted one.
FAILED_OVER = "FAILED_OVER"

# Tuned for bulk loads on a 2-core, 24 GiB machine; durability settings stay at their defaults.
SERVER_OPTIONS = {
    "shared_buffers": "512MB",
    "maintenance_work_mem": "512MB",
    "work_mem": "32MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "max_connections": "200",
    "log_min_duration_statement": "2000",
}


@dataclass(frozen=True, slots=True)
class Paths:
    root: Path
    data: Path
    run: Path
    log: Path

    @classmethod
    def of(cls, settings: Settings) -> Paths:
        root = (settings.var_dir / "postgres").resolve()
        return cls(root=root, data=root / "data", run=root / "run", log=root / "postgres.log")

    @classmethod
    def standby_of(cls, settings: Settings) -> Paths:
        root = (settings.var_dir / "postgres-standby").resolve()
        return cls(root=root, data=root / "data", run=root / "run", log=root / "postgres.log")


def standby_port(settings: Settings) -> int:
    """The standby's port: PG_STANDBY_PORT, else the one after the primary's."""
    return settings.pg_standby_port or settings.pg_port + 1


def has_standby(settings: Settings) -> bool:
    """Whether a standby of the local primary was made (and not promoted)."""
    paths = Paths.standby_of(settings)
    return (paths.data / "standby.signal").is_file()


def find_bin_dir(settings: Settings) -> Path | None:
    candidates = [settings.pg_bin_dir] if settings.pg_bin_dir else []
    candidates.append(Path(f"/usr/lib/postgresql/{POSTGRES_MAJOR}/bin"))
    for candidate in candidates:
        if candidate is not None and (candidate / "postgres").is_file():
            return candidate
    return None


def ensure_installed(settings: Settings) -> Path:
    """The PostgreSQL 15 server binaries, installed from Debian's packages when missing."""
    found = find_bin_dir(settings)
    if found is not None:
        return found
    if not system.is_root() or system.which("apt-get") is None:
        raise ServiceError(
            f"PostgreSQL {POSTGRES_MAJOR} server not found; install postgresql-{POSTGRES_MAJOR} "
            "or set PG_BIN_DIR or DATABASE_URL"
        )
    log.info("installing postgresql-%s with apt-get", POSTGRES_MAJOR)
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    system.run(["apt-get", "update", "-q"], env=env, timeout=900)
    # Debian's postgresql-15 ships the contrib extensions (pg_trgm, fuzzystrmatch) too.
    system.run(
        [
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            f"postgresql-{POSTGRES_MAJOR}",
        ],
        env=env,
        timeout=1800,
    )
    found = find_bin_dir(settings)
    if found is None:
        raise ServiceError(f"apt-get installed postgresql-{POSTGRES_MAJOR} but no server was found")
    return found


def _pid(paths: Paths) -> int | None:
    # postmaster.pid is PostgreSQL's own pid file: its first line is the postmaster's pid.
    return system.read_pid(paths.data / "postmaster.pid")


def _init_cluster(settings: Settings, paths: Paths, bin_dir: Path, admin_password: str) -> None:
    user = settings.service_user
    paths.root.mkdir(parents=True, exist_ok=True)
    pwfile = paths.root / ".initdb-pw"
    pwfile.write_text(admin_password + "\n")
    system.chown_tree(paths.root, user)
    try:
        log.info("initdb into %s", paths.data)
        system.run(
            system.as_service_user(
                user,
                [
                    str(bin_dir / "initdb"),
                    "--pgdata",
                    str(paths.data),
                    "--username",
                    ADMIN_ROLE,
                    "--pwfile",
                    str(pwfile),
                    "--auth",
                    "scram-sha-256",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C.UTF-8",
                ],
            )
        )
    finally:
        pwfile.unlink(missing_ok=True)


def _start_server(
    settings: Settings, paths: Paths, bin_dir: Path, *, port: int | None = None
) -> None:
    port = settings.pg_port if port is None else port
    options = {
        **SERVER_OPTIONS,
        "port": str(port),
        "listen_addresses": settings.pg_host,
        "unix_socket_directories": str(paths.run),
    }
    opts = " ".join(f"-c {key}={value}" for key, value in options.items())
    paths.run.mkdir(parents=True, exist_ok=True)
    system.chown_tree(paths.run, settings.service_user)
    log.info("starting PostgreSQL on %s:%s (%s)", settings.pg_host, port, paths.data)
    try:
        system.run(
            system.as_service_user(
                settings.service_user,
                [
                    str(bin_dir / "pg_ctl"),
                    "--pgdata",
                    str(paths.data),
                    "--log",
                    str(paths.log),
                    "--options",
                    opts,
                    "--wait",
                    "--timeout",
                    str(int(settings.pg_start_timeout_s)),
                    "start",
                ],
            ),
            timeout=settings.pg_start_timeout_s + 10,
        )
    except ServiceError as exc:
        raise ServiceError(f"PostgreSQL did not start ({exc}); see its log at {paths.log}") from exc


def _bootstrap_roles(settings: Settings, passwords: dict[str, str]) -> None:
    """Create the schema owner and the application's role and database (idempotent)."""
    conn = psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=ADMIN_ROLE,
        password=passwords[ADMIN_ROLE],
        dbname="postgres",
        connect_timeout=5,
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for role in (OWNER_ROLE, APP_ROLE):
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(
                    sql.SQL("{} ROLE {} LOGIN PASSWORD %s").format(
                        sql.SQL(verb), sql.Identifier(role)
                    ),
                    (passwords[role],),
                )
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (settings.pg_database,))
            if cur.fetchone() is None:
                cur.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(settings.pg_database), sql.Identifier(OWNER_ROLE)
                    )
                )
            cur.execute(
                sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(
                    sql.Identifier(settings.pg_database)
                )
            )
            cur.execute(
                sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                    sql.Identifier(settings.pg_database), sql.Identifier(APP_ROLE)
                )
            )
    finally:
        conn.close()


def up(settings: Settings) -> str:
    """Start the local cluster (initdb on first use); return a status line."""
    if settings.database_url is not None:
        return "postgres: DATABASE_URL is set; using that server, nothing started"
    paths = Paths.of(settings)
    secrets = system.load_secrets(settings.secrets_file)
    passwords: dict[str, str] = dict(secrets.get("postgres", {}))
    for role in (ADMIN_ROLE, OWNER_ROLE, APP_ROLE):
        passwords.setdefault(role, system.new_password())
    secrets["postgres"] = passwords
    # The audit sealer's signing key belongs with the database it seals.
    secrets.setdefault("audit_seal", {"private_key": new_private_key()})
    system.save_secrets(settings.secrets_file, secrets)

    if (paths.root / FAILED_OVER).is_file():
        raise ServiceError(
            f"this primary was replaced by its promoted standby "
            f"({(paths.root / FAILED_OVER).read_text().strip()}); it must not run beside it. "
            f"Run the services on the standby's port ({standby_port(settings)}), or remove "
            f"{paths.root} to start afresh"
        )
    pid = _pid(paths)
    if pid is None:
        bin_dir = ensure_installed(settings)
        system.ensure_service_user(settings.service_user)
        system.make_reachable(settings.var_dir)
        if not system.port_is_free(settings.pg_host, settings.pg_port):
            raise ServiceError(
                f"port {settings.pg_host}:{settings.pg_port} is taken by another program; "
                "set PG_PORT to a free port"
            )
        if not (paths.data / "PG_VERSION").exists():
            _init_cluster(settings, paths, bin_dir, passwords[ADMIN_ROLE])
        _start_server(settings, paths, bin_dir)
        pid = _pid(paths)
    line = (
        f"postgres: running (pid {pid}) on {settings.pg_host}:{settings.pg_port}, log {paths.log}"
    )
    if has_standby(settings):
        # The primary's commits wait for the standby: it starts whenever the primary does, and
        # before anything is written.
        line += "\n" + up_standby(settings)
    _bootstrap_roles(settings, passwords)
    return line


def _admin(settings: Settings, *, port: int | None = None) -> Any:
    password = system.load_secrets(settings.secrets_file)["postgres"][ADMIN_ROLE]
    conn = psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port if port is None else port,
        user=ADMIN_ROLE,
        password=password,
        dbname="postgres",
        connect_timeout=5,
    )
    conn.autocommit = True
    return conn


def _ensure_replication_role(settings: Settings) -> str:
    secrets = system.load_secrets(settings.secrets_file)
    passwords: dict[str, str] = secrets.setdefault("postgres", {})
    password = passwords.setdefault(REPLICATION_ROLE, system.new_password())
    system.save_secrets(settings.secrets_file, secrets)
    conn = _admin(settings)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (REPLICATION_ROLE,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(
                sql.SQL("{} ROLE {} LOGIN REPLICATION PASSWORD %s").format(
                    sql.SQL(verb), sql.Identifier(REPLICATION_ROLE)
                ),
                (password,),
            )
    finally:
        conn.close()
    return password


def _base_backup(settings: Settings, paths: Paths, bin_dir: Path, password: str) -> None:
    """The standby's data folder: a base backup of the primary, streaming from its own slot."""
    conn = _admin(settings)
    try:
        with conn.cursor() as cur:
            # A slot that an earlier, failed attempt left (inactive) is made again.
            cur.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                "WHERE slot_name = %s AND NOT active",
                (STANDBY_NAME,),
            )
    finally:
        conn.close()
    shutil.rmtree(paths.data, ignore_errors=True)
    paths.root.mkdir(parents=True, exist_ok=True)
    system.chown_tree(paths.root, settings.service_user)
    log.info("base backup of the primary into %s", paths.data)
    system.run(
        system.as_service_user(
            settings.service_user,
            [
                str(bin_dir / "pg_basebackup"),
                "--host",
                settings.pg_host,
                "--port",
                str(settings.pg_port),
                "--username",
                REPLICATION_ROLE,
                "--no-password",
                "--pgdata",
                str(paths.data),
                "--wal-method",
                "stream",
                "--create-slot",
                "--slot",
                STANDBY_NAME,
                "--checkpoint",
                "fast",
            ],
        ),
        env={"PGPASSWORD": password},
        timeout=3600,
    )
    conninfo = (
        f"host={settings.pg_host} port={settings.pg_port} user={REPLICATION_ROLE} "
        f"password={password} application_name={STANDBY_NAME}"
    )
    with (paths.data / "postgresql.auto.conf").open("a") as conf:
        conf.write(
            "# The standby of `contactpoint services up --pg-standby`.\n"
            f"primary_conninfo = '{conninfo}'\n"
            f"primary_slot_name = '{STANDBY_NAME}'\n"
            # Copied from the primary: once promoted, this server waits for no standby.
            "synchronous_standby_names = ''\n"
        )
    (paths.data / "standby.signal").touch()
    system.chown_tree(paths.root, settings.service_user)


def up_standby(settings: Settings) -> str:
    """A streaming standby of the local primary on its own port, made by a base backup on
    first use, and the primary's synchronous commit waiting for it: a commit returns only once
    the standby has it on disk."""
    if settings.database_url is not None:
        raise ServiceError("DATABASE_URL is set: the standby of that server is its operator's")
    primary = Paths.of(settings)
    if _pid(primary) is None:
        raise ServiceError("the primary does not run: start it first (`services up`)")
    paths = Paths.standby_of(settings)
    port = standby_port(settings)
    pid = _pid(paths)
    if pid is None:
        bin_dir = ensure_installed(settings)
        if not system.port_is_free(settings.pg_host, port):
            raise ServiceError(
                f"port {settings.pg_host}:{port} is taken by another program; "
                "set PG_STANDBY_PORT to a free port"
            )
        if not has_standby(settings):
            # Before the primary waits for a standby: its catalogue can still be written.
            _base_backup(settings, paths, bin_dir, _ensure_replication_role(settings))
        _start_server(settings, paths, bin_dir, port=port)
        pid = _pid(paths)
    conn = _admin(settings)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW synchronous_standby_names")
            row = cur.fetchone()
            if row is None or row[0] != STANDBY_NAME:
                cur.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
                cur.execute("SELECT pg_reload_conf()")
        state = _wait_for_sync(conn, settings.pg_start_timeout_s)
    finally:
        conn.close()
    return (
        f"postgres standby: running (pid {pid}) on {settings.pg_host}:{port}, {state}, "
        f"log {paths.log}"
    )


def _wait_for_sync(conn: Any, timeout: float) -> str:
    """Until the primary streams to the standby synchronously; the replication state."""
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s",
                (STANDBY_NAME,),
            )
            row = cur.fetchone()
        if row is not None and row == ("streaming", "sync"):
            return "streaming, synchronous commit"
        time.sleep(0.5)
    raise ServiceError(f"the standby does not stream synchronously (state: {row or 'absent'})")


def promote_standby(settings: Settings) -> str:
    """Make the standby the primary (after the primary's loss), and mark the old primary so
    that it never starts again beside it."""
    paths = Paths.standby_of(settings)
    if not has_standby(settings):
        raise ServiceError("there is no standby to promote (`services up --pg-standby` makes one)")
    if _pid(paths) is None:
        raise ServiceError(f"the standby does not run; start it first (see {paths.log})")
    primary = Paths.of(settings)
    old = _pid(primary)
    if old is not None:
        raise ServiceError(
            f"the primary still runs (pid {old}): stop it before promoting its standby"
        )
    bin_dir = ensure_installed(settings)
    system.run(
        system.as_service_user(
            settings.service_user,
            [str(bin_dir / "pg_ctl"), "--pgdata", str(paths.data), "--wait", "promote"],
        ),
        timeout=settings.pg_start_timeout_s + 10,
    )
    port = standby_port(settings)
    (primary.root / FAILED_OVER).write_text(
        f"standby on port {port} promoted at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
    )
    return (
        f"postgres standby: promoted; the primary is now {settings.pg_host}:{port}. "
        f"Run every service with PG_PORT={port}"
    )


def down(settings: Settings) -> str:
    """Stop the cluster that `up` started (fast shutdown by its pid)."""
    if settings.database_url is not None:
        return "postgres: DATABASE_URL is set; nothing to stop"
    lines = []
    # The primary first: its shutdown checkpoint reaches the standby before that stops.
    for name, paths in (
        ("postgres", Paths.of(settings)),
        ("postgres standby", Paths.standby_of(settings)),
    ):
        pid = _pid(paths)
        if pid is None:
            if name == "postgres":
                lines.append("postgres: not running")
            continue
        # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
        if not system.stop_pid(pid, sig=signal.SIGINT, timeout=60):
            raise ServiceError(f"{name} (pid {pid}) did not stop")
        lines.append(f"{name}: stopped (pid {pid})")
    return "\n".join(lines)


def status(settings: Settings) -> tuple[str, bool]:
    """A status line and whether the server answers queries."""
    where = (
        "DATABASE_URL"
        if settings.database_url is not None
        else (f"{settings.pg_host}:{settings.pg_port}")
    )
    pid = None if settings.database_url is not None else _pid(Paths.of(settings))
    if settings.database_url is None and pid is None:
        return f"postgres: not running (would listen on {where})", False
    started = time.monotonic()
    try:
        conn = psycopg2.connect(
            settings.effective_database_url().replace("+psycopg2", ""), connect_timeout=5
        )
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_setting('server_version')")
                row = cur.fetchone()
        finally:
            conn.close()
    except (psycopg2.Error, RuntimeError) as exc:
        return f"postgres: unhealthy at {where}: {str(exc).strip()}", False
    version = row[0] if row else "?"
    ms = (time.monotonic() - started) * 1000
    owner = f"pid {pid}, " if pid else ""
    line = f"postgres: healthy ({owner}{where}, version {version}, {ms:.0f} ms)"
    if settings.database_url is None and has_standby(settings):
        standby = _pid(Paths.standby_of(settings))
        if standby is None:
            # The primary's commits wait for it: nothing is written until it is back.
            return line + f"; standby on {standby_port(settings)} not running", False
        line += f"; standby (pid {standby}) on {standby_port(settings)}"
    return line, True
