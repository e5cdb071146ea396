"""UK postcodes: one normal form ("SW1A 1AA") and its outward code, inward code and sector."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "UK_POSTCODE_RE",
    "exchanged_variants",
    "inward_code",
    "normalise_outward_code",
    "normalise_postcode",
    "outward_code",
    "postcode_sector",
]

# The gov.uk (BS 7666) pattern on the postcode with its spaces removed and upper-cased: the outward
# code (area letters, district number, optional letter) then the inward code (sector digit, unit
# letters, never C I K M O V). GIR 0AA is the one historic exception still in use.
_OUTWARD = r"GIR(?=0AA)|[A-PR-UWYZ][0-9][0-9A-HJKPSTUW]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRVWXY]?"
UK_POSTCODE_RE = re.compile(rf"^(?P<outward>{_OUTWARD})(?P<inward>[0-9][ABD-HJLNP-UW-Z]{{2}})$")
# An outward code on its own, as a searcher types "LS6" for a district (GIR excluded).
_OUTWARD_ONLY_RE = re.compile(
    r"^(?:[A-PR-UWYZ][0-9][0-9A-HJKPSTUW]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRVWXY]?)$"
)
_WHITESPACE_RE = re.compile(r"\s+")


@lru_cache(maxsize=65_536)
def normalise_postcode(text: str) -> str | None:
    """The postcode in upper case with one space before the inward code, or None if not valid."""
    match = UK_POSTCODE_RE.match(_WHITESPACE_RE.sub("", text).upper())
    if match is None:
        return None
    return f"{match['outward']} {match['inward']}"


def normalise_outward_code(text: str) -> str | None:
    """An outward code typed alone ("ls6 " gives "LS6"), or None if it is not one."""
    candidate = _WHITESPACE_RE.sub("", text).upper()
    return candidate if _OUTWARD_ONLY_RE.match(candidate) else None


def outward_code(text: str) -> str | None:
    """The outward code ("SW1A" of "SW1A 1AA"), or None if the text is not a valid postcode."""
    postcode = normalise_postcode(text)
    return None if postcode is None else postcode.split(" ")[0]


def inward_code(text: str) -> str | None:
    """The inward code ("1AA" of "SW1A 1AA"), or None if the text is not a valid postcode."""
    postcode = normalise_postcode(text)
    return None if postcode is None else postcode.split(" ")[1]


def postcode_sector(text: str) -> str | None:
    """The postcode sector ("SW1A 1" of "SW1A 1AA"), or None if the text is not a valid postcode."""
    postcode = normalise_postcode(text)
    return None if postcode is None else postcode[:-2]


def exchanged_variants(postcode: str) -> list[str]:
    """The valid postcodes that a normalised `postcode` becomes with two of its characters
    exchanged, anywhere ("EB5 3AB" of "EB3 5AB", across the space): a common slip of the
    hand and of copying, which one edit does not reach."""
    compact = postcode.replace(" ", "")
    found: dict[str, None] = {}
    for i in range(len(compact)):
        for j in range(i + 1, len(compact)):
            if compact[i] == compact[j]:
                continue
            chars = list(compact)
            chars[i], chars[j] = chars[j], chars[i]
            variant = normalise_postcode("".join(chars))
            if variant is not None and variant != postcode:
                found[variant] = None
    return list(found)
