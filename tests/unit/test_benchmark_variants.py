"""The clause benchmark's variants (benchmarks/_variants.py): a variant leaves out exactly the
clauses it names, and never a field's only way of matching."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from _variants import VARIANTS, left_out, without  # noqa: E402

from mappings.query_builder import Criteria, build_query  # noqa: E402


def _names(node: Any) -> list[str]:
    if isinstance(node, list):
        return [name for item in node for name in _names(item)]
    if not isinstance(node, dict):
        return []
    own = node.get("constant_score", {}).get("_name") if "constant_score" in node else None
    return ([own] if isinstance(own, str) else []) + [
        name for value in node.values() for name in _names(value)
    ]


FULL = Criteria(
    given_name="Amelia",
    family_name="Hughes",
    date_of_birth=date(2015, 3, 14),
    postcode="SW1A 1AA",
)


def test_each_variant_leaves_out_only_the_clauses_it_names() -> None:
    body = {"query": build_query(FULL, access_filter=[]), "size": 10}
    names = _names(body)
    assert any(name.startswith("date_of_birth:year_only:") for name in names)
    assert any(name.startswith("postcode:outward:") for name in names)

    for variant, prefixes in VARIANTS.items():
        changed = without(body, prefixes)
        kept = _names(changed)
        assert kept == [name for name in names if not name.startswith(prefixes or ("\0",))]
        assert left_out(body, changed) == len(names) - len(kept)
        assert changed["size"] == 10, variant
    # The request itself is left as it was.
    assert _names(body) == names


def test_a_fields_only_clause_is_kept() -> None:
    year_only = Criteria(given_name="Amelia", family_name="Hughes", birth_year=2015)
    body = build_query(year_only, access_filter=[])
    names = _names(body)
    assert any(name.startswith("date_of_birth:year_only:") for name in names)

    assert without(body, VARIANTS["no_year"]) == body
    assert left_out(body, without(body, VARIANTS["neither"])) == 0
