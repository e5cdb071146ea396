"""Misuse monitoring over a window of the audit.

Four signals: search volume far above peers', views of shielded or sensitive records (and
break-glass), searches and views outside working hours, and repeated searches that find
nothing (fishing). Issue-6 rows are read through the detail keys of `db.audit.events`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings

# Scales the median absolute deviation to a standard deviation of normal data.
_MAD_SCALE = 1.4826


@dataclass(frozen=True)
class MisuseRules:
    """Thresholds of the report (from the settings)."""

    volume_factor: float = 3.0
    volume_mad_k: float = 5.0
    volume_min_searches: int = 20
    zero_result_threshold: int = 10
    timezone: str = "Europe/London"
    start_hour: int = 7
    end_hour: int = 19

    @classmethod
    def from_settings(cls, settings: Settings) -> MisuseRules:
        """The rules configured for this deployment."""
        return cls(
            volume_factor=settings.misuse_volume_factor,
            volume_mad_k=settings.misuse_volume_mad_k,
            volume_min_searches=settings.misuse_volume_min_searches,
            zero_result_threshold=settings.misuse_zero_result_threshold,
            timezone=settings.working_hours_timezone,
            start_hour=settings.working_hours_start,
            end_hour=settings.working_hours_end,
        )


@dataclass(frozen=True)
class VolumeFlag:
    username: str
    searches: int
    peer_median: float
    threshold: float


@dataclass(frozen=True)
class SensitiveViewFlag:
    username: str
    views: int
    shielded: int
    sensitive: int
    break_glass: int
    identifiers: list[str]


@dataclass(frozen=True)
class OutOfHoursFlag:
    username: str
    events: int
    first_at: str
    last_at: str


@dataclass(frozen=True)
class FishingFlag:
    username: str
    zero_result_searches: int
    searches: int


@dataclass(frozen=True)
class MisuseReport:
    """Who to look at, and why, between `since` and `until`."""

    since: datetime
    until: datetime
    volume: list[VolumeFlag] = field(default_factory=list)
    sensitive_views: list[SensitiveViewFlag] = field(default_factory=list)
    out_of_hours: list[OutOfHoursFlag] = field(default_factory=list)
    fishing: list[FishingFlag] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        return data

    def flagged_users(self) -> set[str]:
        """Everyone the report names."""
        groups: list[list[Any]] = [self.volume, self.sensitive_views, self.out_of_hours]
        return {flag.username for group in [*groups, self.fishing] for flag in group}


def volume_outliers(counts: Mapping[str, int], rules: MisuseRules) -> list[VolumeFlag]:
    """Users whose searches exceed max(factor x median, median + k x scaled MAD, minimum)."""
    if not counts:
        return []
    values = list(counts.values())
    median = statistics.median(values)
    mad = statistics.median(abs(value - median) for value in values) * _MAD_SCALE
    threshold = max(
        rules.volume_factor * median,
        median + rules.volume_mad_k * mad,
        float(rules.volume_min_searches),
    )
    flags = [
        VolumeFlag(username=name, searches=count, peer_median=median, threshold=threshold)
        for name, count in counts.items()
        if count > threshold
    ]
    return sorted(flags, key=lambda flag: (-flag.searches, flag.username))


# Every query: the window, and the authorities in scope (NULL: every authority).
_SCOPE = """
  occurred_at >= :since AND occurred_at < :until AND outcome = 'success'
  AND username IS NOT NULL
  AND (CAST(:authorities AS text[]) IS NULL OR authorities && CAST(:authorities AS text[]))
"""
_SEARCH_COUNTS = f"""
  SELECT username, count(*) AS searches,
         count(*) FILTER (WHERE details -> 'result_count' = '0'::jsonb) AS zero_results
  FROM audit_event WHERE event = 'search' AND {_SCOPE}
  GROUP BY username
"""
_SENSITIVE_VIEWS = f"""
  SELECT username, count(*) AS views,
         count(*) FILTER (WHERE details @> '{{"shielded": true}}') AS shielded,
         count(*) FILTER (WHERE details @> '{{"sensitive": true}}') AS sensitive,
         count(*) FILTER (WHERE details @> '{{"break_glass": true}}') AS break_glass,
         array_agg(DISTINCT subject ORDER BY subject)
           FILTER (WHERE subject IS NOT NULL) AS identifiers
  FROM audit_event
  WHERE event = 'view' AND {_SCOPE}
    AND (details @> '{{"shielded": true}}' OR details @> '{{"sensitive": true}}'
         OR details @> '{{"break_glass": true}}')
  GROUP BY username ORDER BY username
"""
_OUT_OF_HOURS = f"""
  SELECT username, count(*) AS events, min(occurred_at) AS first_at, max(occurred_at) AS last_at
  FROM audit_event
  WHERE event IN ('search', 'view') AND {_SCOPE}
    AND (extract(isodow FROM occurred_at AT TIME ZONE :tz) >= 6
         OR extract(hour FROM occurred_at AT TIME ZONE :tz) < :start_hour
         OR extract(hour FROM occurred_at AT TIME ZONE :tz) >= :end_hour)
  GROUP BY username ORDER BY username
"""


def misuse_report(
    *,
    session: Session,
    since: datetime,
    until: datetime,
    rules: MisuseRules,
    authorities: frozenset[str] | None = None,
) -> MisuseReport:
    """The four signals over [since, until), limited to `authorities` when given."""
    params: dict[str, Any] = {
        "since": since,
        "until": until,
        "authorities": sorted(authorities) if authorities is not None else None,
        "tz": rules.timezone,
        "start_hour": rules.start_hour,
        "end_hour": rules.end_hour,
    }
    searches = session.execute(text(_SEARCH_COUNTS), params).all()
    views = session.execute(text(_SENSITIVE_VIEWS), params).all()
    late = session.execute(text(_OUT_OF_HOURS), params).all()
    return MisuseReport(
        since=since,
        until=until,
        volume=volume_outliers({row.username: row.searches for row in searches}, rules),
        sensitive_views=[
            SensitiveViewFlag(
                username=row.username,
                views=row.views,
                shielded=row.shielded,
                sensitive=row.sensitive,
                break_glass=row.break_glass,
                identifiers=list(row.identifiers or []),
            )
            for row in views
        ],
        out_of_hours=[
            OutOfHoursFlag(
                username=row.username,
                events=row.events,
                first_at=row.first_at.isoformat(),
                last_at=row.last_at.isoformat(),
            )
            for row in late
        ],
        fishing=sorted(
            (
                FishingFlag(
                    username=row.username,
                    zero_result_searches=row.zero_results,
                    searches=row.searches,
                )
                for row in searches
                if row.zero_results >= rules.zero_result_threshold
            ),
            key=lambda flag: (-flag.zero_result_searches, flag.username),
        ),
    )
