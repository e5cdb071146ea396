"""Field names of a child document, shared by the document builder, the mapping and queries."""

from __future__ import annotations

__all__ = [
    "ADDRESS",
    "ADDRESS_TOKENS",
    "DATE_OF_BIRTH",
    "DISPLAY",
    "DISPLAY_DATE_OF_BIRTH",
    "DISPLAY_FAMILY_NAME",
    "DISPLAY_GENDER",
    "DISPLAY_GIVEN_NAMES",
    "DISPLAY_IDENTIFIER",
    "DISPLAY_LOCAL_AUTHORITY_NAME",
    "DISPLAY_POSTCODE_OUTWARD",
    "DISPLAY_TOWN",
    "DOB_DAY",
    "DOB_MONTH",
    "DOB_SWAPPED",
    "DOB_YEAR",
    "EDUCATION_SETTING",
    "FAMILY_NAME_FOLDED",
    "FAMILY_NAME_PHONETIC",
    "FAMILY_NAME_TOKENS",
    "FULL_NAME",
    "GENDER",
    "GIVEN_NAMES_FOLDED",
    "GIVEN_NAME_NICKNAMES",
    "GIVEN_NAME_PHONETIC",
    "GIVEN_NAME_TOKENS",
    "GP_PRACTICE",
    "IDENTIFIER",
    "LOCAL_AUTHORITY_CODE",
    "LOCATION_DISPLAY_FIELDS",
    "LOCATION_FIELDS",
    "LOCATION_SEARCH_FIELDS",
    "NAME_TOKENS",
    "OTHER_FAMILY_NAMES_FOLDED",
    "OTHER_FAMILY_NAME_PHONETIC",
    "OTHER_FAMILY_NAME_TOKENS",
    "POSTCODE",
    "POSTCODE_OUTWARD",
    "POSTCODE_SECTOR",
    "PREVIOUS_POSTCODES",
    "PREVIOUS_POSTCODE_OUTWARDS",
    "PREVIOUS_POSTCODE_SECTORS",
    "RECORD_VERSION",
    "SHIELDED",
    "STATUS",
    "TOWN",
]

IDENTIFIER = "identifier"

# Names: folded text, tokens, phonetic keys and nickname groups, all computed by mappings.normalise.
GIVEN_NAMES_FOLDED = "given_names_folded"
FAMILY_NAME_FOLDED = "family_name_folded"
GIVEN_NAME_TOKENS = "given_name_tokens"
FAMILY_NAME_TOKENS = "family_name_tokens"
NAME_TOKENS = "name_tokens"
GIVEN_NAME_PHONETIC = "given_name_phonetic"
FAMILY_NAME_PHONETIC = "family_name_phonetic"
GIVEN_NAME_NICKNAMES = "given_name_nicknames"
FULL_NAME = "full_name"
# Former family names and aliases (import `other_names`), keyed like the family name.
OTHER_FAMILY_NAMES_FOLDED = "other_family_names_folded"
OTHER_FAMILY_NAME_TOKENS = "other_family_name_tokens"
OTHER_FAMILY_NAME_PHONETIC = "other_family_name_phonetic"

# Date of birth and its parts.
DATE_OF_BIRTH = "date_of_birth"
DOB_YEAR = "dob_year"
DOB_MONTH = "dob_month"
DOB_DAY = "dob_day"
DOB_SWAPPED = "dob_swapped"

GENDER = "gender"

# Location fields: they say where a child lives or can be found. Indexed for every child, shielded
# or not; the query builder leaves them out of the query for callers without the right to search a
# shielded child's location (see LOCATION_SEARCH_FIELDS).
ADDRESS = "address"
ADDRESS_TOKENS = "address_tokens"
TOWN = "town"
POSTCODE = "postcode"
POSTCODE_OUTWARD = "postcode_outward"
POSTCODE_SECTOR = "postcode_sector"
# Postcodes the child lived at before (import `previous_addresses`): location too.
PREVIOUS_POSTCODES = "previous_postcodes"
PREVIOUS_POSTCODE_SECTORS = "previous_postcode_sectors"
PREVIOUS_POSTCODE_OUTWARDS = "previous_postcode_outwards"
# A school or GP practice locates a child as surely as an address does.
EDUCATION_SETTING = "education_setting"
GP_PRACTICE = "gp_practice"

# Not a location field: the local authority's team is whom a practitioner contacts about a
# shielded child, so it is shown for every child.
LOCAL_AUTHORITY_CODE = "local_authority_code"
STATUS = "status"
SHIELDED = "shielded"
RECORD_VERSION = "record_version"

# What the result list shows, stored but not searchable.
DISPLAY = "display"
DISPLAY_IDENTIFIER = "identifier"
DISPLAY_GIVEN_NAMES = "given_names"
DISPLAY_FAMILY_NAME = "family_name"
DISPLAY_GENDER = "gender"
DISPLAY_DATE_OF_BIRTH = "date_of_birth"
DISPLAY_LOCAL_AUTHORITY_NAME = "local_authority_name"
DISPLAY_TOWN = "town"  # location
DISPLAY_POSTCODE_OUTWARD = "postcode_outward"  # location

LOCATION_SEARCH_FIELDS: frozenset[str] = frozenset(
    {
        ADDRESS,
        ADDRESS_TOKENS,
        TOWN,
        POSTCODE,
        POSTCODE_OUTWARD,
        POSTCODE_SECTOR,
        PREVIOUS_POSTCODES,
        PREVIOUS_POSTCODE_SECTORS,
        PREVIOUS_POSTCODE_OUTWARDS,
        EDUCATION_SETTING,
        GP_PRACTICE,
    }
)
# Dotted paths in _source; the result list must blank them for a shielded child unless the caller
# may see the child's location.
LOCATION_DISPLAY_FIELDS: frozenset[str] = frozenset(
    {f"{DISPLAY}.{DISPLAY_TOWN}", f"{DISPLAY}.{DISPLAY_POSTCODE_OUTWARD}"}
)
LOCATION_FIELDS: frozenset[str] = LOCATION_SEARCH_FIELDS | LOCATION_DISPLAY_FIELDS
