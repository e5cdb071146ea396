"""The `contactpoint` command: services, database, load, demo data and the HTTP service."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from contactpoint.cli_access import audit_app, clients_app, report_app, users_app
from contactpoint.cli_backup import backup, restore
from contactpoint.cli_demo import demo_users
from contactpoint.cli_lifecycle import lifecycle_app
from contactpoint.cli_matching import matching_app
from contactpoint.cli_notify import notify_app
from contactpoint.cli_sar import sar
from contactpoint.cli_seal import audit_key, audit_retention, audit_seal, audit_verify
from contactpoint.collector import collect_less_often
from contactpoint.settings import get_settings

app = typer.Typer(help="ContactPoint: the national contacts index.", no_args_is_help=True)
services_app = typer.Typer(help="Start, stop and inspect the project-local servers.")
db_app = typer.Typer(help="The PostgreSQL schema.")
app.add_typer(services_app, name="services")
app.add_typer(db_app, name="db")
indexer_app = typer.Typer(help="Keep the search index in step with PostgreSQL.")
app.add_typer(indexer_app, name="indexer")
app.add_typer(users_app, name="users")
app.add_typer(clients_app, name="clients")
app.add_typer(audit_app, name="audit")
app.add_typer(notify_app, name="notify")
app.add_typer(matching_app, name="matching")
app.add_typer(report_app, name="report")
app.add_typer(lifecycle_app, name="lifecycle")
postcodes_app = typer.Typer(help="Which local authority each postcode lies in (ONSPD).")
app.add_typer(postcodes_app, name="postcodes")


@postcodes_app.command("load")
def postcodes_load(
    path: Path,
    replace: Annotated[
        bool, typer.Option("--replace", help="Empty the table first (a full refresh).")
    ] = False,
) -> None:
    """Load the ONS Postcode Directory's CSV (pcds, oslaua), or postcode,local_authority_code."""
    from db.errors import DomainError
    from db.postcode_areas import load_postcode_file
    from db.session import session_scope

    try:
        with session_scope() as session:
            done = load_postcode_file(session=session, path=path, replace=replace)
    except (DomainError, OSError) as exc:
        _fail(str(exc))
    typer.echo(
        f"{done.written:,} postcodes and districts written; skipped: "
        f"{done.skipped_unknown_authority:,} of authorities not in ContactPoint, "
        f"{done.skipped_not_a_postcode:,} not postcodes"
    )


@postcodes_app.command("demo")
def postcodes_demo() -> None:
    """The demo authorities' postcode districts (demo data only)."""
    from contactpoint.demo_places import demo_districts
    from db.postcode_areas import load_postcode_authorities
    from db.session import session_scope

    with session_scope() as session:
        done = load_postcode_authorities(session=session, rows=demo_districts())
    typer.echo(f"{done.written:,} demo postcode districts written")


app.command("demo-users")(demo_users)
audit_app.command("seal")(audit_seal)
audit_app.command("verify")(audit_verify)
audit_app.command("key")(audit_key)
audit_app.command("retention")(audit_retention)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    from contactpoint.logs import configure_logging

    # JSON lines by default (LOG_FORMAT), with the request id; never personal data.
    configure_logging(
        log_format=get_settings().log_format, level=logging.DEBUG if verbose else logging.INFO
    )


@services_app.command("up")
def services_up(
    es_nodes: Annotated[
        int | None,
        typer.Option(
            "--es-nodes",
            min=1,
            max=9,
            help="Elasticsearch nodes of the local cluster (one replica per shard from 2); "
            "default: as many as last time, else 1.",
        ),
    ] = None,
    pg_standby: Annotated[
        bool,
        typer.Option(
            "--pg-standby",
            help="Also a streaming standby of PostgreSQL (PG_STANDBY_PORT, else the next port), "
            "with synchronous commit to it; once made, it starts with the primary.",
        ),
    ] = False,
) -> None:
    """Start PostgreSQL and Elasticsearch (unless external URLs are set) and wait for health."""
    from contactpoint.services import ServiceError, postgres, up

    settings = get_settings()
    if es_nodes is not None:
        settings = settings.model_copy(update={"es_nodes": es_nodes})
    try:
        for line in up(settings):
            typer.echo(line)
        if pg_standby and not postgres.has_standby(settings):
            typer.echo(postgres.up_standby(settings))
    except ServiceError as exc:
        _fail(str(exc))


@services_app.command("promote-standby")
def services_promote_standby() -> None:
    """Make the PostgreSQL standby the primary, once the primary is lost (docs/resilience.md)."""
    from contactpoint.services import ServiceError, postgres

    try:
        typer.echo(postgres.promote_standby(get_settings()))
    except ServiceError as exc:
        _fail(str(exc))


@services_app.command("down")
def services_down() -> None:
    """Stop the servers that `services up` started, by pid."""
    from contactpoint.services import down

    for line in down(get_settings()):
        typer.echo(line)


@services_app.command("status")
def services_status() -> None:
    """Say what runs, where, and whether it is healthy."""
    from contactpoint.services import status

    healthy = True
    for line, ok in status(get_settings()):
        typer.echo(line)
        healthy = healthy and ok
    if not healthy:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations up to REVISION."""
    from db.migrate import upgrade

    upgrade(url=get_settings().effective_migration_url(), revision=revision)
    typer.echo(f"database at {revision}")


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    batch_size: Annotated[int | None, typer.Option(min=1, max=50_000)] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
    report: Annotated[
        Path | None, typer.Option(help="Also write rejected lines as JSON Lines here.")
    ] = None,
) -> None:
    """Upsert the children of a JSON Lines FILE; exit 1 when any line was rejected."""
    import psycopg2
    from sqlalchemy.exc import DBAPIError

    from contactpoint.cli_progress import load_progress
    from db.load import load_file
    from db.session import get_engine

    settings = get_settings()
    collect_less_often()
    written = 0
    with load_progress(total_bytes=file.stat().st_size, enabled=progress) as advance:

        def counted(*, read_bytes: int, children: int) -> None:
            nonlocal written
            written += children
            if advance is not None:
                advance(read_bytes=read_bytes, children=children)

        try:
            result = load_file(
                engine=get_engine(),
                path=file,
                batch_size=batch_size or settings.load_batch_size,
                progress=counted,
            )
        except (DBAPIError, psycopg2.Error) as exc:
            # Each batch is one transaction: those written are whole, the one under way is not.
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            _fail(
                f"the database failed after {written} children were written ({reason}); "
                "run the same command again once it is back: the children already written are "
                "found unchanged and the rest are loaded"
            )
    for rejection in result.rejected:
        typer.echo(f"line {rejection.line}: {rejection.field}: {rejection.reason}", err=True)
    if report is not None:
        result.write_rejections(report)
    typer.echo(
        f"{result.lines} lines: {result.inserted} inserted, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.rejected_lines} lines rejected"
    )
    if result.rejected:
        raise typer.Exit(1)


feed_app = typer.Typer(help="National feeds: births, school census, child benefit, health.")
app.add_typer(feed_app, name="feed")


@feed_app.command("import")
def feed_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    source: Annotated[
        str,
        typer.Option(help="births, school-census, child-benefit or health (docs/feeds/)."),
    ],
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Link each record of a feed FILE to its child, create a child, or send it to review (or
    hold it for a shield); exit 1 when any line was rejected. Re-importing changes nothing."""
    from elasticsearch import exceptions as es_exceptions
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import sessionmaker

    from contactpoint.cli_progress import feed_progress
    from contactpoint.es_client import make_client
    from db.ranker import load_ranker
    from db.session import get_engine
    from feeds import Source
    from feeds.importer import import_feed
    from feeds.linking import Thresholds
    from matching import ModelError

    try:
        chosen = Source(source)
    except ValueError:
        _fail(f"--source {source!r}: choose one of {', '.join(s.value for s in Source)}")
    settings = get_settings()
    try:
        thresholds = Thresholds(
            link=settings.feed_link_probability,
            review=settings.feed_review_probability,
            hold=settings.feed_hold_probability,
        )
    except ValueError as exc:
        _fail(f"feed thresholds: {exc}")
    try:
        ranker = load_ranker(settings.match_model_path)
    except ModelError as exc:
        _fail(f"{exc}; nothing was imported")
    engine = get_engine()
    ranker.refresh(sessionmaker(engine))
    collect_less_often()
    with file.open("rb") as handle:
        total = sum(1 for _ in handle)
    es = make_client(settings, purpose="indexer")
    try:
        with feed_progress(total=total, enabled=progress) as advance:
            result = import_feed(
                engine=engine,
                es=es,
                alias=settings.index_alias,
                source=chosen,
                path=file,
                model=ranker.model,
                thresholds=thresholds,
                batch_size=settings.feed_batch_size,
                progress=advance,
            )
    except (es_exceptions.TransportError, es_exceptions.ApiError) as exc:
        # The batch under way was rolled back; the batches before it stand, and running the
        # import again goes on from there (what was written is seen, and unchanged).
        _fail(f"Elasticsearch failed during the import ({exc}); run it again to go on")
    except SQLAlchemyError as exc:
        _fail(f"PostgreSQL failed during the import ({type(exc).__name__}); run it again to go on")
    for rejection in result.rejected:
        typer.echo(f"line {rejection.line}: {rejection.field}: {rejection.reason}", err=True)
    typer.echo(result.summary())
    if result.rejected:
        raise typer.Exit(1)


@app.command("demo-feeds")
def demo_feeds(
    out: Annotated[Path, typer.Option(help="The folder to write the four feeds to.")],
    children: Annotated[
        int, typer.Option(min=1, help="The demo population's size (as demo-data --children).")
    ] = 20_000,
    seed: Annotated[int, typer.Option(help="The demo population's seed (as demo-data).")] = 1,
    feed_children: Annotated[int, typer.Option(min=1, help="Children the feeds describe.")] = 2_000,
    new_children: Annotated[
        int, typer.Option(min=0, help="Of them, new births not in the population.")
    ] = 100,
) -> None:
    """Write the four national feeds of demo children, each line with the child it truly is."""
    from feeds.demo import write_demo_feeds

    if new_children > feed_children:
        _fail("--new-children cannot be more than --feed-children")
    counts = write_demo_feeds(
        out=out,
        children=children,
        seed=seed,
        feed_children=feed_children,
        new_children=new_children,
    )
    for source, count in counts.items():
        typer.echo(f"{source.value}: {count} records")


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option(dir_okay=False, writable=True)],
    children: Annotated[int, typer.Option(min=1, max=20_000_000)] = 20_000,
    seed: Annotated[int, typer.Option()] = 1,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Write a synthetic population of CHILDREN in the import format; same seed, same file."""
    from contactpoint.cli_progress import demo_data_progress
    from contactpoint.demo_data import write_demo_file

    with demo_data_progress(total=children, enabled=progress) as advance:
        written = write_demo_file(path=out, children=children, seed=seed, progress=advance)
    typer.echo(f"wrote {written} children to {out}")


@app.command("reindex")
def reindex_command(
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Point the alias back at the previous index.")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Rebuild the index from PostgreSQL and swap the read alias to it atomically."""
    from contactpoint.cli_progress import reindex_progress
    from contactpoint.es_client import make_client
    from db.session import get_engine, session_scope
    from indexer.frequencies import rebuild_match_frequencies
    from indexer.reindex import ReindexError, ReindexOptions, reindex
    from indexer.reindex import rollback as rollback_index

    settings = get_settings()
    client = make_client(settings, purpose="indexer")
    try:
        if rollback:
            old, new = rollback_index(
                engine=get_engine(), client=client, alias=settings.index_alias
            )
            typer.echo(f"alias {settings.index_alias} points at {new} again (was {old})")
            return
        collect_less_often()
        with reindex_progress(enabled=progress) as on_progress:
            report = reindex(
                engine=get_engine(),
                client=client,
                alias=settings.index_alias,
                options=ReindexOptions.from_settings(settings),
                on_progress=on_progress,
            )
    except ReindexError as exc:
        _fail(f"{exc}; the alias {settings.index_alias!r} was left as it was")
    finally:
        client.close()
    # The match engine's frequencies are derived from the same children: counted again after
    # the swap, so searches never wait for them (the API reads them every few minutes).
    counted = time.perf_counter()
    with session_scope() as session:
        frequencies = rebuild_match_frequencies(session=session)
    counting_s = time.perf_counter() - counted
    left = f", {report.requeued} left to it by the build after overload" if report.requeued else ""
    typer.echo(
        f"indexed {report.documents} children into {report.index} in {report.seconds:.1f} s "
        f"({report.rate:,.0f}/s; caught up {report.caught_up} changes{left}); alias "
        f"{settings.index_alias} swapped from {report.previous}; "
        f"deleted {report.deleted or 'none'}; "
        f"then merged into one segment in {report.stages.merge_s:.1f} s; "
        f"match frequencies of {frequencies.population} children counted in {counting_s:.1f} s"
    )


@indexer_app.command("run")
def indexer_run() -> None:
    """Consume the outbox until interrupted (builds the first index when there is none)."""
    from contactpoint.es_client import make_client
    from db.session import get_engine
    from indexer.worker import run_worker

    settings = get_settings()
    run_worker(
        settings=settings, engine=get_engine(), client=make_client(settings, purpose="indexer")
    )


@indexer_app.command("status")
def indexer_status() -> None:
    """Queue depth, lag, dead letters and where the alias points."""
    from contactpoint.es_client import make_client
    from db.session import get_engine
    from indexer.indices import alias_state
    from indexer.outbox import queue_status, recent_dead_letters

    settings = get_settings()
    with get_engine().connect() as connection:
        status = queue_status(connection=connection)
        letters = recent_dead_letters(connection=connection, limit=10)
    client = make_client(settings, purpose="indexer")
    try:
        state = alias_state(client, alias=settings.index_alias)
    finally:
        client.close()
    typer.echo(f"alias {settings.index_alias} -> {state.live or 'nothing'}")
    typer.echo(f"previous indices: {', '.join(state.others) or 'none'}")
    typer.echo(f"building: {', '.join(status.building) or 'none'}")
    typer.echo(f"queue depth: {status.depth}")
    typer.echo(f"lag: {status.lag_seconds:.1f} s")
    typer.echo(f"dead letters: {status.dead_letters}")
    for identifier, version, reason in letters:
        typer.echo(f"  {identifier} v{version}: {reason}")


@indexer_app.command("retry")
def indexer_retry() -> None:
    """Queue every dead-lettered child again."""
    from db.session import get_engine
    from indexer.outbox import requeue_dead_letters

    with get_engine().begin() as connection:
        moved = requeue_dead_letters(connection=connection)
    typer.echo(f"queued {moved} dead-lettered children again")


def _terminate_with_parent() -> None:
    """In the child: receive SIGTERM when the parent dies (uvicorn re-raises SIGTERM on exit,
    so the parent's own clean-up may never run)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _start_child(*argv: str, nice: int = 0) -> subprocess.Popen[bytes]:
    """`contactpoint ARGV...` in a child process that ends with this one, at `nice` priority
    (a background job yields the CPU to the API workers)."""

    def prepare() -> None:
        _terminate_with_parent()
        if nice:
            os.nice(nice)

    return subprocess.Popen([sys.executable, "-m", "contactpoint", *argv], preexec_fn=prepare)


def _announce_when_ready(url: str, *, every_s: float = 2.0) -> None:
    """Print one "ready" line once the service answers, the index is built and the outbox is
    empty: every child in PostgreSQL is then searchable."""
    import json
    import urllib.request

    from db.session import session_scope
    from indexer.outbox import queue_status

    while True:
        time.sleep(every_s)
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:  # noqa: S310
                documents = json.load(answer)["elasticsearch"].get("documents")
            with session_scope() as session:
                queue = queue_status(connection=session.connection())
        except Exception:  # noqa: BLE001 - not up yet: ask again
            continue
        if documents and queue.depth == 0 and not queue.building:
            typer.echo(f"ready: {documents:,} children searchable at {url}/sign-in", err=True)
            return


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    with_indexer: Annotated[
        bool,
        typer.Option(
            "--with-indexer",
            help="Also run `indexer run`, `notify run`, `audit seal` and `lifecycle "
            "schedule` beside the service.",
        ),
    ] = False,
) -> None:
    """Run the HTTP service (and, with --with-indexer, the indexer, the notifications'
    deliverer and the audit sealer in child processes)."""
    import uvicorn

    from contactpoint.logs import uvicorn_log_config
    from db.ranker import load_ranker
    from matching import ModelError

    settings = get_settings()
    # Checked before any worker starts (each worker loads it again when it builds the app):
    # without a usable match model the service does not start at all.
    try:
        ranker = load_ranker(settings.match_model_path)
    except ModelError as exc:
        _fail(f"{exc}; the service was not started")
    typer.echo(f"ranking with the match model {ranker.path}")
    # The workers' request metrics, added up at each scrape of /metrics (docs/operations.md):
    # a fresh directory every start, as prometheus-client's multiprocess mode asks.
    metrics_dir = settings.var_dir.resolve() / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    children: list[subprocess.Popen[bytes]] = []
    if with_indexer:
        children.append(_start_child("indexer", "run", nice=settings.indexer_nice))
        children.append(_start_child("notify", "run", nice=settings.indexer_nice))
        if settings.effective_seal_private_key() is None:
            logging.getLogger(__name__).warning(
                "the audit is not sealed: set AUDIT_SEAL_PRIVATE_KEY to run the sealer"
            )
        else:
            children.append(_start_child("audit", "seal", nice=settings.indexer_nice))
        # The daily lifecycle job, at LIFECYCLE_RUN_AT (docs/lifecycle.md).
        children.append(_start_child("lifecycle", "schedule", nice=settings.indexer_nice))
        bound = host or settings.api_host
        shown = "127.0.0.1" if bound in ("0.0.0.0", "") else bound  # noqa: S104
        url = f"http://{shown}:{port or settings.api_port}"
        threading.Thread(target=_announce_when_ready, args=(url,), daemon=True).start()
    try:
        uvicorn.run(
            "searchapi.main:create_app",
            factory=True,
            host=host or settings.api_host,
            port=port or settings.api_port,
            workers=settings.api_workers,
            log_level="info",
            # uvicorn's access lines name the raw path; the app writes its own (docs/operations.md).
            access_log=False,
            log_config=uvicorn_log_config(settings.log_format),
            # The socket's peer is the client; only the app believes X-Forwarded-For, and only
            # from the proxies named in FORWARDED_ALLOW_IPS (uvicorn would trust the loopback).
            proxy_headers=False,
            timeout_worker_healthcheck=settings.api_worker_healthcheck_s,
        )
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


# Subject access reports (docs/subject-access.md), listed after the commands above.
app.command("sar")(sar)
app.command("backup")(backup)
app.command("restore")(restore)
