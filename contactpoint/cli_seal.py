"""`contactpoint audit seal|verify|key`: tamper evidence for the audit, from the shell."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, date, datetime
from types import FrameType
from typing import Annotated

import typer

from contactpoint.settings import Settings, get_settings

# Problems printed by `verify` (all are counted).
_SHOWN_PROBLEMS = 20


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _private_key(settings: Settings) -> str:
    encoded = settings.effective_seal_private_key()
    if encoded is None:
        _fail(
            "no audit seal key: set AUDIT_SEAL_PRIVATE_KEY (`contactpoint audit key --new` "
            "makes one) or run `contactpoint services up` for the local stack"
        )
        raise AssertionError("unreachable")
    return encoded


def audit_seal(
    once: Annotated[
        bool, typer.Option("--once", help="Seal what is there now, then exit.")
    ] = False,
    interval: Annotated[
        float | None, typer.Option("--interval", min=0.1, help="Seconds between rounds.")
    ] = None,
) -> None:
    """Chain the new audit rows' hashes into signed seals, every few seconds until stopped."""
    from db.audit import SealerWaiting, SealKeyError, run_sealer, seal_once
    from db.audit.seal import load_private_key
    from db.session import get_engine

    settings = get_settings()
    try:
        key = load_private_key(_private_key(settings))
    except SealKeyError as exc:
        _fail(str(exc))
        raise
    if once:
        try:
            seals = seal_once(engine=get_engine(), key=key)
        except SealerWaiting as exc:
            _fail(str(exc))
            raise
        for seal in seals:
            typer.echo(
                f"seal {seal.position}: ids {seal.after_id + 1}..{seal.through_id}, "
                f"{seal.entries} rows"
            )
        if not seals:
            typer.echo("nothing new to seal")
        return
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_sealer(
        engine=get_engine(),
        key=key,
        interval_s=interval or settings.audit_seal_interval_s,
        stop=stop,
    )


def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="The whole report as JSON.")] = False,
) -> None:
    """Check the seals' chain and signatures and every sealed row; exit 1 on the first misfit."""
    from db.audit import SealKeyError, trusted_keys, verify_audit
    from db.session import session_scope

    settings = get_settings()
    try:
        keys = trusted_keys(
            private_key=settings.effective_seal_private_key(),
            public_keys=settings.audit_seal_public_keys,
        )
    except SealKeyError as exc:
        _fail(str(exc))
        raise
    if not keys:
        _fail("no trusted key: set AUDIT_SEAL_PUBLIC_KEYS (or AUDIT_SEAL_PRIVATE_KEY)")
    with session_scope() as session:
        report = verify_audit(session=session, keys=keys)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for problem in report.problems[:_SHOWN_PROBLEMS]:
            typer.echo(f"{problem.misfit.value}: {problem.message}")
        if report.problem_count > _SHOWN_PROBLEMS:
            typer.echo(f"... and {report.problem_count - _SHOWN_PROBLEMS} more")
        unsealed = (
            f"{report.unsealed_rows} newer rows not sealed yet (from id {report.first_unsealed_id})"
            if report.unsealed_rows
            else "no unsealed rows"
        )
        for drop in report.drops:
            trusted = "" if drop["trusted"] else " (NOT TRUSTED: its digest or signature fails)"
            typer.echo(
                f"drop {drop['seal_position']} at {drop['dropped_at']} by {drop['dropped_by']}: "
                f"months {_months(drop['months'] or [])}, {drop['rows']} rows, ids "
                f"{_ranges(drop['id_ranges'] or [])}{trusted}"
            )
        if report.drops:
            typer.echo(f"{report.dropped_rows} sealed rows dropped by retention, as recorded")
        verdict = "OK" if report.ok else f"{report.problem_count} misfit(s)"
        typer.echo(
            f"{verdict}: {report.seals} seals, {report.sealed_rows} sealed rows fit, "
            f"through id {report.sealed_through}; {unsealed}"
        )
    if not report.ok:
        raise typer.Exit(1)


def _ranges(ranges: list[list[int]]) -> str:
    return ", ".join(f"{low}..{high}" if low != high else str(low) for low, high in ranges) or "-"


def _months(months: list[str]) -> str:
    if len(months) <= 3:
        return ", ".join(months) or "-"
    return f"{months[0]}..{months[-1]} ({len(months)} months)"


def _parse_day(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"--today must be a date, YYYY-MM-DD: {value!r}")
        raise


def audit_retention(
    today: Annotated[
        str | None,
        typer.Option("--today", help="Run as if on this day (YYYY-MM-DD); default: today (UTC)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The summary as JSON.")] = False,
) -> None:
    """Create the audit's coming monthly partitions and drop whole months past retention
    (AUDIT_RETENTION_YEARS), each drop a signed link of the seal chain."""
    from sqlalchemy import create_engine, pool

    from db.audit import SealerWaiting, SealKeyError
    from db.audit.retention import run_audit_maintenance

    settings = get_settings()
    day = _parse_day(today)
    _private_key(settings)
    engine = create_engine(settings.effective_migration_url(), poolclass=pool.NullPool)
    try:
        summary = run_audit_maintenance(engine=engine, today=day, settings=settings)
    except (SealKeyError, SealerWaiting) as exc:
        _fail(str(exc))
        raise
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        typer.echo(
            f"audit retention on {summary.today}: kept {summary.retention_years} years, "
            f"months before {summary.cutoff} are dropped"
        )
        typer.echo(f"sealed first: {summary.sealed_first} rows")
        typer.echo(f"created: {', '.join(summary.created) or 'nothing (all there)'}")
        dropped = summary.dropped
        if dropped is None:
            typer.echo("dropped: nothing")
        else:
            typer.echo(
                f"dropped: months {_months(dropped.months)}, {dropped.rows} rows, ids "
                f"{_ranges(dropped.id_ranges)}; drop link {dropped.position} of the seal chain"
            )
        for refused in summary.refused:
            typer.secho(f"refused: {refused}", fg=typer.colors.RED, err=True)
    if summary.refused:
        raise typer.Exit(1)


def audit_key(
    new: Annotated[
        bool, typer.Option("--new", help="Make a new key pair instead (nothing is stored).")
    ] = False,
) -> None:
    """The seal key's id and public key (to give to verifiers), or a new pair with --new."""
    from db.audit import SealKeyError
    from db.audit.seal import encode_public_key, key_id, load_private_key, new_private_key

    encoded = new_private_key() if new else _private_key(get_settings())
    try:
        public = load_private_key(encoded).public_key()
    except SealKeyError as exc:
        _fail(str(exc))
        raise
    data = {"key_id": key_id(public), "public_key": encode_public_key(public)}
    if new:
        data["private_key"] = encoded
    typer.echo(json.dumps(data, indent=2))
