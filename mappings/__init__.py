"""The children index: its definition, the document builder, and normalisation shared with queries.

Pure code only: nothing here talks to PostgreSQL or Elasticsearch. The normalisation functions
have one public list, `mappings.normalise` (import them from there); this file names the rest.
"""

from mappings import fields, normalise
from mappings.document import Gender, IndexedChild, Status, build_child_document
from mappings.fields import LOCATION_DISPLAY_FIELDS, LOCATION_FIELDS, LOCATION_SEARCH_FIELDS
from mappings.index_definition import (
    ALIAS,
    INDEX_NAME_PREFIX,
    INDEX_VERSION,
    index_mappings,
    index_settings,
    physical_index_name,
)

__all__ = [
    "ALIAS",
    "INDEX_NAME_PREFIX",
    "INDEX_VERSION",
    "LOCATION_DISPLAY_FIELDS",
    "LOCATION_FIELDS",
    "LOCATION_SEARCH_FIELDS",
    "Gender",
    "IndexedChild",
    "Status",
    "build_child_document",
    "fields",
    "index_mappings",
    "index_settings",
    "normalise",
    "physical_index_name",
]
