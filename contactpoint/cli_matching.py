"""`contactpoint matching train` and `matching frequencies`: the match engine's offline work.

The children are read here (through db/ sessions) and handed to `matching` as plain records:
`matching.training` returns the model file written to --out; the value frequencies are
counted and stored by `indexer.frequencies` (which every reindex calls too).
"""

from __future__ import annotations

import json
import logging
import subprocess
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import func, select

if TYPE_CHECKING:
    from matching import MatchRecord

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


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _history(row: dict[str, object], key: str, field: str) -> tuple[str, ...]:
    """The `field` of each object of the list `key` (the import format's `other_names` and
    `previous_addresses`), those that are text."""
    items = row.get(key)
    values = (
        _text(item.get(field))
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    )
    return tuple(value for value in values if value is not None)


def read_training_records(path: Path) -> tuple[list[MatchRecord], int]:
    """The records of a JSON Lines file (`given_names`, `family_name`, `date_of_birth`,
    `gender`, and `postcode` and `town` at the top level or in `address`; the family names of
    `other_names` and the postcodes of `previous_addresses`, as the import format gives them;
    each optional, a value that does not parse counts as missing), and how many lines were not
    objects."""
    from matching import MatchRecord

    records: list[MatchRecord] = []
    skipped = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1
                continue
            if not isinstance(row, dict):
                skipped += 1
                continue
            nested = row.get("address")
            address: dict[str, object] = nested if isinstance(nested, dict) else {}
            records.append(
                MatchRecord(
                    given_names=_text(row.get("given_names")),
                    family_name=_text(row.get("family_name")),
                    date_of_birth=_date(row.get("date_of_birth")),
                    postcode=_text(row.get("postcode", address.get("postcode"))),
                    town=_text(row.get("town", address.get("town"))),
                    gender=_text(row.get("gender")),
                    other_family_names=_history(row, "other_names", "family_name"),
                    previous_postcodes=_history(row, "previous_addresses", "postcode"),
                )
            )
    return records, skipped


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
    records_file: Annotated[
        Path | None,
        typer.Option(
            "--records",
            exists=True,
            dir_okay=False,
            help="Train on these records (JSON Lines, every field optional) instead of the "
            "children in PostgreSQL: a set that holds duplicates, for EM to estimate m.",
        ),
    ] = None,
    m_from: Annotated[
        Path | None,
        typer.Option(
            "--m-from",
            exists=True,
            dir_okay=False,
            help="Take m from this model file (trained where records hold duplicates) and "
            "estimate only u and the frequencies here.",
        ),
    ] = None,
) -> None:
    """Train the match model on the children in PostgreSQL (or --records) and write it to OUT."""
    from matching import ModelError, load_model, save_model
    from matching.training import TrainingError, TrainingOptions, train

    try:
        imported = None if m_from is None else load_model(m_from)
    except ModelError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    if records_file is not None:
        records, skipped = read_training_records(records_file)
        if skipped:
            typer.echo(f"note: {skipped} lines of {records_file} were not records; left out")
        population = len(records)
    else:
        from db.models import Child
        from db.session import session_scope
        from indexer.frequencies import child_records

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
        m_from=imported,
        m_from_label=None if m_from is None else m_from.name,
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
