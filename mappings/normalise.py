"""The one normalisation module: the document builder and the query builder both call these.

Elasticsearch here has no analysis-common module (no asciifolding, phonetic or synonym filters),
so every key a search matches on is computed in Python and stored as a keyword. A query must
compute its keys with these same functions, never with its own variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mappings.addresses import STREET_SUFFIXES, address_text, address_tokens
from mappings.dates import DateParts, date_parts, swapped_day_month
from mappings.folding import APOSTROPHES, fold, name_tokens
from mappings.nickname_groups import nickname_groups, nickname_groups_of_tokens
from mappings.phonetics import (
    PHONETIC_REWRITES,
    phonetic_keys,
    phonetic_keys_of_tokens,
    spelling_variant,
)
from mappings.postcodes import (
    UK_POSTCODE_RE,
    exchanged_variants,
    inward_code,
    normalise_outward_code,
    normalise_postcode,
    outward_code,
    postcode_sector,
)

__all__ = [
    "APOSTROPHES",
    "PHONETIC_REWRITES",
    "STREET_SUFFIXES",
    "UK_POSTCODE_RE",
    "DateParts",
    "NameKeys",
    "address_text",
    "address_tokens",
    "date_parts",
    "exchanged_variants",
    "family_name_keys",
    "fold",
    "given_name_keys",
    "inward_code",
    "name_tokens",
    "nickname_groups",
    "nickname_groups_of_tokens",
    "normalise_outward_code",
    "normalise_postcode",
    "outward_code",
    "phonetic_keys",
    "phonetic_keys_of_tokens",
    "postcode_sector",
    "spelling_variant",
    "swapped_day_month",
]


@dataclass(frozen=True, slots=True)
class NameKeys:
    """Every key of one name field: folded text, tokens, phonetic keys and nickname groups."""

    folded: str
    tokens: tuple[str, ...]
    phonetic: tuple[str, ...]
    nicknames: tuple[str, ...]


def _parts(text: str) -> list[str]:
    # Phonetic keys and nicknames come from the separate words only: the joined form of
    # "Zoe Mae" ("zoemae") would sound like "Sam" and is no one's nickname.
    return fold(text).split()


# Names repeat a great deal across 11 million children (common names are very common), so the
# keys of a whole name are memoised: a reindex then computes each distinct name once.
@lru_cache(maxsize=131_072)
def given_name_keys(text: str) -> NameKeys:
    """Keys of given names, nickname groups included."""
    parts = _parts(text)
    return NameKeys(
        folded=fold(text),
        tokens=tuple(name_tokens(text)),
        phonetic=tuple(phonetic_keys_of_tokens(parts)),
        nicknames=tuple(nickname_groups_of_tokens(parts)),
    )


@lru_cache(maxsize=131_072)
def family_name_keys(text: str) -> NameKeys:
    """Keys of a family name; family names have no nickname groups."""
    parts = _parts(text)
    return NameKeys(
        folded=fold(text),
        tokens=tuple(name_tokens(text)),
        phonetic=tuple(phonetic_keys_of_tokens(parts)),
        nicknames=(),
    )
