"""`contactpoint matching train` and `matching frequencies`: the match engine's offline work.

The children are read here (through db/ sessions) and handed to `matching` as plain records:
`matching.training` returns the model file written to --out, `matching.count_frequencies` the
value frequencies that `rebuild_match_frequencies` stores in PostgreSQL (for the reindex to
call) and `load_match_frequencies` reads back.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from matching import Frequencies, MatchRecord

matching_app = typer.Typer(
    help="The match engine: train its model, rebuild its frequencies.", no_args_is_help=True
)

_READ_BATCH = 10_000


def _commit() -> str | None:
    """The checkout's commit (with "-dirty" when it has changes), or None outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if changes else head


def _children(session: Session, sample: int | None) -> Iterator[MatchRecord]:
    """Every child (or `sample` of them at random) as a MatchRecord."""
    from sqlalchemy.dialects.postgresql import aggregate_order_by

    from db.models import Child, OtherName, PreviousAddress
    from matching import MatchRecord

    # The history in the same statement (correlated, by index): never a query per child.
    former = (
        select(func.array_agg(aggregate_order_by(OtherName.family_name, OtherName.position)))
        .where(OtherName.child_id == Child.id)
        .scalar_subquery()
    )
    previous = (
        select(
            func.array_agg(aggregate_order_by(PreviousAddress.postcode, PreviousAddress.position))
        )
        .where(PreviousAddress.child_id == Child.id)
        .scalar_subquery()
    )
    statement = select(
        Child.given_names,
        Child.family_name,
        Child.date_of_birth,
        Child.postcode,
        Child.town,
        Child.gender,
        former.label("other_family_names"),
        previous.label("previous_postcodes"),
    )
    statement = (
        statement.order_by(func.random()).limit(sample)
        if sample is not None
        else statement.order_by(Child.id)
    )
    for row in session.execute(statement.execution_options(yield_per=_READ_BATCH)):
        yield MatchRecord(
            given_names=row.given_names,
            family_name=row.family_name,
            date_of_birth=row.date_of_birth,
            postcode=row.postcode,
            town=row.town,
            gender=row.gender,
            other_family_names=tuple(row.other_family_names or ()),
            previous_postcodes=tuple(row.previous_postcodes or ()),
        )


def rebuild_match_frequencies(*, session: Session) -> Frequencies:
    """Count the values of every child and replace the stored frequencies with the counts."""
    from db.match_frequencies import replace_match_frequencies
    from matching import count_frequencies

    frequencies = count_frequencies(_children(session, None))
    replace_match_frequencies(
        session=session, population=frequencies.population, counts=frequencies.counts
    )
    return frequencies


def load_match_frequencies(*, session: Session) -> Frequencies | None:
    """The stored frequencies, ready to put into a model (`dataclasses.replace(model,
    frequencies=...)`), or None when they were never built."""
    from db.match_frequencies import read_match_frequencies
    from matching import Frequencies

    stored = read_match_frequencies(session=session)
    if stored is None:
        return None
    return Frequencies(population=stored.population, counts=stored.counts)


@matching_app.command("frequencies")
def frequencies_command() -> None:
    """Rebuild the value frequencies in PostgreSQL from the children."""
    from db.session import session_scope

    with session_scope() as session:
        frequencies = rebuild_match_frequencies(session=session)
    sizes = ", ".join(f"{name} {len(table)}" for name, table in frequencies.counts.items())
    typer.echo(f"counted the values of {frequencies.population} children; stored {sizes}")


@matching_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option(dir_okay=False, writable=True, help="The model file.")],
    sample: Annotated[
        int | None, typer.Option(min=2, help="Train on this many children drawn at random.")
    ] = None,
    u_pairs: Annotated[
        int, typer.Option(min=1_000, help="Random pairs sampled to estimate u.")
    ] = 2_000_000,
    em_pairs: Annotated[
        int, typer.Option(min=1_000, help="Most blocked pairs per EM session.")
    ] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Seed of the random sampling of u.")] = 1,
    min_duplicate_pairs: Annotated[
        int, typer.Option(min=1, help="Likely duplicate pairs needed to run EM.")
    ] = 50,
) -> None:
    """Train the match model on the children in PostgreSQL and write it to OUT."""
    from db.models import Child
    from db.session import session_scope
    from matching import save_model
    from matching.training import TrainingError, TrainingOptions, train

    with session_scope() as session:
        population = int(session.scalar(select(func.count()).select_from(Child)) or 0)
        records = list(_children(session, sample))
    # Splink reports every sampling chunk at INFO; its warnings still show.
    logging.getLogger("splink").setLevel(logging.WARNING)
    options = TrainingOptions(
        u_max_pairs=u_pairs,
        em_max_pairs=em_pairs,
        seed=seed,
        min_duplicate_pairs=min_duplicate_pairs,
        commit=_commit(),
    )
    try:
        result = train(records, population=population, options=options)
    except TrainingError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    save_model(result.model, out)
    sources = ", ".join(
        f"{name} {params.m_source}" for name, params in result.model.comparisons.items()
    )
    typer.echo(
        f"trained on {len(records)} of {population} children "
        f"({result.duplicate_pairs} likely duplicate pairs); m: {sources}"
    )
    for note in result.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"wrote {out}")
