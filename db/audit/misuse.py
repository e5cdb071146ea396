"""Misuse monitoring over a window of the audit.

Five signals: break glass that nobody reviewed within the working days allowed (first: the
most serious), search volume far above peers', views of shielded or sensitive records (and
break-glass), searches and views outside working hours, and fishing: searches that find
nothing or too much, and refused requests. Beside them, every attempt on the guarded archive
(granted or refused), for a reader to judge against its reason. Rows are read through the
detail keys of `db.audit.events`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from contactpoint.settings import Settings
from db.audit.working_days import is_overdue

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
    review_working_days: int = 2

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
            review_working_days=settings.break_glass_review_working_days,
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
class UnreviewedBreakGlassFlag:
    username: str
    client_name: str | None
    identifier: str
    authority: str | None
    broken_at: str
    review_id: int


@dataclass(frozen=True)
class ArchiveAccessFlag:
    """One attempt to open an archived record: who, which child, why, and the outcome."""

    username: str
    identifier: str | None
    reason: str | None
    outcome: str
    occurred_at: str


@dataclass(frozen=True)
class FishingFlag:
    username: str
    zero_result_searches: int
    too_many_matches: int
    refusals: int
    searches: int

    @property
    def signals(self) -> int:
        """Everything that counts as fishing: what the threshold is compared with."""
        return self.zero_result_searches + self.too_many_matches + self.refusals


@dataclass(frozen=True)
class MisuseReport:
    """Who to look at, and why, between `since` and `until`."""

    since: datetime
    until: datetime
    unreviewed_break_glass: list[UnreviewedBreakGlassFlag] = field(default_factory=list)
    volume: list[VolumeFlag] = field(default_factory=list)
    sensitive_views: list[SensitiveViewFlag] = field(default_factory=list)
    out_of_hours: list[OutOfHoursFlag] = field(default_factory=list)
    fishing: list[FishingFlag] = field(default_factory=list)
    archive_access: list[ArchiveAccessFlag] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        return data

    def flagged_users(self) -> set[str]:
        """Everyone the report names."""
        groups: list[list[Any]] = [
            self.unreviewed_break_glass,
            self.volume,
            self.sensitive_views,
            self.out_of_hours,
        ]
        named = {flag.username for group in [*groups, self.fishing] for flag in group}
        return named | {flag.username for flag in self.archive_access}


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
_WINDOW = """
  occurred_at >= :since AND occurred_at < :until AND username IS NOT NULL
  AND (CAST(:authorities AS text[]) IS NULL OR authorities && CAST(:authorities AS text[]))
"""
_SCOPE = f"{_WINDOW} AND outcome = 'success'"
_SEARCH_COUNTS = f"""
  SELECT username, count(*) AS searches,
         count(*) FILTER (WHERE details -> 'result_count' = '0'::jsonb
                          AND NOT details @> '{{"too_many_matches": true}}') AS zero_results,
         count(*) FILTER (WHERE details @> '{{"too_many_matches": true}}') AS too_many
  FROM audit_event WHERE event = 'search' AND {_SCOPE}
  GROUP BY username
"""
# Refused requests of known principals: 422s (too little to search on, a malformed
# identifier...) and 403s. A run of them is probing, as much as searches that find nothing.
_REFUSAL_COUNTS = f"""
  SELECT username, count(*) AS refusals
  FROM audit_event
  WHERE event IN ('request_refused', 'access_denied', 'archive_opened') AND outcome = 'denied'
    AND {_WINDOW}
  GROUP BY username
"""
# Open reviews of break glass before the end of the window, whenever it began: one that
# nobody reviewed stays on the report until someone does.
_OPEN_REVIEWS = """
  SELECT r.id, r.broken_by, r.client_name, r.local_authority_code, r.broken_at, c.identifier
  FROM break_glass_review r JOIN child c ON c.id = r.child_id
  WHERE r.outcome IS NULL AND r.broken_at < :until
    AND (CAST(:authorities AS text[]) IS NULL
         OR r.local_authority_code = ANY (CAST(:authorities AS text[])))
  ORDER BY r.broken_at, r.id
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
# Every attempt on the archive, granted or refused, in the window: few, and each to be judged.
_ARCHIVE_ACCESS = """
  SELECT username, subject, details ->> 'archive_reason' AS reason, outcome, occurred_at
  FROM audit_event
  WHERE event = 'archive_opened' AND occurred_at >= :since AND occurred_at < :until
    AND username IS NOT NULL
    AND (CAST(:authorities AS text[]) IS NULL OR authorities && CAST(:authorities AS text[]))
  ORDER BY occurred_at, id
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
    now: datetime | None = None,
) -> MisuseReport:
    """The five signals over [since, until), limited to `authorities` when given.

    A break glass is unreviewed if its review is still open and was due (after
    `rules.review_working_days` working days) by `until` or `now`, whichever is earlier.
    """
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
    refusals = {
        row.username: row.refusals for row in session.execute(text(_REFUSAL_COUNTS), params)
    }
    as_of = min(until, now or datetime.now(UTC))
    zone = ZoneInfo(rules.timezone)
    overdue = [
        UnreviewedBreakGlassFlag(
            username=row.broken_by,
            client_name=row.client_name,
            identifier=row.identifier,
            authority=row.local_authority_code,
            broken_at=row.broken_at.isoformat(),
            review_id=row.id,
        )
        for row in session.execute(text(_OPEN_REVIEWS), params)
        if is_overdue(row.broken_at, now=as_of, days=rules.review_working_days, zone=zone)
    ]
    return MisuseReport(
        since=since,
        until=until,
        unreviewed_break_glass=overdue,
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
        fishing=_fishing(searches, refusals, rules),
        archive_access=[
            ArchiveAccessFlag(
                username=row.username,
                identifier=row.subject,
                reason=row.reason,
                outcome=row.outcome,
                occurred_at=row.occurred_at.isoformat(),
            )
            for row in session.execute(text(_ARCHIVE_ACCESS), params)
        ],
    )


def _fishing(searches: Any, refusals: Mapping[str, int], rules: MisuseRules) -> list[FishingFlag]:
    """Users whose searches finding nothing or too much, and refused requests, reach the
    threshold together (someone refused every search made no search at all)."""
    counted = {row.username: row for row in searches}
    flags = [
        FishingFlag(
            username=name,
            zero_result_searches=counted[name].zero_results if name in counted else 0,
            too_many_matches=counted[name].too_many if name in counted else 0,
            refusals=refusals.get(name, 0),
            searches=counted[name].searches if name in counted else 0,
        )
        for name in counted.keys() | refusals.keys()
    ]
    return sorted(
        (flag for flag in flags if flag.signals >= rules.zero_result_threshold),
        key=lambda flag: (-flag.signals, flag.username),
    )
