"""How long-running indexer work reports its progress; drawing it is the caller's business.

The indexer draws nothing (the `contactpoint` command draws a bar): it calls
`on_progress(done, total)` as the work advances.
"""

from __future__ import annotations

from collections.abc import Callable

# on_progress(done, total): `done` of `total` units (documents) are finished.
ProgressCallback = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """Report nothing."""
