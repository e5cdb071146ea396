"""`contactpoint sar`: a subject access report produced at the command line, by a manager of the
child's authority named with --as (the same access decision and audit as the record page's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer


def sar(
    identifier: Annotated[str, typer.Argument(help="The child's ContactPoint ID")],
    manager: Annotated[
        str,
        typer.Option(
            "--as", help="The username of the manager of the child's authority who produces it"
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The folder to write the files into")] = Path(
        "."
    ),
    include_location: Annotated[
        bool,
        typer.Option(
            "--include-location",
            help="A shielded child's location goes into the report (audited as such)",
        ),
    ] = False,
) -> None:
    """Write subject-access-IDENTIFIER.json and .pdf: what ContactPoint holds about the child."""
    from db.access import Forbidden, NotAuthenticated, principal_for_user
    from db.audit import AuditContext, AuditEventType, Outcome, record_audit
    from db.audit.context import OPERATOR_ADDRESS
    from db.errors import DomainError
    from db.session import session_scope
    from searchapi.subject_access import produce_report

    with session_scope() as session:
        try:
            principal = principal_for_user(session=session, username=manager, now=datetime.now(UTC))
        except NotAuthenticated as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(1) from exc
    context = AuditContext(principal=principal, request_id=None, client_address=OPERATOR_ADDRESS)
    try:
        with session_scope() as session:
            report, pdf = produce_report(
                session=session,
                context=context,
                identifier=identifier,
                include_location=include_location,
                formats=["json", "pdf"],
            )
    except Forbidden as exc:
        # Refused, and audited as the API's refusals are.
        with session_scope() as session:
            record_audit(
                session=session,
                context=context,
                event=AuditEventType.ACCESS_DENIED,
                outcome=Outcome.DENIED,
                subject=f"cli sar {identifier}",
                details={"reason": exc.message},
            )
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    except DomainError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    assert pdf is not None
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"subject-access-{identifier}.json"
    pdf_path = out / f"subject-access-{identifier}.pdf"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    pdf_path.write_bytes(pdf)
    for path in (json_path, pdf_path):
        path.chmod(0o600)
    typer.echo(f"wrote {json_path} and {pdf_path}")
