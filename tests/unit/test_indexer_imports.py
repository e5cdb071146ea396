"""The indexer reports progress and draws nothing; the command draws the bar."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import indexer
from contactpoint.cli_progress import reindex_progress

# `import rich` fails in the child process as if it were not installed. (httpx, under the
# Elasticsearch client, loads rich for its own command line when it can, and does without.)
_WITHOUT_RICH = """
import importlib, sys
sys.modules["rich"] = None
for name in sys.argv[1:]:
    importlib.import_module(name)
"""


def test_every_indexer_module_imports_without_rich() -> None:
    modules = [f"indexer.{info.name}" for info in pkgutil.iter_modules(indexer.__path__)]

    child = subprocess.run(
        [sys.executable, "-c", _WITHOUT_RICH, *modules], capture_output=True, text=True
    )

    assert {"indexer.reindex", "indexer.worker", "indexer.progress"} <= set(modules)
    assert child.returncode == 0, child.stderr


def test_the_command_draws_the_progress_that_the_indexer_reports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with reindex_progress(enabled=True) as on_progress:
        on_progress(40, 300)
        on_progress(300, 300)

    drawn = capsys.readouterr().err
    assert "reindex" in drawn
    assert "300/300" in drawn


def test_a_disabled_progress_bar_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with reindex_progress(enabled=False) as on_progress:
        on_progress(300, 300)

    assert capsys.readouterr().err == ""
