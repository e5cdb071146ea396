"""`contactpoint lifecycle run|schedule|extend|reasons`: the daily job and extensions, from the
shell."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, date, datetime
from types import FrameType
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from contactpoint.settings import get_settings

lifecycle_app = typer.Typer(
    help="Archive at 18, expire ended involvements, destroy six years on; extensions."
)
log = logging.getLogger(__name__)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} must be a date as YYYY-MM-DD, not {value!r}")
        raise


@lifecycle_app.command("run")
def lifecycle_run(
    today: Annotated[
        str | None,
        typer.Option("--today", help="Run as on this day (YYYY-MM-DD); default: today."),
    ] = None,
) -> None:
    """Run the day's job once and print its counts (a second run the same day changes nothing)."""
    from contactpoint.es_client import make_client
    from db.audit import AuditContext
    from db.session import get_engine
    from indexer.erasure import ErasureFailed
    from lifecycle import LifecycleBusy, report_lines, run_lifecycle
    from lifecycle.job import configured_job, local_today

    settings = get_settings()
    day = _date(today, "--today") or local_today(settings, datetime.now(UTC))
    client = make_client(settings, purpose="indexer")
    try:
        job = configured_job(settings=settings, engine=get_engine(), client=client)
        report = run_lifecycle(job=job, context=AuditContext.operator(), today=day)
    except LifecycleBusy as exc:
        _fail(str(exc))
        raise
    except ErasureFailed as exc:
        _fail(f"{exc}; nothing of the batch was destroyed: run again to resume")
        raise
    finally:
        client.close()
    typer.echo(f"lifecycle run for {day.isoformat()}")
    for line in report_lines(report):
        typer.echo(f"  {line}")


@lifecycle_app.command("schedule")
def lifecycle_schedule() -> None:
    """Run the job every day at LIFECYCLE_RUN_AT (and at once if today's run is due and not
    finished), then the audit's maintenance (`audit retention`) when the seal key is set, until
    stopped; `serve --with-indexer` runs this."""
    from contactpoint.es_client import make_client
    from db.audit import AuditContext
    from db.session import get_engine
    from lifecycle import run_lifecycle
    from lifecycle.job import configured_job, finished_on, local_today, next_run

    settings = get_settings()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    engine = get_engine()
    maintained: date | None = None
    while not stop.is_set():
        now = datetime.now(UTC)
        day = local_today(settings, now)
        due_today = next_run(settings, now).date() > day
        try:
            finished = finished_on(engine=engine, today=day)
        except OperationalError:
            # PostgreSQL is gone for now: ask again at the next wake.
            log.warning("the lifecycle schedule cannot read PostgreSQL; trying again soon")
            stop.wait(60.0)
            continue
        if due_today and not finished:
            client = make_client(settings, purpose="indexer")
            try:
                job = configured_job(settings=settings, engine=engine, client=client)
                report = run_lifecycle(job=job, context=AuditContext.operator(), today=day)
                log.info(
                    "lifecycle run for %s: archived %s, destroyed %s, involvements expired %s",
                    day,
                    report.archived,
                    report.destroyed,
                    report.involvements_expired,
                )
            except Exception:
                # The next wake tries again: every step resumes where it stopped.
                log.exception("the lifecycle run for %s failed", day)
            finally:
                client.close()
        if maintained != day and _finished(engine, day):
            maintained = day
            _maintain_audit(day)
        stop.wait(60.0)


def _finished(engine: Engine, day: date) -> bool:
    from lifecycle.job import finished_on

    try:
        return finished_on(engine=engine, today=day)
    except OperationalError:
        return False


def _maintain_audit(day: date) -> None:
    """The audit's partitions and retention, once a day after the lifecycle run; a failure is
    logged and waits for the next day (a drop is all or nothing)."""
    from lifecycle.job import maintain_audit

    try:
        summary = maintain_audit(settings=get_settings(), today=day)
    except Exception:
        log.exception("the audit's maintenance for %s failed", day)
        return
    if summary is None:
        log.warning("the audit's retention waits: AUDIT_SEAL_PRIVATE_KEY is not set")
        return
    log.info(
        "audit maintenance for %s: %s months created, %s rows dropped%s",
        day,
        len(summary.created),
        summary.dropped.rows if summary.dropped else 0,
        f", refused: {'; '.join(summary.refused)}" if summary.refused else "",
    )


@lifecycle_app.command("reasons")
def lifecycle_reasons() -> None:
    """The reasons an extension may be recorded for."""
    from lifecycle import reason_choices

    for value, label in reason_choices():
        typer.echo(f"{value}: {label}")


@lifecycle_app.command("extend")
def lifecycle_extend(
    identifier: Annotated[str, typer.Argument(help="The child's identifier.")],
    reason: Annotated[str, typer.Option("--reason", help="One of `lifecycle reasons`.")],
    review_on: Annotated[str, typer.Option("--review-on", help="The review date, YYYY-MM-DD.")],
    consent_given_on: Annotated[
        str | None,
        typer.Option("--consent-given-on", help="When the young person consented, YYYY-MM-DD."),
    ] = None,
    today: Annotated[str | None, typer.Option("--today", help="As on this day.")] = None,
) -> None:
    """Record (or renew) an extension past 18, with the young person's consent (audited)."""
    from db.audit import AuditContext
    from db.child_records import get_child
    from db.errors import DomainError
    from db.session import session_scope
    from lifecycle import record_extension
    from lifecycle.job import local_today

    settings = get_settings()
    review = _date(review_on, "--review-on")
    assert review is not None
    day = _date(today, "--today") or local_today(settings, datetime.now(UTC))
    try:
        with session_scope() as session:
            child = get_child(session=session, identifier=identifier)
            if child is None:
                _fail("there is no child with this identifier")
                raise AssertionError("unreachable")
            state = record_extension(
                session=session,
                context=AuditContext.operator(),
                child=child,
                reason=reason,
                consent_given_on=_date(consent_given_on, "--consent-given-on"),
                review_on=review,
                today=day,
            )
    except DomainError as exc:
        _fail(exc.message)
        raise
    typer.echo(
        f"extension recorded: {state.reason.value}, review on {state.review_on.isoformat()}, "
        f"kept at the latest until {state.ends_after.isoformat()}"
    )
