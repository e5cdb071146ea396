"""National feeds: each source's format read into one shape (`FeedRecord`), for linking.

`feeds.sources.read_feed(source, path)` reads births, school census and child benefit CSV and
health demographics (FHIR Patient JSON Lines, `feeds.health`) line by line, each line a record
or its rejections (line, field, reason). docs/feeds/ documents the formats.
"""

from feeds.records import (
    FeedAddress,
    FeedOrganisation,
    FeedRecord,
    IdentifierKind,
    Parsed,
    Rejection,
    Source,
)
from feeds.sources import read_feed

__all__ = [
    "FeedAddress",
    "FeedOrganisation",
    "FeedRecord",
    "IdentifierKind",
    "Parsed",
    "Rejection",
    "Source",
    "read_feed",
]
