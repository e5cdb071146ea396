"""`contactpoint users|clients|audit`: accounts, CMS clients and the audit, from the shell.

The same service functions as the API's admin and audit routes; each change is audited with
the operating-system user as the actor (`cli:NAME`).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer

from contactpoint.cli_vetting import (
    DbsCheckedOn,
    IdentityCheckedBy,
    IdentityCheckedOn,
    TrainingCompletedOn,
    users_record_vetting,
    users_vetting,
    vetting_change,
    warn_if_not_vetted,
)
from contactpoint.settings import get_settings

users_app = typer.Typer(
    help="Accounts of people: create, suspend, reinstate, reset, list, and their vetting."
)
clients_app = typer.Typer(help="Case-management systems and their API keys.")
audit_app = typer.Typer(help="Export the audit and report possible misuse.")

T = TypeVar("T")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _run(action: Callable[[], T]) -> T:
    """Run a service call; its refusals become a one-line error and exit status 1."""
    from db.errors import DomainError

    try:
        return action()
    except DomainError as exc:
        _fail(exc.message)
        raise AssertionError("unreachable") from exc


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _read_secrets() -> tuple[str, str]:
    """The password and the PIN: two lines of standard input (prompted for on a terminal)."""
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        pin = typer.prompt("PIN", hide_input=True, confirmation_prompt=True)
        return str(password), str(pin)
    password = sys.stdin.readline().rstrip("\r\n")
    pin = sys.stdin.readline().rstrip("\r\n")
    if not password or not pin:
        _fail("give the password and the PIN on two lines of standard input")
    return password, pin


def _moment(value: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or time; a date means its start (or, for an end, the next day's start)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"not an ISO date or time: {value!r}")
        raise
    if len(value) == 10:
        day = date.fromisoformat(value) + timedelta(days=1 if end_of_day else 0)
        parsed = datetime(day.year, day.month, day.day)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="Repeatable.")],
    authority: Annotated[list[str] | None, typer.Option("--authority", help="LA code")] = None,
    organisation: Annotated[str | None, typer.Option()] = None,
    child_protection: Annotated[bool, typer.Option("--child-protection")] = False,
    archive_access: Annotated[
        bool,
        typer.Option("--archive-access", help="May open archived records (la_manager only)."),
    ] = False,
    expires: Annotated[str | None, typer.Option(help="Last day (or time) of access.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Demo account (codes printable).")] = False,
    email: Annotated[
        str | None, typer.Option(help="Their work e-mail: the practitioner whose notices they get.")
    ] = None,
    identity_checked_by: IdentityCheckedBy = None,
    identity_checked_on: IdentityCheckedOn = None,
    dbs_checked_on: DbsCheckedOn = None,
    training_completed_on: TrainingCompletedOn = None,
) -> None:
    """Create USERNAME; reads the password and PIN from stdin; prints the token enrolment.

    The account signs in once its identity check, DBS check and training are recorded (here,
    or later with `users record-vetting`)."""
    from db.access import NewUser, create_user, roles_from
    from db.audit import AuditContext
    from db.session import session_scope

    roles = roles_from(role)
    if len(roles) != len(set(role)):
        _fail(f"unknown role among {', '.join(role)}")
    password, pin = _read_secrets()
    new = NewUser(
        username=username,
        roles=roles,
        authorities=frozenset(authority or ()),
        organisation=organisation,
        child_protection=child_protection,
        archive_access=archive_access,
        expires_at=_moment(expires, end_of_day=True) if expires else None,
        is_demo=demo,
        email=email,
        vetting=vetting_change(
            identity_checked_by=identity_checked_by,
            identity_checked_on=identity_checked_on,
            dbs_checked_on=dbs_checked_on,
            training_completed_on=training_completed_on,
        ),
    )
    with session_scope() as session:
        enrolment = _run(
            lambda: create_user(
                session=session,
                settings=get_settings(),
                context=AuditContext.operator(),
                new=new,
                password=password,
                pin=pin,
            )
        )
    warn_if_not_vetted(enrolment.username, new.vetting)
    _echo_json(dataclasses.asdict(enrolment))


users_app.command("record-vetting")(users_record_vetting)
users_app.command("vetting")(users_vetting)


@users_app.command("suspend")
def users_suspend(username: str) -> None:
    """Suspend USERNAME and end every session of theirs."""
    from db.access import suspend_user
    from db.audit import AuditContext
    from db.session import session_scope

    with session_scope() as session:
        ended = _run(
            lambda: suspend_user(
                session=session, context=AuditContext.operator(), username=username
            )
        )
    typer.echo(f"suspended {username}; ended {ended} sessions")


@users_app.command("reinstate")
def users_reinstate(username: str) -> None:
    """Lift the suspension of USERNAME."""
    from db.access import reinstate_user
    from db.audit import AuditContext
    from db.session import session_scope

    with session_scope() as session:
        _run(
            lambda: reinstate_user(
                session=session, context=AuditContext.operator(), username=username
            )
        )
    typer.echo(f"reinstated {username}")


@users_app.command("reset")
def users_reset(username: str) -> None:
    """New password and PIN (stdin) and token secret for USERNAME; unlocks, ends sessions."""
    from db.access import reset_user
    from db.audit import AuditContext
    from db.session import session_scope

    password, pin = _read_secrets()
    with session_scope() as session:
        enrolment = _run(
            lambda: reset_user(
                session=session,
                settings=get_settings(),
                context=AuditContext.operator(),
                username=username,
                password=password,
                pin=pin,
            )
        )
    _echo_json(dataclasses.asdict(enrolment))


@users_app.command("list")
def users_list() -> None:
    """Every account as JSON (no secrets)."""
    from db.access import describe_user, list_users
    from db.session import session_scope

    now = datetime.now(UTC)
    with session_scope() as session:
        _echo_json([describe_user(user, now=now) for user in list_users(session=session)])


@users_app.command("totp")
def users_totp(username: str) -> None:
    """The current one-time code of a DEMO account (refused for real accounts)."""
    from db.access import demo_code
    from db.session import session_scope

    with session_scope() as session:
        typer.echo(_run(lambda: demo_code(session=session, username=username)))


@clients_app.command("create")
def clients_create(
    name: str,
    authority: Annotated[str, typer.Option("--authority", help="LA code")],
    role: Annotated[list[str] | None, typer.Option("--role")] = None,
    network: Annotated[
        list[str] | None,
        typer.Option("--network", help="CIDR it may call from (repeat; default: loopback)"),
    ] = None,
    organisation: Annotated[
        str | None,
        typer.Option(
            "--organisation",
            help="KIND:CODE of the organisation it writes for (default: none, read-only)",
        ),
    ] = None,
) -> None:
    """Register CMS NAME for AUTHORITY; prints its API key once (only a digest is kept)."""
    from db.access import create_client, roles_from
    from db.audit import AuditContext
    from db.session import session_scope

    names = role or ["practitioner"]
    roles = roles_from(names)
    if len(roles) != len(set(names)):
        _fail(f"unknown role among {', '.join(names)}")
    with session_scope() as session:
        issued = _run(
            lambda: create_client(
                session=session,
                context=AuditContext.operator(),
                name=name,
                roles=roles,
                authority=authority,
                networks=network or (),
                organisation=organisation,
            )
        )
    typer.echo("Store this key now: it is shown once and cannot be recovered.", err=True)
    _echo_json({"name": issued.name, "key": issued.key})


@clients_app.command("revoke")
def clients_revoke(name: str) -> None:
    """Revoke the API key of CMS NAME."""
    from db.access import revoke_client
    from db.audit import AuditContext
    from db.session import session_scope

    with session_scope() as session:
        _run(lambda: revoke_client(session=session, context=AuditContext.operator(), name=name))
    typer.echo(f"revoked {name}")


@clients_app.command("purge-keys")
def clients_purge_keys(
    hours: Annotated[
        int | None,
        typer.Option("--older-than-hours", help="default: IDEMPOTENCY_RETENTION_HOURS", min=1),
    ] = None,
) -> None:
    """Delete the idempotency keys of CMS writes older than HOURS (a retry after that writes
    again, or gets 412 for a version it already changed)."""
    from datetime import UTC, datetime, timedelta

    from contactpoint.settings import get_settings
    from db.idempotency import purge_keys
    from db.session import session_scope

    keep = hours or get_settings().idempotency_retention_hours
    with session_scope() as session:
        purged = purge_keys(session=session, before=datetime.now(UTC) - timedelta(hours=keep))
    typer.echo(f"purged {purged} idempotency keys older than {keep} h")


@clients_app.command("list")
def clients_list() -> None:
    """Every CMS client as JSON (no keys)."""
    from db.access import list_clients
    from db.session import session_scope

    with session_scope() as session:
        _echo_json(list_clients(session=session))


@audit_app.command("export")
def audit_export(
    since: Annotated[str, typer.Option("--from", help="ISO date or time (inclusive)")],
    until: Annotated[str, typer.Option("--to", help="ISO date (inclusive) or time")],
) -> None:
    """Audit events between --from and --to as JSON Lines on stdout, oldest first."""
    from db.audit import (
        AuditContext,
        AuditEventType,
        AuditFilter,
        iter_events,
        record_audit,
    )
    from db.session import session_scope
    from searchapi.access import operator_audit_view
    from searchapi.audit_reading import readable_events

    # The operator's view is national and whole; decided in `searchapi.access`, not here.
    view = operator_audit_view()
    where = AuditFilter(
        since=_moment(since), until=_moment(until, end_of_day=True), authorities=view.authorities
    )
    # The export is audited (and committed) before anything is shown.
    with session_scope() as session:
        record_audit(
            session=session,
            event=AuditEventType.AUDIT_EXPORTED,
            context=AuditContext.operator(),
            details={"from": since, "to": until},
        )
    with session_scope() as session:
        for event in iter_events(session=session, where=where):
            (row,) = readable_events(session=session, view=view, events=[event])
            typer.echo(json.dumps(row.as_dict(), default=str))


@audit_app.command("report")
def audit_report(
    since: Annotated[
        str | None, typer.Option("--from", help="Default: the window before --to")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="Default: now")] = None,
) -> None:
    """Users whose use looks like misuse, as JSON."""
    from db.audit import AuditContext, AuditEventType, MisuseRules, misuse_report, record_audit
    from db.session import session_scope
    from searchapi.access import operator_audit_view

    settings = get_settings()
    end = _moment(until, end_of_day=True) if until else datetime.now(UTC)
    start = _moment(since) if since else end - timedelta(days=settings.misuse_window_days)
    with session_scope() as session:
        record_audit(
            session=session,
            event=AuditEventType.MISUSE_REPORT,
            context=AuditContext.operator(),
            details={"from": start.isoformat(), "to": end.isoformat()},
        )
        report = misuse_report(
            session=session,
            since=start,
            until=end,
            rules=MisuseRules.from_settings(settings),
            authorities=operator_audit_view().authorities,
        )
    _echo_json(report.as_dict())


report_app = typer.Typer(help="Management reports.")


@report_app.command("brokering")
def report_brokering(
    month: Annotated[
        str | None, typer.Option(help="YYYY-MM (default: this month)", show_default=False)
    ] = None,
    authority: Annotated[
        list[str] | None, typer.Option(help="Only these authorities' teams (repeatable)")
    ] = None,
) -> None:
    """A month's requests to put practitioners in touch: how many, brokered, declined, the
    median time to broker, and those open past the target now, as JSON."""
    import re
    from zoneinfo import ZoneInfo

    from db.requests import brokering_report, month_bounds
    from db.session import session_scope

    if month is not None and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month) is None:
        typer.echo("--month: give the month as YYYY-MM, e.g. 2026-11", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    name, since, until = month_bounds(month, datetime.now(UTC))
    with session_scope() as session:
        report = brokering_report(
            session=session,
            since=since,
            until=until,
            authorities=authority or None,
            target_days=settings.brokering_response_working_days,
            zone=ZoneInfo(settings.working_hours_timezone),
        )
    _echo_json(
        {
            "month": name,
            "authorities": sorted(authority) if authority else "all",
            "requests": report.requests,
            "brokered": report.brokered,
            "declined": report.declined,
            "open": report.open,
            "overdue": report.overdue,
            "median_hours_to_broker": report.median_hours_to_broker,
            "target_working_days": settings.brokering_response_working_days,
        }
    )
