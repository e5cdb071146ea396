"""Starting the API loads what it serves with, and neither the bulk load nor a terminal UI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a uvicorn worker does: import the app's module and build the app (servers are connected
# only at start-up, which this does not run). A fresh interpreter, so that nothing the tests
# imported already is counted.
_START_THE_API = """
import json, sys
from searchapi.main import create_app
create_app()
print(json.dumps(sorted(sys.modules)))
"""


def _modules_loaded_by_starting_the_api() -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", _START_THE_API],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    modules: list[str] = json.loads(completed.stdout.splitlines()[-1])
    return modules


def test_starting_the_api_imports_neither_the_loader_nor_rich() -> None:
    modules = _modules_loaded_by_starting_the_api()
    # The probe did start the API, models, Elasticsearch client and all.
    assert {"searchapi.main", "db.models", "elasticsearch"} <= set(modules)
    assert [name for name in modules if name.startswith("db.load")] == []
    assert [name for name in modules if name == "rich" or name.startswith("rich.")] == []
