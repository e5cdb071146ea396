"""What a load did: counts, rejections, and the report of rejected lines."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from db.load.validation import Rejection


@dataclass
class LoadResult:
    """Counts of the non-blank lines of a file, and why each rejected line was rejected.

    A rejected line may have several rejections (one per field); `rejected_lines` counts lines,
    so that `lines == inserted + updated + unchanged + rejected_lines`.
    """

    lines: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rejected_lines(self) -> int:
        """How many lines were rejected."""
        return len({rejection.line for rejection in self.rejected})

    @property
    def children_per_second(self) -> float:
        """Lines processed per second of wall-clock time."""
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    def write_rejections(self, path: Path) -> None:
        """Write one JSON object per rejection: {"line", "field", "reason"}."""
        with path.open("w", encoding="utf-8") as out:
            for rejection in self.rejected:
                out.write(json.dumps(asdict(rejection), ensure_ascii=False) + "\n")
