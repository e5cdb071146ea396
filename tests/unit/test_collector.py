"""The collector's settings of the bulk processes (contactpoint.collector)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from contactpoint.collector import BULK_THRESHOLDS, collect_less_often


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_what_exists_is_frozen_and_the_thresholds_raised() -> None:
    collect_less_often()

    assert gc.get_threshold() == BULK_THRESHOLDS
    assert gc.get_freeze_count() > 0
    # Still a collector: a cycle made afterwards is collected.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1


def test_the_load_reader_runs_with_them() -> None:
    # The reader child sets them before it reads (a process of its own: nothing here changes).
    code = (
        "import runpy, sys, gc; sys.argv = ['x', '/dev/null', '10', '2026-01-01'];"
        "import db.load.batches as b; b.produce = lambda *a: print(gc.get_threshold());"
        "runpy.run_module('db.load._reader', run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(BULK_THRESHOLDS)
