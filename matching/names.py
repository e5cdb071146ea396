"""Comparison levels of given names and family names.

A name is prepared once (`NameValue`) with the same normalisation functions that build the index
document (`mappings.normalise`), then compared level by level; the first level that applies wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple, cast

from rapidfuzz.distance import OSA

from mappings.normalise import family_name_keys, given_name_keys

__all__ = [
    "FAMILY_LEVELS",
    "GIVEN_LEVELS",
    "NameValue",
    "clear_name_memos",
    "family_level",
    "family_name_value",
    "given_level",
    "given_name_value",
    "name_value_from_keys",
    "name_value_once",
    "other_family_names_value",
    "other_family_names_value_once",
]

# Order matters: the first that applies wins. A shared whole word comes before the levels of
# sound and spelling, since an equal word would also share every key and lie within any edit.
GIVEN_LEVELS = (
    "exact",
    "folded",
    "subset",
    "overlap",
    "nickname",
    "phonetic",
    "one_edit",
    "two_edits",
    "swapped",
    "else",
)
FAMILY_LEVELS = (
    "exact",
    "folded",
    "former",
    "subset",
    "overlap",
    "phonetic",
    "one_edit",
    "two_edits",
    "swapped",
    "crossed",
    "else",
)
MISSING = -1
_G = {name: index for index, name in enumerate(GIVEN_LEVELS)}
_F = {name: index for index, name in enumerate(FAMILY_LEVELS)}

# Edits are only counted on words long enough for an edit not to make any name another:
# one edit from three letters, two from five (the query builder's rule too).
_ONE_EDIT_MIN = 3
_TWO_EDITS_MIN = 5
_osa = OSA.distance


class NameValue(NamedTuple):
    """A name prepared for comparison: its spellings, words and keys."""

    plain: str  # case-folded with whitespace collapsed, accents and punctuation kept
    folded: str
    joined: str  # folded without spaces: "mary anne" and "maryanne" agree
    words: frozenset[str]
    # The joined name, then its words, with their lengths: what edits are counted on.
    strings: tuple[tuple[str, int], ...]
    phonetic: frozenset[str]
    nicknames: frozenset[str]


def name_value_from_keys(
    text: str, *, folded: str, phonetic: Iterable[str], nicknames: Iterable[str] = ()
) -> NameValue | None:
    """A name prepared from keys already computed by `mappings.normalise` (an index document
    stores them): `text` as registered, its folded form, phonetic keys and nickname groups."""
    words = tuple(dict.fromkeys(folded.split()))
    if not words:
        return None
    joined = "".join(words)
    return NameValue(
        plain=" ".join(text.casefold().split()),
        folded=folded,
        joined=joined,
        words=frozenset(words),
        strings=tuple((x, len(x)) for x in dict.fromkeys((joined, *words))),
        phonetic=frozenset(phonetic),
        nicknames=frozenset(nicknames),
    )


_MEMO_SIZE = 131_072
_ABSENT = object()
# Names recur a great deal (common names are very common): one memo per field, emptied whole
# when full, which is simpler than least-recently-used bookkeeping and refills at once.
_GIVEN_MEMO: dict[str, NameValue | None] = {}
_FAMILY_MEMO: dict[str, NameValue | None] = {}


def _memoised(
    memo: dict[str, NameValue | None],
    text: str | None,
    *,
    given: bool,
    folded: str | None,
    phonetic: Iterable[str],
    nicknames: Iterable[str],
) -> NameValue | None:
    if text is None:
        return None
    found = memo.get(text, _ABSENT)
    if found is not _ABSENT:
        return cast(NameValue | None, found)
    if folded is None:
        keys = given_name_keys(text) if given else family_name_keys(text)
        folded, phonetic, nicknames = keys.folded, keys.phonetic, keys.nicknames
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    value = memo[text] = name_value_from_keys(
        text, folded=folded, phonetic=phonetic, nicknames=nicknames
    )
    return value


def given_name_value(
    text: str | None,
    *,
    folded: str | None = None,
    phonetic: Iterable[str] = (),
    nicknames: Iterable[str] = (),
) -> NameValue | None:
    """Given names prepared for comparison; None when they hold no letter or digit.

    A caller holding the keys `mappings.normalise.given_name_keys` computed for `text` (an index
    document stores them) passes them as `folded`, `phonetic` and `nicknames`, sparing their
    computation.
    """
    return _memoised(
        _GIVEN_MEMO, text, given=True, folded=folded, phonetic=phonetic, nicknames=nicknames
    )


def family_name_value(
    text: str | None, *, folded: str | None = None, phonetic: Iterable[str] = ()
) -> NameValue | None:
    """A family name prepared for comparison; None when it holds no letter or digit (keys as
    for `given_name_value`)."""
    return _memoised(
        _FAMILY_MEMO, text, given=False, folded=folded, phonetic=phonetic, nicknames=()
    )


def name_value_once(text: str | None, *, given: bool) -> NameValue | None:
    """Given names (`given`) or a family name prepared for comparison, memoised nowhere here
    (the keys come from `mappings.normalise`, which the query builder asks for the same text):
    what a search prepares of its query."""
    if text is None:
        return None
    keys = given_name_keys(text) if given else family_name_keys(text)
    return name_value_from_keys(
        text, folded=keys.folded, phonetic=keys.phonetic, nicknames=keys.nicknames
    )


def clear_name_memos() -> None:
    """Forget every prepared name (for benchmarks of the cold case)."""
    _GIVEN_MEMO.clear()
    _FAMILY_MEMO.clear()


def other_family_names_value_once(names: tuple[str, ...]) -> frozenset[str]:
    """The folded and joined spellings of former family names (aliases too), for `former`."""
    spellings: set[str] = set()
    for name in names:
        folded = family_name_keys(name).folded
        if folded:
            spellings.update((folded, folded.replace(" ", "")))
    return frozenset(spellings)


other_family_names_value = lru_cache(maxsize=65_536)(other_family_names_value_once)


def other_family_names_from_folded(folded: Iterable[str]) -> frozenset[str]:
    """The same from folded names already computed (an index document stores them)."""
    return frozenset(x for name in folded if name for x in (name, name.replace(" ", "")))


def _former(
    a: NameValue, b: NameValue, *, a_former: frozenset[str], b_former: frozenset[str]
) -> bool:
    """Whether one side's family name is, folded, a former family name of the other."""
    return bool(
        (b_former and (a.folded in b_former or a.joined in b_former))
        or (a_former and (b.folded in a_former or b.joined in a_former))
    )


def _edits(a: NameValue, b: NameValue) -> int:
    """1 when the whole names, or a word of each, are one edit apart (words of 3+ letters),
    2 when two apart (5+ letters), else 0. Edits are optimal string alignment: insertions,
    deletions, substitutions and transpositions of adjacent letters."""
    # The hottest loop of scoring and training: lengths are precomputed, and pairs whose
    # lengths differ by more than two are skipped without computing a distance.
    found = 0
    for x, x_length in a.strings:
        for y, y_length in b.strings:
            difference = x_length - y_length
            if difference > 2 or difference < -2:
                continue
            shorter = y_length if difference > 0 else x_length
            if shorter < _ONE_EDIT_MIN:
                continue
            distance = _osa(x, y, score_cutoff=2)
            if distance <= 1:
                return 1
            if distance == 2 and shorter >= _TWO_EDITS_MIN:
                found = 2
    return found


def _one_edit_apart(a: NameValue, b: NameValue) -> bool:
    """The whole names, or a word of each (3+ letters), one edit apart."""
    for x, x_length in a.strings:
        for y, y_length in b.strings:
            difference = x_length - y_length
            if -1 <= difference <= 1 and min(x_length, y_length) >= _ONE_EDIT_MIN:
                if _osa(x, y, score_cutoff=1) <= 1:
                    return True
    return False


def _agrees_loosely(a: NameValue, b: NameValue) -> bool:
    return a.joined == b.joined or not a.words.isdisjoint(b.words) or _one_edit_apart(a, b)


def _swapped(
    a: NameValue, b: NameValue, *, a_other: NameValue | None, b_other: NameValue | None
) -> bool:
    """Whether the names are exchanged: this name agrees with the other side's other name field
    and that side's name with this side's other one (same spelling, a shared word, or one edit
    apart, a typo too). Both ways, not one: a query's family name that happens to be some
    child's given name ("Jessica") is no exchange, and would otherwise mark both comparisons
    of every such child as swapped. One way is enough only when a side has no other name to
    check the other way (a query with the family name typed as the given name, and no family
    name): then the other comparison is missing and the evidence is counted once."""
    one_way = b_other is not None and _agrees_loosely(a, b_other)
    other_way = a_other is not None and _agrees_loosely(a_other, b)
    if one_way and other_way:
        return True
    return (one_way and a_other is None) or (other_way and b_other is None)


def _crossed(
    a: NameValue, b: NameValue, *, a_other: NameValue | None, b_other: NameValue | None
) -> bool:
    """Whether one name agrees with the other side's other name field, one way only (a family
    name typed as the given name, and a wrong or different family name beside it)."""
    return bool(
        (b_other is not None and _agrees_loosely(a, b_other))
        or (a_other is not None and _agrees_loosely(a_other, b))
    )


def _spelling_level(a: NameValue, b: NameValue) -> str | None:
    """The first of exact, folded, subset and overlap that applies, or None."""
    if a.plain == b.plain:
        return "exact"
    if a.folded == b.folded or a.joined == b.joined:
        return "folded"
    if a.words <= b.words or b.words <= a.words:
        return "subset"
    if not a.words.isdisjoint(b.words):
        return "overlap"
    return None


def given_level(
    a: NameValue | None,
    b: NameValue | None,
    *,
    a_family: NameValue | None = None,
    b_family: NameValue | None = None,
) -> int:
    """The index in GIVEN_LEVELS at which given names `a` and `b` agree, or MISSING.

    `b_family` is the other side's family name, for the swapped level.
    """
    if a is None or b is None:
        return MISSING
    spelling = _spelling_level(a, b)
    if spelling is not None:
        return _G[spelling]
    if not a.nicknames.isdisjoint(b.nicknames):
        return _G["nickname"]
    if not a.phonetic.isdisjoint(b.phonetic):
        return _G["phonetic"]
    edits = _edits(a, b)
    if edits:
        return _G["one_edit"] if edits == 1 else _G["two_edits"]
    if _swapped(a, b, a_other=a_family, b_other=b_family):
        return _G["swapped"]
    return _G["else"]


def family_level(
    a: NameValue | None,
    b: NameValue | None,
    *,
    a_given: NameValue | None = None,
    b_given: NameValue | None = None,
    a_former: frozenset[str] = frozenset(),
    b_former: frozenset[str] = frozenset(),
) -> int:
    """The index in FAMILY_LEVELS at which family names `a` and `b` agree, or MISSING.

    `b_given` is the other side's given names, for the swapped level; `b_former` the folded
    (and joined) former family names of that side, for the former level.
    """
    if a is None or b is None:
        return MISSING
    spelling = _spelling_level(a, b)
    if spelling in ("exact", "folded"):
        return _F[spelling]
    # After the current name's exact levels: the name the child had is a strong sign, but
    # weaker than the name they have (and it says nothing of a merely similar name).
    if _former(a, b, a_former=a_former, b_former=b_former):
        return _F["former"]
    if spelling is not None:
        return _F[spelling]
    if not a.phonetic.isdisjoint(b.phonetic):
        return _F["phonetic"]
    edits = _edits(a, b)
    if edits:
        return _F["one_edit"] if edits == 1 else _F["two_edits"]
    if _swapped(a, b, a_other=a_given, b_other=b_given):
        # Names exchanged both ways are one event, weighed once, by the given names'
        # comparison: this one then says nothing. One way (a side with no given names) is
        # weighed here, where the given names' comparison has nothing to compare.
        return MISSING if a_given is not None and b_given is not None else _F["swapped"]
    # One way only, either way: weighed here alone, so that the given names' comparison (which
    # sees the same pair of fields from its side) never counts it again.
    if _crossed(a, b, a_other=a_given, b_other=b_given):
        return _F["crossed"]
    return _F["else"]
