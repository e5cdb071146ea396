"""National feeds: each source's format read into one shape (`FeedRecord`), for linking.

`feeds.sources.read_feed(source, path)` reads births, school census and child benefit CSV and
health demographics (FHIR Patient JSON Lines, `feeds.health`) line by line, each line a record
or its rejections (line, field, reason). docs/feeds/ documents the formats.
"""

from typing import TYPE_CHECKING, Any

from feeds.records import (
    FeedAddress,
    FeedOrganisation,
    FeedRecord,
    IdentifierKind,
    Parsed,
    Rejection,
    Source,
)

if TYPE_CHECKING:
    from feeds.sources import read_feed


def __getattr__(name: str) -> Any:
    # Read lazily: the API imports the review queue (`feeds.review`) without the readers, which
    # bring the bulk load's validators (`db.load`) with them.
    if name == "read_feed":
        from feeds.sources import read_feed

        return read_feed
    raise AttributeError(name)


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
