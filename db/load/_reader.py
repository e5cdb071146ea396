"""The child process of a parallel load: `python -m db.load._reader PATH BATCH_SIZE TODAY`.

Pickled batches go to stdout (db.load.batches.produce); nothing else may print there.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from contactpoint.collector import collect_less_often
from db.load.batches import produce

if __name__ == "__main__":
    collect_less_often()
    try:
        produce(
            Path(sys.argv[1]), int(sys.argv[2]), date.fromisoformat(sys.argv[3]), sys.stdout.buffer
        )
    except (KeyboardInterrupt, BrokenPipeError):
        # The parent stopped reading (it failed, or was interrupted too): it reports why.
        sys.exit(1)
