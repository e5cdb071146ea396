"""The header line every benchmark prints before its figures, and its --json report.

A figure quoted in the README or a note can then be reproduced: the commit (with "-dirty" when
the checkout had changes), the child count, the settings that move the figures, and whether the
data was built by this run or reused from an earlier one.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from elasticsearch import Elasticsearch
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parents[1]
HEADER_PREFIX = "# "


def _git(*args: str, root: Path = ROOT) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
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


# What an index's documents are made of: the mapping, the fields and their keys, and what is
# read from PostgreSQL. The query and the running of the builders are not: an index built before
# a change there holds the same documents as one built after it.
DOCUMENT_CODE: Final = ("mappings", "indexer/source.py", "indexer/actions.py")
_NOT_DOCUMENT_CODE: Final = frozenset({"mappings/query_builder.py"})


def document_code(revision: str, *, root: Path = ROOT) -> str | None:
    """A digest of the code that makes the index's documents at a committed `revision`; None
    when it cannot be told (not a commit, or not in the checkout at `root`)."""
    if not is_clean(revision):
        return None
    listing = _git("ls-tree", "-r", revision, "--", *DOCUMENT_CODE, root=root)
    if not listing:
        return None
    kept = [line for line in listing.splitlines() if line.split("\t")[-1] not in _NOT_DOCUMENT_CODE]
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()


def same_documents(built_at: str | None, *, root: Path = ROOT) -> bool:
    """Whether an index built at `built_at` holds the documents that the checkout at `root`
    would build: the document code is the same at both commits and has no uncommitted change."""
    leave_out = [f":(exclude){path}" for path in sorted(_NOT_DOCUMENT_CODE)]
    changes = _git("status", "--porcelain", "--", *DOCUMENT_CODE, *leave_out, root=root)
    if built_at is None or changes != "":
        return False
    built = document_code(built_at, root=root)
    head = _git("rev-parse", "HEAD", root=root) or "unknown"
    return built is not None and built == document_code(head, root=root)


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
