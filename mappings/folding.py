"""Text folding and name tokens: the one spelling of a name that index and query both use."""

from __future__ import annotations

import re
from functools import lru_cache

from anyascii import anyascii

__all__ = ["APOSTROPHES", "fold", "name_tokens"]

# Removed without a space so that O'Brien, O’Brien and OBrien are one token. anyascii already turns
# most typographic apostrophes into "'", the others are listed in case it ever stops doing so.
APOSTROPHES = "'\u2019\u2018\u201b\u02bc\u02bb\u00b4`\u2032"
_APOSTROPHE_RE = re.compile(f"[{re.escape(APOSTROPHES)}]")
# After transliteration anything but a letter or digit separates words: hyphens, dots, commas,
# slashes, brackets. Names and addresses never need punctuation to match.
_SEPARATOR_RE = re.compile(r"[^a-z0-9]+")


# Towns, schools, practices and common names recur across millions of children: memoised.
@lru_cache(maxsize=262_144)
def fold(text: str) -> str:
    """Transliterate to ASCII, case-fold, drop apostrophes, turn other punctuation into spaces."""
    ascii_text = anyascii(text)
    ascii_text = _APOSTROPHE_RE.sub("", ascii_text).casefold()
    return _SEPARATOR_RE.sub(" ", ascii_text).strip()


def name_tokens(text: str) -> list[str]:
    """Folded tokens of a name in order, then the joined form when the name has several tokens.

    "O'Brien-Smith" gives ["obrien", "smith", "obriensmith"], so a searcher who types the name
    with a hyphen, a space or neither finds the same child; the joined form also covers
    "Van der Berg" typed as "Vanderberg".
    """
    parts = fold(text).split()
    tokens = list(dict.fromkeys(parts))
    if len(parts) > 1:
        joined = "".join(parts)
        if joined not in tokens:
            tokens.append(joined)
    return tokens
