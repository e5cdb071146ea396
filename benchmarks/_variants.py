"""The clause benchmark's variants of a search request (benchmarks/clauses.py): the same
request with some of its named clauses left out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Which clauses each variant leaves out, by the `_name` prefix the query builder gives them
# ("field:kind:position").
VARIANTS: dict[str, tuple[str, ...]] = {
    "full": (),
    "no_year": ("date_of_birth:year_only:",),
    "no_outward": ("postcode:outward:",),
    "neither": ("date_of_birth:year_only:", "postcode:outward:"),
}


def without(node: Any, prefixes: tuple[str, ...]) -> Any:
    """A copy of the request with every dis_max alternative named by one of `prefixes` left
    out, unless it is the only alternative of its dis_max; and every clause so named that only
    adds to the score (in a bool's `should` with no minimum to match)."""
    if isinstance(node, list):
        return [without(item, prefixes) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: without(value, prefixes) for key, value in node.items()}
    dis_max = copied.get("dis_max")
    if prefixes and isinstance(dis_max, dict):
        kept = [q for q in dis_max["queries"] if not _named(q).startswith(prefixes)]
        if kept:
            dis_max["queries"] = kept
    scoring = copied.get("bool")
    if prefixes and isinstance(scoring, dict) and "minimum_should_match" not in scoring:
        should = scoring.get("should")
        if isinstance(should, list):
            scoring["should"] = [q for q in should if not _named(q).startswith(prefixes)]
    return copied


def _named(query: Mapping[str, Any]) -> str:
    name = query.get("constant_score", {}).get("_name", "")
    return name if isinstance(name, str) else ""


def left_out(body: Mapping[str, Any], variant: Mapping[str, Any]) -> int:
    """How many clauses the variant left out of the request."""
    return _count_named(body) - _count_named(variant)


def _count_named(node: Any) -> int:
    if isinstance(node, list):
        return sum(_count_named(item) for item in node)
    if not isinstance(node, dict):
        return 0
    own = 1 if isinstance(node.get("constant_score"), dict) and _named(node) else 0
    return own + sum(_count_named(value) for value in node.values())
