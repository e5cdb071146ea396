"""The match model a running service ranks with: the model file, and the population's frequencies.

The model file (MATCH_MODEL_PATH, or the shipped one) is read when the application is built: a
missing, malformed or mismatched file stops the start (`matching.ModelError`), never a search.
The value frequencies, the population size and u (the levels random pairs of the population's
children fall into) come from PostgreSQL (`match_frequency`, `match_level_count`, rebuilt by
every reindex and by `contactpoint matching frequencies`), read at start-up and again every
`match_frequencies_refresh_seconds` by a thread of its own, so that no search waits for them;
while the tables are empty the model file's own frequencies and u serve. m is always the file's.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from db.match_frequencies import (
    match_statistics_version,
    read_match_frequencies,
    read_match_level_counts,
)
from matching import (
    Frequencies,
    LevelCounts,
    MatchModel,
    default_model_path,
    load_model,
    with_population_u,
)

__all__ = ["Ranker", "load_ranker"]

log = logging.getLogger(__name__)


@dataclass
class Ranker:
    """The model in use: the file's m and u, with the population's current frequencies."""

    path: Path
    base: MatchModel
    model: MatchModel
    frequencies_source: str  # "database" or "model file"
    u_source: str = "model file"  # "database" or "model file"
    # When what is in use was rebuilt: a refresh reads the tables again only when it changed.
    version: tuple[object, ...] | None = None

    @property
    def population(self) -> int:
        """How many children the prior and the frequencies are of."""
        return self.model.frequencies.population

    def use_frequencies(
        self, frequencies: Frequencies | None, levels: LevelCounts | None = None
    ) -> None:
        """Rank with `frequencies` (None: the model file's own), the prior of their population,
        and u from `levels` (None: the model file's)."""
        if frequencies is None or frequencies.population < 1:
            chosen, source = self.base.frequencies, "model file"
        else:
            chosen, source = frequencies, "database"
        model = replace(self.base, frequencies=chosen).for_population(chosen.population)
        model = with_population_u(model, levels)
        # One assignment: a search running meanwhile sees the old model or the new one, whole.
        self.model, self.frequencies_source = model, source
        self.u_source = "model file" if levels is None else "database"

    def refresh(self, session_factory: sessionmaker[Session]) -> None:
        """Read the frequencies from PostgreSQL when they were rebuilt since they were last read
        (a table of a million values costs seconds of a worker's time); keep the ones in use if
        that fails."""
        try:
            with session_factory() as session:
                version = match_statistics_version(session=session)
                if version == self.version:
                    return
                stored = read_match_frequencies(session=session)
                counted = read_match_level_counts(session=session)
        except SQLAlchemyError as exc:
            log.warning("match frequencies not read, keeping those in use: %s", exc)
            return
        self.version = version
        self.use_frequencies(
            None
            if stored is None
            else Frequencies(population=stored.population, counts=stored.counts),
            None if counted is None else LevelCounts(pairs=counted.sampled, counts=counted.counts),
        )

    def refresh_every(
        self, session_factory: sessionmaker[Session], seconds: float
    ) -> threading.Event:
        """Refresh in a daemon thread every `seconds`; set the returned event to stop it."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(seconds):
                self.refresh(session_factory)

        threading.Thread(target=loop, name="match-frequencies", daemon=True).start()
        return stop


def load_ranker(path: Path | None) -> Ranker:
    """The ranker of the model file at `path` (the shipped model when None); raises
    `matching.ModelError` when the file is missing, malformed or trained for other levels."""
    chosen = path or default_model_path()
    model = load_model(chosen)
    ranker = Ranker(path=chosen, base=model, model=model, frequencies_source="model file")
    ranker.use_frequencies(None)
    return ranker
