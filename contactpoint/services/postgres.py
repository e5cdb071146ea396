"""The project-local PostgreSQL 15 cluster: install, initdb, start, stop, status."""

from __future__ import annotations

import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path

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


def _start_server(settings: Settings, paths: Paths, bin_dir: Path) -> None:
    options = {
        **SERVER_OPTIONS,
        "port": str(settings.pg_port),
        "listen_addresses": settings.pg_host,
        "unix_socket_directories": str(paths.run),
    }
    opts = " ".join(f"-c {key}={value}" for key, value in options.items())
    paths.run.mkdir(parents=True, exist_ok=True)
    system.chown_tree(paths.run, settings.service_user)
    log.info("starting PostgreSQL on %s:%s", settings.pg_host, settings.pg_port)
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
    _bootstrap_roles(settings, passwords)
    return (
        f"postgres: running (pid {pid}) on {settings.pg_host}:{settings.pg_port}, log {paths.log}"
    )


def down(settings: Settings) -> str:
    """Stop the cluster that `up` started (fast shutdown by its pid)."""
    if settings.database_url is not None:
        return "postgres: DATABASE_URL is set; nothing to stop"
    paths = Paths.of(settings)
    pid = _pid(paths)
    if pid is None:
        return "postgres: not running"
    # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
    if not system.stop_pid(pid, sig=signal.SIGINT, timeout=60):
        raise ServiceError(f"postgres (pid {pid}) did not stop")
    return f"postgres: stopped (pid {pid})"


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
    return f"postgres: healthy ({owner}{where}, version {version}, {ms:.0f} ms)", True
