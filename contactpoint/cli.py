"""The `contactpoint` command: services, database, load, demo data and the HTTP service."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from contactpoint.settings import get_settings

app = typer.Typer(help="ContactPoint: the national contacts index.", no_args_is_help=True)
services_app = typer.Typer(help="Start, stop and inspect the project-local servers.")
db_app = typer.Typer(help="The PostgreSQL schema.")
app.add_typer(services_app, name="services")
app.add_typer(db_app, name="db")


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The HTTP clients log every request at INFO; keep the CLI's output readable.
    for noisy in ("httpx", "elastic_transport"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@services_app.command("up")
def services_up() -> None:
    """Start PostgreSQL and Elasticsearch (unless external URLs are set) and wait for health."""
    from contactpoint.services import ServiceError, up

    try:
        for line in up(get_settings()):
            typer.echo(line)
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
    from db.loader import load_file
    from db.session import get_engine

    settings = get_settings()
    result = load_file(
        engine=get_engine(),
        path=file,
        batch_size=batch_size or settings.load_batch_size,
        progress=progress,
    )
    for rejection in result.rejected:
        typer.echo(f"line {rejection.line}: {rejection.field}: {rejection.reason}", err=True)
    if report is not None:
        result.write_rejections(report)
    typer.echo(
        f"{result.lines} lines: {result.inserted} inserted, {result.updated} updated, "
        f"{result.unchanged} unchanged, {len(result.rejected)} rejected"
    )
    if result.rejected:
        raise typer.Exit(1)


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option(dir_okay=False, writable=True)],
    children: Annotated[int, typer.Option(min=1, max=20_000_000)] = 20_000,
    seed: Annotated[int, typer.Option()] = 1,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Write a synthetic population of CHILDREN in the import format; same seed, same file."""
    from contactpoint.demo_data import write_demo_file

    written = write_demo_file(path=out, children=children, seed=seed, progress=progress)
    typer.echo(f"wrote {written} children to {out}")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "searchapi.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
    )
