"""Nickname groups of given names: Bill, Billy and Will share a group with William."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files

from nicknames import NickNamer

from mappings.folding import fold

__all__ = ["nickname_groups", "nickname_groups_of_tokens"]

_UK_FILE = "uk_nicknames.txt"

_Edges = set[tuple[str, str]]


def _package_edges() -> _Edges:
    """(canonical, nickname) pairs of the `nicknames` package, folded, reversed pairs dropped."""
    edges: _Edges = set()
    for canonical, nicks in NickNamer.default_lookup().items():
        for nick in nicks:
            edges.add((fold(canonical), fold(nick)))
    return _drop_reversed(edges)


def _drop_reversed(edges: _Edges) -> _Edges:
    """Where a pair is listed both ways, keep only the way from the name with more nicknames.

    The package lists "bill has nickname robert" as well as "robert has nickname bill"; kept both
    ways, Bill becomes a group holding Robert and William, and Robert would match William.
    """
    counts: dict[str, int] = {}
    for canonical, _ in edges:
        counts[canonical] = counts.get(canonical, 0) + 1
    return {
        (canonical, nick)
        for canonical, nick in edges
        if (nick, canonical) not in edges or counts[canonical] >= counts[nick]
    }


def _parse_uk_lines(lines: Iterable[str]) -> tuple[_Edges, _Edges]:
    """The (canonical, nickname) pairs a UK data file adds, and those it removes ("!" lines)."""
    added: _Edges = set()
    removed: _Edges = set()
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        target = removed if line.startswith("!") else added
        names = [fold(name) for name in line.lstrip("!").split(",")]
        canonical, *nicks = [name for name in names if name]
        target.update((canonical, nick) for nick in nicks)
    return added, removed


def _build_table(edges: _Edges) -> dict[str, frozenset[str]]:
    """Name -> group ids: itself when it is a canonical name, plus the canonicals it is short for.

    Deliberately not a transitive closure: the package's graph is so connected that a closure
    would put most English names in one group.
    """
    table: dict[str, set[str]] = {}
    for canonical, nick in edges:
        if canonical == nick or " " in canonical or " " in nick:
            continue
        table.setdefault(canonical, set()).add(canonical)
        table.setdefault(nick, set()).add(canonical)
    return {name: frozenset(groups) for name, groups in table.items()}


def _load_table() -> dict[str, frozenset[str]]:
    text = files("mappings.data").joinpath(_UK_FILE).read_text(encoding="utf-8")
    added, removed = _parse_uk_lines(text.splitlines())
    return _build_table((_package_edges() | added) - removed)


# Built once at import (a few thousand pairs); every lookup afterwards is one dict access.
_GROUPS: dict[str, frozenset[str]] = _load_table()


def nickname_groups(token: str) -> set[str]:
    """Group ids (canonical given names) of a folded given-name token; empty when unknown."""
    return set(_GROUPS.get(token, ()))


def nickname_groups_of_tokens(tokens: Iterable[str]) -> list[str]:
    """Sorted union of the nickname groups of several tokens (a stable keyword array)."""
    groups: set[str] = set()
    for token in tokens:
        groups |= _GROUPS.get(token, frozenset())
    return sorted(groups)
