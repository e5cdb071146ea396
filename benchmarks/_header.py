"""The header line every benchmark prints before its figures, and its --json report.

A figure quoted in the README or a note can then be reproduced: the commit (with "-dirty" when
the checkout had changes), the child count, the settings that move the figures, and whether the
data was built by this run or reused from an earlier one.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parents[1]
HEADER_PREFIX = "# "


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def commit() -> str:
    """`git rev-parse --short HEAD`, with "-dirty" when the tree has changes ("unknown" outside
    a checkout)."""
    head = _git("rev-parse", "--short", "HEAD")
    if not head:
        return "unknown"
    changes = _git("status", "--porcelain")
    return f"{head}-dirty" if changes is None or changes else head


def is_clean(revision: str) -> bool:
    """Whether `revision` (as `commit()` gives it) names committed code."""
    return revision != "unknown" and not revision.endswith("-dirty")


def header(script: str, *, children: int, fields: Mapping[str, object]) -> dict[str, object]:
    """The header's fields, in the order printed: script, commit, children, then `fields`."""
    return {
        "script": script,
        "commit": commit(),
        "children": children,
        **fields,
        "cores": os.cpu_count(),
    }


def header_line(fields: Mapping[str, object]) -> str:
    """One line, `# script key=value ...`; values never hold spaces."""
    script = fields["script"]
    pairs = " ".join(
        f"{key}={str(value).replace(' ', '_')}" for key, value in fields.items() if key != "script"
    )
    return f"{HEADER_PREFIX}{script} {pairs}"


def print_header(script: str, *, children: int, fields: Mapping[str, object]) -> dict[str, object]:
    """Print the header line; returns its fields (for a --json report)."""
    values = header(script, children=children, fields=fields)
    print(header_line(values), flush=True)
    return values


def write_report(path: Path | None, report: Mapping[str, object]) -> None:
    """Write the run's report as JSON to `path` (the scripts' --json), if given."""
    if path is not None:
        path.write_text(json.dumps(report, indent=2, default=str) + "\n")


def es_heap(client: Elasticsearch) -> str:
    """The running node's maximum heap (not the setting: a node already up may have another)."""
    nodes: dict[str, Any] = client.nodes.stats(metric="jvm")["nodes"]
    heap = sum(node["jvm"]["mem"]["heap_max_in_bytes"] for node in nodes.values())
    return f"{heap / 2**30:.1f}GiB"


def pg_setting(engine: Engine, name: str) -> str:
    """A setting of the running PostgreSQL server, e.g. shared_buffers."""
    with engine.connect() as connection:
        return str(
            connection.execute(text("SELECT current_setting(:name)"), {"name": name}).scalar_one()
        )
