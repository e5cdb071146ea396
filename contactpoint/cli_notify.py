"""`contactpoint notify run|status|retry|webhook`: the notifications' deliverer, from the shell."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from contactpoint.settings import get_settings

notify_app = typer.Typer(help="Deliver notices by e-mail and signed webhooks.")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@notify_app.command("run")
def notify_run() -> None:
    """Deliver pending e-mails and webhooks until interrupted (retries with backoff)."""
    from db.session import get_engine
    from notify import run_deliverer

    run_deliverer(settings=get_settings(), engine=get_engine())


@notify_app.command("status")
def notify_status() -> None:
    """Deliveries by channel and state, the oldest pending one, and the latest dead letters."""
    from db.session import get_engine
    from notify import queue_status

    with get_engine().connect() as connection:
        status = queue_status(connection=connection)
    for channel in ("email", "webhook"):
        counts = status.counts.get(channel, {})
        shown = ", ".join(
            f"{state} {counts.get(state, 0)}" for state in ("pending", "delivered", "dead")
        )
        typer.echo(f"{channel}: {shown}")
    oldest = status.oldest_pending.isoformat() if status.oldest_pending else "none"
    typer.echo(f"oldest pending: {oldest}")
    typer.echo(f"dead letters: {sum(c.get('dead', 0) for c in status.counts.values())}")
    for letter in status.dead:
        typer.echo(
            f"  {letter['id']} {letter['channel']} {letter['target']} "
            f"after {letter['attempts']} attempts: {letter['last_error']}"
        )


@notify_app.command("retry")
def notify_retry(
    channel: Annotated[
        str | None, typer.Option(help="Only this channel: email or webhook.")
    ] = None,
) -> None:
    """Dead deliveries back to pending, due now, with their attempts counted afresh."""
    from db.session import get_engine
    from notify import retry_dead

    if channel is not None and channel not in ("email", "webhook"):
        _fail(f"--channel is email or webhook, not {channel!r}")
    with get_engine().begin() as connection:
        moved = retry_dead(connection=connection, channel=channel)
    typer.echo(f"{moved} dead deliveries pending again")


@notify_app.command("webhook")
def notify_webhook(
    client: Annotated[str, typer.Argument(help="The CMS client's name.")],
    url: Annotated[str | None, typer.Option(help="Where to POST its events.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove its webhook.")] = False,
) -> None:
    """Give a CMS client a webhook (prints its signing secret, once) or remove it."""
    from db.audit import AuditContext
    from db.errors import DomainError
    from db.session import session_scope
    from db.subscriptions import set_webhook

    if (url is None) == (not remove):
        _fail("give --url URL, or --remove")
    try:
        with session_scope() as session:
            secret = set_webhook(
                session=session,
                context=AuditContext.operator(),
                client_name=client,
                url=None if remove else url,
            )
    except DomainError as exc:
        _fail(exc.message)
    typer.echo(json.dumps({"client": client, "webhook_url": url, "webhook_secret": secret}))
