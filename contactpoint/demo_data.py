"""Synthetic demo population: children in England in the import format, the same file per seed.

The file depends only on the seed and the child count (and the pinned Faker data): no clock,
no global random state, no set iteration. Dates are relative to `REFERENCE_DATE`.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from contactpoint.demo_history import HistoryDraw, add_history
from contactpoint.demo_households import REFERENCE_DATE, household
from contactpoint.demo_services import catalogue

__all__ = [
    "REFERENCE_DATE",
    "check_digit",
    "generate_children",
    "generate_households",
    "write_demo_file",
]

# Identifiers start with 9: NHS numbers issued in England start with 4 to 7 (and 999 is the
# test range), so a demo identifier is never a real child's NHS number.
_ID_PREFIX = 900_000_000
_ID_SPACE = 100_000_000
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_CHUNK = 2_000


def check_digit(nine_digits: str) -> int | None:
    """The NHS modulus-11 check digit of nine digits, or None when there is none (remainder 1)."""
    total = sum(int(d) * w for d, w in zip(nine_digits, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 10:
        return None
    return 0 if check == 11 else check


class _Identifiers:
    """Unique identifiers without a set: an affine bijection of a counter over 10**8 numbers."""

    def __init__(self, rng: random.Random) -> None:
        step = rng.randrange(_ID_SPACE // 3, _ID_SPACE)
        while step % 2 == 0 or step % 5 == 0:  # coprime with 10**8: the map is a bijection
            step += 1
        self._step, self._offset, self._counter = step, rng.randrange(_ID_SPACE), 0

    def __call__(self) -> str:
        while True:
            body = str(_ID_PREFIX + (self._step * self._counter + self._offset) % _ID_SPACE)
            self._counter += 1
            check = check_digit(body)
            if check is not None:
                return f"{body}{check}"


def generate_households(*, count: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    """Households of `count` children in all (the last one may be cut short), eldest first."""
    rng = random.Random(seed)
    areas = catalogue()
    next_id = _Identifiers(rng)
    history = HistoryDraw(seed)
    left = count
    while left > 0:
        children = household(rng, areas, next_id)[:left]
        add_history(history, children)
        left -= len(children)
        yield children


def generate_children(*, count: int, seed: int) -> Iterator[dict[str, Any]]:
    """`count` children as import-format objects; siblings are adjacent."""
    for children in generate_households(count=count, seed=seed):
        yield from children


def _write_chunk(out: TextIO, lines: list[str], progress: Callable[[int], None] | None) -> int:
    out.write("\n".join(lines) + "\n")
    count = len(lines)
    lines.clear()
    if progress is not None:
        progress(count)
    return count


def write_demo_file(
    *, path: Path, children: int, seed: int, progress: Callable[[int], None] | None = None
) -> int:
    """Write `children` children of `seed` to `path` as JSON Lines; return how many were written.

    `progress` is told how many children each write added (the CLI draws the bar).
    """
    partial = path.with_name(path.name + ".part")
    written = 0
    with partial.open("w", encoding="utf-8", newline="\n") as out:
        lines: list[str] = []
        for child in generate_children(count=children, seed=seed):
            lines.append(_ENCODER.encode(child))
            if len(lines) == _CHUNK:
                written += _write_chunk(out, lines, progress)
        if lines:
            written += _write_chunk(out, lines, progress)
    # The whole file or none: an interrupted run leaves only the .part file behind.
    os.replace(partial, path)
    return written
