"""`contactpoint matching train` and `matching frequencies`: the match engine's offline work.

The children are read here (through db/ sessions) and handed to `matching` as plain records:
`matching.training` returns the model file written to --out; the value frequencies are
counted and stored by `indexer.frequencies` (which every reindex calls too).
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select

matching_app = typer.Typer(
    help="The match engine: train its model, rebuild its frequencies.", no_args_is_help=True
)


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


@matching_app.command("frequencies")
def frequencies_command() -> None:
    """Rebuild the value frequencies in PostgreSQL from the children."""
    from db.session import session_scope
    from indexer.frequencies import rebuild_match_frequencies

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
    from indexer.frequencies import child_records
    from matching import save_model
    from matching.training import TrainingError, TrainingOptions, train

    with session_scope() as session:
        population = int(session.scalar(select(func.count()).select_from(Child)) or 0)
        records = list(child_records(session, sample))
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
