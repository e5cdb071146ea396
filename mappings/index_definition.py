"""The children index: versioned settings and mappings, physical index names and the read alias.

Only analysis built into the Elasticsearch server is used (the standard analyzer), so the same
definition works on the integration-test distribution, which has no analysis-common module, and on
the full distribution. All other normalisation is done in Python (mappings.normalise).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mappings import fields as f

__all__ = [
    "ALIAS",
    "INDEX_NAME_PREFIX",
    "INDEX_VERSION",
    "index_mappings",
    "index_settings",
    "physical_index_name",
]

# Bump when the mapping or the normalisation changes: a reindex builds the new version beside the
# old one and swaps the alias.
INDEX_VERSION: int = 2
ALIAS = "children"
INDEX_NAME_PREFIX = f"{ALIAS}-v{INDEX_VERSION}-"


def index_settings(*, replicas: int = 1, refresh_interval: str = "1s") -> dict[str, Any]:
    """Index settings; replicas and refresh interval vary by environment (0 replicas in tests)."""
    return {
        # One shard: ~11 million small documents (about 1 KB each) make a few GB, well under the
        # tens of GB a shard handles well, and one shard keeps scoring exact and queries cheap.
        # Read throughput is scaled with replicas instead.
        "number_of_shards": 1,
        "number_of_replicas": replicas,
        "refresh_interval": refresh_interval,
    }


def _keyword() -> dict[str, Any]:
    return {"type": "keyword"}


def _text() -> dict[str, Any]:
    # The standard analyzer is in the server core; its input is already folded in Python.
    return {"type": "text", "analyzer": "standard"}


def _display_keyword() -> dict[str, Any]:
    return {"type": "keyword", "index": False, "doc_values": False}


def index_mappings() -> dict[str, Any]:
    """Mappings: strict; keywords for precomputed keys, text for free text, display not indexed."""
    return {
        "dynamic": "strict",
        "properties": {
            f.IDENTIFIER: _keyword(),
            f.GIVEN_NAMES_FOLDED: _keyword(),
            f.FAMILY_NAME_FOLDED: _keyword(),
            f.GIVEN_NAME_TOKENS: _keyword(),
            f.FAMILY_NAME_TOKENS: _keyword(),
            f.NAME_TOKENS: _keyword(),
            f.GIVEN_NAME_PHONETIC: _keyword(),
            f.FAMILY_NAME_PHONETIC: _keyword(),
            f.GIVEN_NAME_NICKNAMES: _keyword(),
            f.FULL_NAME: _text(),
            f.OTHER_FAMILY_NAMES_FOLDED: _keyword(),
            f.OTHER_FAMILY_NAME_TOKENS: _keyword(),
            f.OTHER_FAMILY_NAME_PHONETIC: _keyword(),
            f.DATE_OF_BIRTH: {"type": "date", "format": "strict_date"},
            f.DOB_YEAR: {"type": "integer"},
            f.DOB_MONTH: {"type": "integer"},
            f.DOB_DAY: {"type": "integer"},
            f.DOB_SWAPPED: {"type": "date", "format": "strict_date"},
            f.GENDER: _keyword(),
            # Location fields (mappings.fields.LOCATION_SEARCH_FIELDS).
            f.ADDRESS: _text(),
            f.ADDRESS_TOKENS: _keyword(),
            f.TOWN: _keyword(),
            f.POSTCODE: _keyword(),
            f.POSTCODE_OUTWARD: _keyword(),
            f.POSTCODE_SECTOR: _keyword(),
            f.PREVIOUS_POSTCODES: _keyword(),
            f.PREVIOUS_POSTCODE_SECTORS: _keyword(),
            f.PREVIOUS_POSTCODE_OUTWARDS: _keyword(),
            f.EDUCATION_SETTING: _text(),
            f.GP_PRACTICE: _text(),
            f.LOCAL_AUTHORITY_CODE: _keyword(),
            f.STATUS: _keyword(),
            f.SHIELDED: {"type": "boolean"},
            f.RECORD_VERSION: {"type": "long"},
            f.DISPLAY: {
                "type": "object",
                "properties": {
                    f.DISPLAY_IDENTIFIER: _display_keyword(),
                    f.DISPLAY_GIVEN_NAMES: _display_keyword(),
                    f.DISPLAY_FAMILY_NAME: _display_keyword(),
                    f.DISPLAY_GENDER: _display_keyword(),
                    f.DISPLAY_DATE_OF_BIRTH: {
                        "type": "date",
                        "format": "strict_date",
                        "index": False,
                        "doc_values": False,
                    },
                    f.DISPLAY_LOCAL_AUTHORITY_NAME: _display_keyword(),
                    f.DISPLAY_TOWN: _display_keyword(),
                    f.DISPLAY_POSTCODE_OUTWARD: _display_keyword(),
                },
            },
        },
    }


def physical_index_name(now: datetime, *, alias: str = ALIAS) -> str:
    """The name of a new physical index, e.g. "children-v1-20261126t012233123" (UTC, to the ms)."""
    if now.tzinfo is None:
        raise ValueError("physical_index_name needs a timezone-aware datetime")
    # Milliseconds, so that two reindexes within one second get different names.
    stamp = f"{now.astimezone(UTC):%Y%m%dt%H%M%S}{now.microsecond // 1000:03d}"
    return f"{alias}-v{INDEX_VERSION}-{stamp}"
