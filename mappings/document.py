"""The search document of one child, built from what the indexer reads in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from mappings import fields as f
from mappings.fields import LOCATION_FIELDS
from mappings.normalise import (
    address_text,
    address_tokens,
    date_parts,
    family_name_keys,
    fold,
    given_name_keys,
    normalise_postcode,
    outward_code,
    postcode_sector,
    swapped_day_month,
)

__all__ = ["LOCATION_FIELDS", "Gender", "IndexedChild", "Status", "build_child_document"]

Gender = Literal["male", "female", "other", "unknown"]
Status = Literal["active", "archived", "merged"]


@dataclass(frozen=True, slots=True)
class IndexedChild:
    """One child as the indexer reads it to index: only what search needs and the result list
    shows (not `db.models.Child`, the row, nor `db.load.import_line.ImportedChild`, a line).

    Carers, contact details and involvements are left out on purpose: the record view reads them
    from PostgreSQL, and what is not in the index cannot leak from it.
    """

    identifier: str
    given_names: str
    family_name: str
    gender: Gender
    date_of_birth: date
    address_lines: tuple[str, ...]
    town: str
    postcode: str
    status: Status
    record_version: int
    shielded: bool
    local_authority_code: str | None = None
    local_authority_name: str | None = None
    education_setting_name: str | None = None
    gp_practice_name: str | None = None
    # Former family names and aliases, and the postcodes the child lived at before.
    other_family_names: tuple[str, ...] = ()
    previous_postcodes: tuple[str, ...] = ()


def _folded_or_none(text: str | None) -> str | None:
    return None if text is None else fold(text) or None


def _other_family_keys(names: tuple[str, ...]) -> tuple[list[str], list[str], list[str]]:
    """(folded, tokens, phonetic keys) of the other family names, each value once."""
    folded: dict[str, None] = {}
    tokens: dict[str, None] = {}
    phonetic: dict[str, None] = {}
    for name in names:
        keys = family_name_keys(name)
        if keys.folded:
            folded[keys.folded] = None
        tokens.update(dict.fromkeys(keys.tokens))
        phonetic.update(dict.fromkeys(keys.phonetic))
    return list(folded), list(tokens), list(phonetic)


def _previous_postcode_keys(postcodes: tuple[str, ...]) -> tuple[list[str], list[str], list[str]]:
    """(full, sector, outward) of the previous postcodes that validate, each value once."""
    full = list(dict.fromkeys(p for p in map(normalise_postcode, postcodes) if p is not None))
    sectors = list(dict.fromkeys(s for s in map(postcode_sector, full) if s is not None))
    outwards = list(dict.fromkeys(o for o in map(outward_code, full) if o is not None))
    return full, sectors, outwards


def build_child_document(child: IndexedChild) -> dict[str, Any]:
    """The Elasticsearch document of a child: every search key precomputed, plus a display block.

    A postcode that does not validate (PostgreSQL should never hold one) leaves the postcode
    fields empty rather than failing: the child must stay findable by name and date of birth.
    """
    given = given_name_keys(child.given_names)
    family = family_name_keys(child.family_name)
    dob = date_parts(child.date_of_birth)
    swapped = swapped_day_month(child.date_of_birth)
    outward = outward_code(child.postcode)
    other_folded, other_tokens, other_phonetic = _other_family_keys(child.other_family_names)
    previous, previous_sectors, previous_outwards = _previous_postcode_keys(
        child.previous_postcodes
    )
    return {
        f.IDENTIFIER: child.identifier,
        f.GIVEN_NAMES_FOLDED: given.folded,
        f.FAMILY_NAME_FOLDED: family.folded,
        f.GIVEN_NAME_TOKENS: list(given.tokens),
        f.FAMILY_NAME_TOKENS: list(family.tokens),
        f.NAME_TOKENS: list(dict.fromkeys(given.tokens + family.tokens)),
        f.GIVEN_NAME_PHONETIC: list(given.phonetic),
        f.FAMILY_NAME_PHONETIC: list(family.phonetic),
        f.GIVEN_NAME_NICKNAMES: list(given.nicknames),
        f.FULL_NAME: f"{given.folded} {family.folded}".strip(),
        f.OTHER_FAMILY_NAMES_FOLDED: other_folded,
        f.OTHER_FAMILY_NAME_TOKENS: other_tokens,
        f.OTHER_FAMILY_NAME_PHONETIC: other_phonetic,
        f.DATE_OF_BIRTH: child.date_of_birth.isoformat(),
        f.DOB_YEAR: dob.year,
        f.DOB_MONTH: dob.month,
        f.DOB_DAY: dob.day,
        f.DOB_SWAPPED: None if swapped is None else swapped.isoformat(),
        f.GENDER: child.gender,
        # Location fields (see mappings.fields.LOCATION_FIELDS), indexed even when shielded.
        f.ADDRESS: address_text(child.address_lines, child.town),
        f.ADDRESS_TOKENS: address_tokens(child.address_lines, child.town),
        f.TOWN: fold(child.town),
        f.POSTCODE: normalise_postcode(child.postcode),
        f.POSTCODE_OUTWARD: outward,
        f.POSTCODE_SECTOR: postcode_sector(child.postcode),
        f.PREVIOUS_POSTCODES: previous,
        f.PREVIOUS_POSTCODE_SECTORS: previous_sectors,
        f.PREVIOUS_POSTCODE_OUTWARDS: previous_outwards,
        f.EDUCATION_SETTING: _folded_or_none(child.education_setting_name),
        f.GP_PRACTICE: _folded_or_none(child.gp_practice_name),
        # End of location fields.
        f.LOCAL_AUTHORITY_CODE: child.local_authority_code,
        f.STATUS: child.status,
        f.SHIELDED: child.shielded,
        f.RECORD_VERSION: child.record_version,
        f.DISPLAY: {
            f.DISPLAY_IDENTIFIER: child.identifier,
            f.DISPLAY_GIVEN_NAMES: child.given_names,
            f.DISPLAY_FAMILY_NAME: child.family_name,
            f.DISPLAY_GENDER: child.gender,
            f.DISPLAY_DATE_OF_BIRTH: child.date_of_birth.isoformat(),
            f.DISPLAY_LOCAL_AUTHORITY_NAME: child.local_authority_name,
            f.DISPLAY_TOWN: child.town,  # location
            f.DISPLAY_POSTCODE_OUTWARD: outward,  # location
        },
    }
