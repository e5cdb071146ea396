"""The comparison definitions: fields, their ordered levels, and the fingerprint of both.

Training (Splink) and scoring use these same definitions, so the levels of a trained model line
up with the levels the scorer assigns. A model file records the fingerprint; a model trained
for other definitions is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from matching.dates import DOB_COARSE_LEVELS, DOB_LEVELS, dob_level
from matching.names import FAMILY_LEVELS, GIVEN_LEVELS, family_level, given_level
from matching.postcodes import POSTCODE_COARSE_LEVELS, POSTCODE_LEVELS, postcode_level
from matching.prepared import Prepared

__all__ = [
    "COMPARISONS",
    "DEFINITIONS_VERSION",
    "MISSING",
    "CoarseLevel",
    "Comparison",
    "Level",
    "comparison_named",
    "fingerprint",
]

# Bump when a level's rule changes without its name or description changing.
DEFINITIONS_VERSION = 1
MISSING = -1


@dataclass(frozen=True, slots=True)
class Level:
    """One comparison level: its rule in words, the m assumed when training cannot estimate
    it, and whether its u is adjusted by the frequency of the agreeing value."""

    name: str
    description: str
    prior_m: float
    term_frequency: bool = False


@dataclass(frozen=True, slots=True)
class CoarseLevel:
    """A level for a side that knows less (a year of birth, a district): its m and u are the
    sums of those of the fine levels `of`, or one minus that sum when `complement`."""

    name: str
    description: str
    of: tuple[str, ...]
    complement: bool = False


@dataclass(frozen=True, slots=True)
class Comparison:
    """One field's comparison: levels in order (the first that applies wins, the last is
    "else"), coarse levels, and the function that tells the level of a pair."""

    name: str
    columns: tuple[str, ...]  # the MatchRecord fields it reads
    levels: tuple[Level, ...]
    coarse: tuple[CoarseLevel, ...]
    level_of: Callable[[Prepared, Prepared], int]
    frequency_key: Callable[[Prepared], str | None] | None = None

    @property
    def level_names(self) -> tuple[str, ...]:
        """Fine then coarse level names, in the order of the indices `level_of` returns."""
        return tuple(level.name for level in self.levels) + tuple(c.name for c in self.coarse)


def _given(a: Prepared, b: Prepared) -> int:
    return given_level(a.given, b.given, a_family=a.family, b_family=b.family)


def _family(a: Prepared, b: Prepared) -> int:
    return family_level(
        a.family,
        b.family,
        a_given=a.given,
        b_given=b.given,
        a_former=a.other_families,
        b_former=b.other_families,
    )


def _dob(a: Prepared, b: Prepared) -> int:
    return dob_level(a.birth, b.birth)


def _postcode(a: Prepared, b: Prepared) -> int:
    return postcode_level(
        a.place, b.place, a_previous=a.previous_postcodes, b_previous=b.previous_postcodes
    )


def _gender(a: Prepared, b: Prepared) -> int:
    if a.gender is None or b.gender is None:
        return MISSING
    return 0 if a.gender == b.gender else 1


def _given_key(p: Prepared) -> str | None:
    return None if p.given is None else p.given.folded


def _family_key(p: Prepared) -> str | None:
    return None if p.family is None else p.family.folded


def _postcode_key(p: Prepared) -> str | None:
    return None if p.place is None else p.place.postcode


def _name_levels(*, given: bool) -> tuple[Level, ...]:
    field = "given names" if given else "family names"
    shortened = "Molly / Molly Sienna" if given else "Brown / Taylor-Brown"
    rows: list[tuple[str, str, float]] = [
        ("exact", "the same, ignoring case and spacing", 0.80 if given else 0.847),
        ("folded", "the same once folded (accents, apostrophes, hyphens, spaces)", 0.03),
    ]
    if not given:
        # Children change family name (adoption, a parent's new family) and a searcher may
        # know the one before: about 2% have a former name, and a few of the searches for them
        # use it. Kept small, so that a former name weighs less than most current ones.
        rows.append(("former", "the same (folded) as a former family name of the other", 0.003))
    rows += [
        # A searcher often types one of several given names; a double-barrelled family name
        # is shortened less often.
        (
            "subset",
            f"every word of one is a word of the other ({shortened})",
            0.07 if given else 0.03,
        ),
        ("overlap", "at least one word in common", 0.01),
    ]
    if given:
        rows.append(("nickname", "a word of each shares a nickname group (Bill / William)", 0.02))
    rows += [
        ("phonetic", "a word of each shares a Double Metaphone or NYSIIS key", 0.02),
        ("one_edit", "the names, or a word of each (3+ letters), one edit apart", 0.02),
        ("two_edits", "the names, or a word of each (5+ letters), two edits apart", 0.01),
        (
            "swapped",
            (
                "names exchanged: agrees with the other side's family name, and that side's "
                "given names with this side's family name (weighed here, once)"
                if given
                else "agrees with the other side's given names, which has no family name; "
                "names exchanged both ways are weighed by the given names (no level here)"
            ),
            0.01,
        ),
    ]
    if not given:
        # A given name agreeing with the other side's family name, or this family name with
        # its given name, while the other two disagree: one name typed in the other's field.
        # Weighed by the family names' comparison alone, so never twice.
        rows.append(
            (
                "crossed",
                "names exchanged one way only: a given name agrees with the other side's "
                "family name, or the family name with its given names",
                0.01,
            )
        )
    rows += [("else", f"the {field} disagree", 0.01)]
    exact_levels = {"exact", "folded"}
    levels = tuple(
        Level(name, description, prior, term_frequency=name in exact_levels)
        for name, description, prior in rows
    )
    return _in_order(levels, GIVEN_LEVELS if given else FAMILY_LEVELS)


def _in_order(levels: tuple[Level, ...], names: tuple[str, ...]) -> tuple[Level, ...]:
    """`levels`, checked to be in the order of the indices the level function returns."""
    if tuple(level.name for level in levels) != names:
        raise RuntimeError(f"levels {[x.name for x in levels]} are not in the order {names}")
    return levels


_DOB_DESCRIPTIONS: dict[str, tuple[str, float]] = {
    "exact": ("the same date", 0.90),
    "day_month_swapped": ("day and month exchanged (04/03 for 03/04)", 0.02),
    "one_digit": ("one digit of YYYYMMDD different, or two adjacent digits transposed", 0.04),
    "year_off_by_one": ("the year one apart, day and month the same", 0.01),
    "year_only": ("only the year the same", 0.01),
    "else": ("the dates disagree", 0.02),
}
_POSTCODE_DESCRIPTIONS: dict[str, tuple[str, float]] = {
    "exact": ("the same postcode (normalised)", 0.82),
    "near": ("one character different, or two characters exchanged", 0.02),
    # Children move: the postcode a searcher knows may be where the child lived before.
    "previous": ("the same as a postcode the other lived at before", 0.03),
    "sector": ("the same sector (EB3 5)", 0.01),
    "outward": ("the same district, the outward code (EB3)", 0.02),
    "town": ("a different district but the same town", 0.04),
    "area": ("the same postcode area, the letters (EB)", 0.02),
    "else": ("the postcodes and towns disagree", 0.04),
}

COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        name="given_names",
        columns=("given_names", "family_name"),
        levels=_name_levels(given=True),
        coarse=(),
        level_of=_given,
        frequency_key=_given_key,
    ),
    Comparison(
        name="family_name",
        columns=("family_name", "given_names", "other_family_names"),
        levels=_name_levels(given=False),
        coarse=(),
        level_of=_family,
        frequency_key=_family_key,
    ),
    Comparison(
        name="date_of_birth",
        columns=("date_of_birth", "birth_year"),
        levels=tuple(
            Level(name, *_DOB_DESCRIPTIONS[name], term_frequency=False) for name in DOB_LEVELS
        ),
        coarse=(
            CoarseLevel(
                DOB_COARSE_LEVELS[0],
                "one side knows only the year, and the years agree",
                of=("exact", "day_month_swapped", "year_only"),
            ),
            CoarseLevel(
                DOB_COARSE_LEVELS[1],
                "one side knows only the year, and the years differ",
                of=("exact", "day_month_swapped", "year_only"),
                complement=True,
            ),
        ),
        level_of=_dob,
    ),
    Comparison(
        name="postcode",
        columns=("postcode", "town", "previous_postcodes"),
        levels=tuple(
            Level(name, *_POSTCODE_DESCRIPTIONS[name], term_frequency=name == "exact")
            for name in POSTCODE_LEVELS
        ),
        coarse=(
            CoarseLevel(
                POSTCODE_COARSE_LEVELS[0],
                "one side knows only the district, and the districts agree",
                of=("exact", "sector", "outward"),
            ),
            CoarseLevel(
                POSTCODE_COARSE_LEVELS[1],
                "one side knows only the district, and the districts differ",
                of=("exact", "sector", "outward"),
                complement=True,
            ),
            CoarseLevel(
                POSTCODE_COARSE_LEVELS[2],
                "one side has no postcode, and the towns agree",
                of=("exact", "near", "sector", "outward", "town"),
            ),
            CoarseLevel(
                POSTCODE_COARSE_LEVELS[3],
                "one side has no postcode, and the towns differ",
                of=("exact", "near", "sector", "outward", "town"),
                complement=True,
            ),
        ),
        level_of=_postcode,
        frequency_key=_postcode_key,
    ),
    Comparison(
        name="gender",
        columns=("gender",),
        levels=(Level("agree", "the same gender", 0.97), Level("else", "different", 0.03)),
        coarse=(),
        level_of=_gender,
    ),
)


def comparison_named(name: str) -> Comparison:
    """The comparison called `name` (KeyError when there is none)."""
    for comparison in COMPARISONS:
        if comparison.name == name:
            return comparison
    raise KeyError(name)


def _definition(comparisons: tuple[Comparison, ...]) -> dict[str, object]:
    return {
        "version": DEFINITIONS_VERSION,
        "comparisons": [
            {
                "name": c.name,
                "columns": list(c.columns),
                "levels": [[x.name, x.description, x.term_frequency] for x in c.levels],
                "coarse": [[x.name, x.description, list(x.of), x.complement] for x in c.coarse],
            }
            for c in comparisons
        ],
    }


def fingerprint(comparisons: tuple[Comparison, ...] = COMPARISONS) -> str:
    """A digest of the fields and their levels; a model records the one it was trained for."""
    text = json.dumps(_definition(comparisons), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
