"""Address tokens: folded words of the address lines and town, street suffixes spelt out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from mappings.folding import fold

__all__ = ["STREET_SUFFIXES", "address_text", "address_tokens"]

# Abbreviations of street types (Royal Mail / BS 7666 usage) spelt out, so "12 Mill Ln" and
# "12 Mill Lane" give the same tokens. Kept small on purpose: only forms seen in addresses.
STREET_SUFFIXES: dict[str, str] = {
    "ave": "avenue",
    "av": "avenue",
    "bvd": "boulevard",
    "blvd": "boulevard",
    "cl": "close",
    "cres": "crescent",
    "cresc": "crescent",
    "ct": "court",
    "dr": "drive",
    "gdns": "gardens",
    "gr": "grove",
    "gro": "grove",
    "grn": "green",
    "hse": "house",
    "ln": "lane",
    "mt": "mount",
    "pde": "parade",
    "pk": "park",
    "pl": "place",
    "rd": "road",
    "sq": "square",
    "ter": "terrace",
    "terr": "terrace",
    "wlk": "walk",
}
# "St" is Street at the end of a line part ("High St") and Saint elsewhere ("St Mary's Road",
# "St Albans"); both are spelt out so a searcher may type either form.
_ST_AT_END = "street"
_ST_ELSEWHERE = "saint"


@lru_cache(maxsize=262_144)
def _part_tokens(part: str) -> tuple[str, ...]:
    words = fold(part).split()
    tokens = [STREET_SUFFIXES.get(word, word) for word in words]
    return tuple(
        (_ST_AT_END if index == len(tokens) - 1 else _ST_ELSEWHERE) if token == "st" else token
        for index, token in enumerate(tokens)
    )


def _parts(lines: Iterable[str], town: str) -> list[str]:
    # A comma ends a line part as a line break does: "12 High St, Leeds" is "12 High St" + "Leeds".
    return [part for text in (*lines, town) for part in text.split(",")]


def address_tokens(lines: Sequence[str], town: str) -> list[str]:
    """Folded tokens of the address lines and town in order, without repeats; numbers kept."""
    return list(
        dict.fromkeys(token for part in _parts(lines, town) for token in _part_tokens(part))
    )


def address_text(lines: Sequence[str], town: str) -> str:
    """The address lines and town as one folded, suffix-expanded string, for full-text search."""
    return " ".join(token for part in _parts(lines, town) for token in _part_tokens(part))
