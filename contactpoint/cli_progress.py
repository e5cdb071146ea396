"""The command line's progress bars (rich, on stderr) for `load`, `demo-data`, `feed import`
and `reindex`.

The loader, the demo data and the reindex only report their progress through a callback;
drawing is the command's, so that nothing under `db/` or `indexer/` imports rich.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from indexer.progress import ProgressCallback, no_progress

if TYPE_CHECKING:
    from db.load import LoadProgress


class _LoadBar:
    """A bar over the bytes of the file, with the children written and children per second."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self._bar, self._task = bar, task
        self._started = time.perf_counter()
        self._children = 0

    def __call__(self, *, read_bytes: int, children: int) -> None:
        self._children += children
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        rate = f"{self._children:,} children, {self._children / elapsed:,.0f}/s"
        self._bar.update(self._task, advance=read_bytes, rate=rate)


@contextmanager
def load_progress(*, total_bytes: int, enabled: bool) -> Iterator[LoadProgress | None]:
    """The callback of a load drawing its bar while the block runs; None when disabled."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with bar:
        yield _LoadBar(bar, bar.add_task("loading", total=total_bytes, rate=""))


class _ChildrenPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        text = "" if speed is None else f"{speed:,.0f} children/s"
        return Text(text, style="progress.data.speed")


@contextmanager
def demo_data_progress(*, total: int, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """An `advance(children)` callback drawing the demo data's bar; None when disabled."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("demo data"),
        BarColumn(),
        MofNCompleteColumn(),
        _ChildrenPerSecond(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with bar:
        task = bar.add_task("demo data", total=total)
        yield lambda children: bar.advance(task, children)


@contextmanager
def feed_progress(*, total: int, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """An `advance(lines)` callback drawing a feed import's bar; None when disabled."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("feed"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with bar:
        task = bar.add_task("feed", total=total)
        yield lambda lines: bar.advance(task, lines)


@contextmanager
def reindex_progress(*, enabled: bool) -> Iterator[ProgressCallback]:
    """The reindex's `on_progress(done, total)`, drawing its bar; a no-op when disabled."""
    if not enabled:
        yield no_progress
        return
    bar = Progress(
        TextColumn("reindex"),
        BarColumn(),
        MofNCompleteColumn(),
        _ChildrenPerSecond(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with bar:
        task = bar.add_task("reindex", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield on_progress
