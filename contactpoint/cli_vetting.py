"""`contactpoint users vetting` and `users record-vetting`: users' vetting from the shell.

The same service functions as the admin pages (`db.access.record_vetting`, `vetting_due`);
each record is audited with the operating-system user as the actor (`cli:NAME`).
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from contactpoint.settings import get_settings

if TYPE_CHECKING:
    from db.access import VettingChange, VettingRow

# The table's width when the output is not a terminal (a file, a pipe): nothing is cut.
_PIPED_WIDTH = 200

IdentityCheckedBy = Annotated[
    str | None,
    typer.Option("--identity-checked-by", help="Who checked their identity (a name)."),
]
IdentityCheckedOn = Annotated[
    str | None, typer.Option("--identity-checked-on", help="When (YYYY-MM-DD).")
]
DbsCheckedOn = Annotated[
    str | None,
    typer.Option("--dbs-checked-on", help="Date of the enhanced criminal-records (DBS) check."),
]
TrainingCompletedOn = Annotated[
    str | None,
    typer.Option("--training-completed-on", help="When the mandatory training was completed."),
]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _day(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        _fail(f"{option}: not a date (YYYY-MM-DD): {value!r}")
        raise


def vetting_change(
    *,
    identity_checked_by: str | None,
    identity_checked_on: str | None,
    dbs_checked_on: str | None,
    training_completed_on: str | None,
) -> VettingChange | None:
    """The options as a `db.access.VettingChange` (None when none was given)."""
    from db.access import VettingChange

    values = (identity_checked_by, identity_checked_on, dbs_checked_on, training_completed_on)
    if all(value is None for value in values):
        return None
    return VettingChange(
        identity_checked_by=identity_checked_by,
        identity_checked_on=_day("--identity-checked-on", identity_checked_on),
        dbs_checked_on=_day("--dbs-checked-on", dbs_checked_on),
        training_completed_on=_day("--training-completed-on", training_completed_on),
    )


def warn_if_not_vetted(username: str, change: VettingChange | None) -> None:
    """Say, on stderr, that an account created without its whole vetting cannot sign in."""
    complete = (
        change is not None
        and change.identity_checked_on is not None
        and change.dbs_checked_on is not None
        and change.training_completed_on is not None
    )
    if not complete:
        typer.echo(
            f"note: {username} cannot sign in until their identity check, DBS check and "
            f"training are recorded (contactpoint users record-vetting {username} ...)",
            err=True,
        )


def users_record_vetting(
    username: str,
    identity_checked_by: IdentityCheckedBy = None,
    identity_checked_on: IdentityCheckedOn = None,
    dbs_checked_on: DbsCheckedOn = None,
    training_completed_on: TrainingCompletedOn = None,
) -> None:
    """Record or update USERNAME's vetting (what is not given stays as it was)."""
    from db.access import PROBLEM_LABELS, record_vetting
    from db.audit import AuditContext
    from db.errors import DomainError
    from db.session import session_scope

    change = vetting_change(
        identity_checked_by=identity_checked_by,
        identity_checked_on=identity_checked_on,
        dbs_checked_on=dbs_checked_on,
        training_completed_on=training_completed_on,
    )
    if change is None:
        _fail(
            "give --identity-checked-by with --identity-checked-on, --dbs-checked-on or "
            "--training-completed-on"
        )
        return
    try:
        with session_scope() as session:
            recorded = record_vetting(
                session=session,
                settings=get_settings(),
                context=AuditContext.operator(),
                username=username,
                change=change,
            )
    except DomainError as exc:
        _fail(exc.message)
        return
    if recorded.problems:
        missing = ", ".join(PROBLEM_LABELS[problem] for problem in recorded.problems)
        typer.echo(
            f"recorded; {recorded.username} still cannot sign in ({missing}); "
            f"ended {recorded.sessions_ended} sessions"
        )
    else:
        typer.echo(f"recorded; {recorded.username}'s vetting is current")


def _table(rows: list[VettingRow], *, within: int) -> Table:
    from db.access import PROBLEM_LABELS

    table = Table(
        title=f"Vetting lapsed, or lapsing within {within} days",
        box=box.SIMPLE,
        title_justify="left",
    )
    for header in (
        "Username",
        "State",
        "DBS check",
        "Lapses after",
        "Days left",
        "Identity checked",
        "Training",
        "Not current",
    ):
        table.add_column(header, overflow="fold")
    for row in rows:
        identity = (
            f"{row.identity_checked_on} by {row.identity_checked_by}"
            if row.identity_checked_on
            else "-"
        )
        table.add_row(
            row.username,
            row.state,
            str(row.dbs_checked_on or "-"),
            str(row.lapses_after or "-"),
            "-" if row.days_left is None else str(row.days_left),
            identity,
            str(row.training_completed_on or "-"),
            ", ".join(PROBLEM_LABELS[problem] for problem in row.problems) or "-",
        )
    return table


def users_vetting(
    within: Annotated[
        int | None,
        typer.Option("--within", min=0, max=3660, help="DAYS (default: VETTING_WARNING_DAYS)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Accounts whose vetting has lapsed, or whose DBS check lapses within DAYS."""
    from db.access import VettingRules, vetting_due
    from db.session import session_scope

    rules = VettingRules.from_settings(get_settings())
    days = rules.warning_days if within is None else within
    with session_scope() as session:
        rows = vetting_due(session=session, rules=rules, now=datetime.now(UTC), within_days=days)
    if as_json:
        typer.echo(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    if not rows:
        typer.echo(f"No account's vetting has lapsed or lapses within {days} days.")
        return
    if sys.stdout.isatty():
        Console(highlight=False).print(_table(rows, within=days))
        return
    # Piped: wide enough that nothing is cut, without the padding to that width.
    buffer = io.StringIO()
    Console(file=buffer, width=_PIPED_WIDTH, highlight=False).print(_table(rows, within=days))
    typer.echo("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()))
