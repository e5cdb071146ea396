"""Phonetic keys of a folded name token: Double Metaphone and NYSIIS, prefixed by algorithm."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import jellyfish
from metaphone import doublemetaphone

__all__ = ["PHONETIC_REWRITES", "phonetic_keys", "phonetic_keys_of_tokens", "spelling_variant"]

# Spellings that both algorithms miss, rewritten to a form they understand. The keys of the
# rewritten token are added to (never replace) the keys of the token itself, so a rewrite can only
# widen a match. Each rule is anchored on a pattern common in names seen in England:
PHONETIC_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    # silent p between m and s: Thompson/Thomson/Tomson, Simpson/Simson, Sampson/Samson.
    (re.compile(r"mps"), "ms"),
    # Irish and Scottish Gaelic: "bh" and "mh" after the first letter sound as v (Siobhan/Shivaun,
    # Niamh/Neve); an initial Bh (Bhatt, Bharat) is left alone.
    (re.compile(r"(?<=.)[bm]h"), "v"),
    # Gaelic and Welsh initial s before i/e + vowel sounds as sh (Siobhan, Sean, Seamus, Sian).
    (re.compile(r"^s(?:i(?=[oa])|e(?=a))"), "sh"),
)
_LETTERS_ONLY = re.compile(r"[a-z]+")


def spelling_variant(token: str) -> str:
    """The token with PHONETIC_REWRITES applied, in order."""
    for pattern, replacement in PHONETIC_REWRITES:
        token = pattern.sub(replacement, token)
    return token


def _keys_of(token: str) -> set[str]:
    primary, secondary = doublemetaphone(token)
    keys = {f"dm:{code}" for code in (primary, secondary) if code}
    keys.add(f"ny:{jellyfish.nysiis(token)}")
    return keys


@lru_cache(maxsize=262_144)
def phonetic_keys(token: str) -> frozenset[str]:
    """Keys "dm:<code>" (Double Metaphone primary and secondary) and "ny:<code>" (NYSIIS).

    Expects a folded token; anything but plain letters (numbers, empty text) has no keys.
    """
    if not _LETTERS_ONLY.fullmatch(token):
        return frozenset()
    keys = _keys_of(token)
    variant = spelling_variant(token)
    if variant != token:
        keys |= _keys_of(variant)
    return frozenset(keys)


def phonetic_keys_of_tokens(tokens: Iterable[str]) -> list[str]:
    """Sorted union of the phonetic keys of several tokens (a stable keyword array)."""
    keys: set[str] = set()
    for token in tokens:
        keys |= phonetic_keys(token)
    return sorted(keys)
