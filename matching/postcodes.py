"""Comparison levels of where a child lives: the postcode, with the town as a lower level.

The town is a level of the postcode comparison rather than a field of its own: two records with
the same postcode almost always share the town, so counting both would count one agreement twice.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz.distance import OSA

from mappings.normalise import fold, normalise_outward_code, normalise_postcode
from matching.dates import exchanged_once

__all__ = [
    "POSTCODE_COARSE_LEVELS",
    "POSTCODE_LEVELS",
    "PlaceValue",
    "place_value",
    "place_value_once",
    "postcode_level",
    "previous_postcodes_value",
    "previous_postcodes_value_once",
]

POSTCODE_LEVELS = ("exact", "near", "previous", "sector", "outward", "town", "area", "else")
# When one side knows only the district ("LS6"), or has no postcode but a town.
POSTCODE_COARSE_LEVELS = ("outward_agrees", "outward_disagrees", "town_agrees", "town_disagrees")
MISSING = -1
_osa = OSA.distance
_L = {name: index for index, name in enumerate(POSTCODE_LEVELS + POSTCODE_COARSE_LEVELS)}
_SPACES = re.compile(r"\s+")
_COMPACT = re.compile(r"^[A-Z0-9]{5,7}$")
_AREA = re.compile(r"^[A-Z]+")


class PlaceValue(NamedTuple):
    """A postcode (full, a district alone, or mistyped) and a town, prepared for comparison."""

    postcode: str | None  # normalised, when valid
    compact: str | None  # without spaces, for a full postcode or one that fails to validate
    sector: str | None
    outward: str | None
    area: str | None
    town: str | None
    district_only: bool


def _area(code: str | None) -> str | None:
    match = None if code is None else _AREA.match(code)
    return None if match is None else match.group()


def _postcode_parts(text: str) -> tuple[str | None, str | None, str | None, str | None, bool]:
    """(postcode, compact, sector, outward, district_only) of what was typed."""
    full = normalise_postcode(text)
    if full is not None:
        return full, full.replace(" ", ""), full[:-2], full.split(" ")[0], False
    district = normalise_outward_code(text)
    if district is not None:
        return None, None, None, district, True
    # Not a valid postcode: a wrong character can make it invalid, so keep what was typed to
    # compare character by character, and its district when that part is valid.
    compact = _SPACES.sub("", text).upper()
    if not _COMPACT.match(compact):
        return None, None, None, None, False
    outward = normalise_outward_code(compact[:-3])
    sector = f"{outward} {compact[-3]}" if outward and compact[-3].isdigit() else None
    return None, compact, sector, outward, False


def place_value_once(postcode: str | None, town: str | None = None) -> PlaceValue | None:
    """The postcode and town prepared for comparison; None when neither says anything.

    Not memoised: what a search prepares of its candidates (see `matching.documents`)."""
    full, compact, sector, outward, district_only = (
        _postcode_parts(postcode) if postcode else (None, None, None, None, False)
    )
    folded_town = (fold(town) or None) if town else None
    if compact is None and outward is None and folded_town is None:
        return None
    return PlaceValue(
        postcode=full,
        compact=compact,
        sector=sector,
        outward=outward,
        area=_area(outward or compact),
        town=folded_town,
        district_only=district_only,
    )


# Memoised for training, where every record is on many pairs (postcodes repeat).
place_value = lru_cache(maxsize=131_072)(place_value_once)


def previous_postcodes_value_once(postcodes: tuple[str, ...]) -> frozenset[str]:
    """The postcodes lived at before, normalised (those that fail to validate left out)."""
    return frozenset(p for p in map(normalise_postcode, postcodes) if p is not None)


previous_postcodes_value = lru_cache(maxsize=65_536)(previous_postcodes_value_once)


def _near(a: str, b: str) -> bool:
    """One character inserted, deleted or changed, or two characters exchanged ("EB5 3AB" for
    "EB3 5AB", across the space)."""
    if _osa(a, b, score_cutoff=1) <= 1:
        return True
    return len(a) == len(b) and exchanged_once(a, b)


def _full_level(
    a: PlaceValue, b: PlaceValue, a_previous: frozenset[str], b_previous: frozenset[str]
) -> int:
    if a.postcode is not None and a.postcode == b.postcode:
        return _L["exact"]
    if a.compact is not None and b.compact is not None and _near(a.compact, b.compact):
        return _L["near"]
    # Where one side lived before: the child who moved, known by the old postcode.
    if (a.postcode is not None and a.postcode in b_previous) or (
        b.postcode is not None and b.postcode in a_previous
    ):
        return _L["previous"]
    if a.sector is not None and a.sector == b.sector:
        return _L["sector"]
    if a.outward is not None and a.outward == b.outward:
        return _L["outward"]
    if a.town is not None and a.town == b.town:
        return _L["town"]
    if a.area is not None and a.area == b.area:
        return _L["area"]
    return _L["else"]


def postcode_level(
    a: PlaceValue | None,
    b: PlaceValue | None,
    *,
    a_previous: frozenset[str] = frozenset(),
    b_previous: frozenset[str] = frozenset(),
) -> int:
    """The index in POSTCODE_LEVELS (then POSTCODE_COARSE_LEVELS) at which `a` and `b` agree,
    or MISSING; `a_previous` and `b_previous` are the normalised postcodes each side lived at
    before (`previous_postcodes_value`)."""
    if a is None or b is None:
        return MISSING
    if a.district_only or b.district_only:
        if a.outward is not None and b.outward is not None:
            return _L["outward_agrees"] if a.outward == b.outward else _L["outward_disagrees"]
    elif a.compact is not None and b.compact is not None:
        return _full_level(a, b, a_previous, b_previous)
    if a.town is not None and b.town is not None:
        return _L["town_agrees"] if a.town == b.town else _L["town_disagrees"]
    return MISSING
