"""An audit event as a row of the audit page: who, for whom, what was asked, shown and withheld.

Pure (no I/O): reads the detail keys of `db.audit.events` and never adds to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from db.audit import AuditEventType, MisuseReport, MisuseRules
from db.models import AuditEvent
from db.vocabulary import ARCHIVE_REASONS
from searchapi.access import ReadableDetails
from searchapi.pages.form_dates import show_time
from searchapi.pages.words import record_part

EVENT_LABELS: Final[Mapping[str, str]] = {
    AuditEventType.SIGN_IN: "Sign-in",
    AuditEventType.SIGN_OUT: "Sign-out",
    AuditEventType.ACCESS_DENIED: "Access refused",
    AuditEventType.SEARCH: "Search",
    AuditEventType.VIEW: "Record view",
    AuditEventType.SHIELD_APPLIED: "Shield applied",
    AuditEventType.SHIELD_REMOVED: "Shield removed",
    AuditEventType.CONSENT_OVERRIDE: "Consent overridden",
    AuditEventType.CONTACT_BROKERED: "Contact brokered",
    AuditEventType.USER_CREATED: "Account created",
    AuditEventType.USER_SUSPENDED: "Account suspended",
    AuditEventType.USER_REINSTATED: "Account reinstated",
    AuditEventType.USER_RESET: "Account reset",
    AuditEventType.USER_VETTING_RECORDED: "Vetting recorded",
    AuditEventType.CLIENT_CREATED: "CMS client created",
    AuditEventType.CLIENT_REVOKED: "CMS client revoked",
    AuditEventType.AUDIT_READ: "Audit read",
    AuditEventType.AUDIT_EXPORTED: "Audit exported",
    AuditEventType.MISUSE_REPORT: "Misuse report",
    AuditEventType.LOAD: "Data load",
    AuditEventType.REINDEX: "Reindex",
    AuditEventType.SHIELD_ACCESS_GRANTED: "Shield access granted",
    AuditEventType.SHIELD_ACCESS_REVOKED: "Shield access revoked",
    AuditEventType.CONSENT_RECORDED: "Consent recorded",
    AuditEventType.BREAK_GLASS_REVIEWED: "Break glass reviewed",
    AuditEventType.REQUEST_REFUSED: "Request refused",
    AuditEventType.LIFECYCLE_RUN: "Lifecycle run",
    AuditEventType.EXTENSION_RECORDED: "Extension recorded",
    AuditEventType.CHILD_CORRECTED: "Record corrected",
    AuditEventType.CORRECTION_DECIDED: "Feed change to a correction decided",
    AuditEventType.CORRECTIONS_READ: "Corrections history read",
    AuditEventType.SUBJECT_ACCESS_REPORT: "Subject access report produced",
    AuditEventType.ARCHIVE_OPENED: "Archived record opened",
    AuditEventType.AUDIT_RETENTION: "Audit retention",
    AuditEventType.BACKUP_MADE: "Backup made",
    AuditEventType.BACKUP_RESTORED: "Backup restored",
}
OUTCOME_LABELS: Final[Mapping[str, str]] = {
    "success": "Opened",
    "failure": "No archived child",
    "denied": "Refused",
}
_TOO_MANY: Final = "too_many_matches"
_SEARCH_KEYS: Final = frozenset({"criteria", "result_count", "identifiers_shown", _TOO_MANY})
_VIEW_KEYS: Final = frozenset(
    {"identifier", "shown_fields", "withheld_fields", "shielded", "sensitive", "break_glass"}
)


@dataclass(frozen=True)
class AuditRow:
    """One line of the audit table, every cell already text."""

    id: int
    when: str
    who: str
    on_behalf_of: str
    event: str
    outcome: str
    asked: str
    # What the event's reader was shown, and what was withheld from them (not the record's flags).
    shown: str
    withheld: str
    request_id: str
    break_glass: bool
    # Why values of the row are withheld from this reader ("" when none are).
    redaction: str


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, Mapping):
        return pairs(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def pairs(details: Mapping[str, Any], *, skip: frozenset[str] = frozenset()) -> str:
    """`details` as "key: value; ..." text, leaving out blanks and the `skip` keys."""
    return "; ".join(
        f"{key.replace('_', ' ')}: {_text(value)}"
        for key, value in details.items()
        if key not in skip and value not in (None, "", [], {})
    )


def _search(details: Mapping[str, Any]) -> tuple[str, str, str]:
    criteria = details.get("criteria")
    asked = pairs(criteria) if isinstance(criteria, Mapping) else ""
    shown_ids = details.get("identifiers_shown") or []
    count = details.get("result_count", len(shown_ids))
    shown = f"{count} found" + (f"; shown: {_text(shown_ids)}" if shown_ids else "")
    # Anything else the row keeps (an error) says what happened, not what was kept back.
    extra = pairs(details, skip=_SEARCH_KEYS)
    shown += f"; {extra}" if extra else ""
    withheld = f"All {count} matches: too many to show" if details.get(_TOO_MANY) else ""
    return asked, shown, withheld


def _parts(names: object) -> str:
    """A record's parts named in the audit, in words."""
    return ", ".join(record_part(str(name)) for name in names) if isinstance(names, list) else ""


def _view(subject: str | None, details: Mapping[str, Any]) -> tuple[str, str, str]:
    # The record's flags say what was asked for; only `withheld_fields` was kept from the reader.
    flags = [name for name in ("shielded", "sensitive") if details.get(name)]
    asked = f"Record {subject or details.get('identifier', '')}"
    if flags:
        asked += f" ({' and '.join(flags)})"
    if details.get("break_glass"):
        asked += f"; break-glass reason: {details.get('reason') or 'none given'}"
    shown = _parts(details.get("shown_fields")) or "Nothing"
    withheld = _parts(details.get("withheld_fields")) or "Nothing"
    return asked, shown, withheld


def audit_row(event: AuditEvent, readable: ReadableDetails, *, zone: ZoneInfo) -> AuditRow:
    """How the audit page shows `event` with the details this reader may see (`readable`); a CMS
    acts on behalf of the user it names."""
    details = readable.details
    if event.event == AuditEventType.SEARCH:
        asked, shown, withheld = _search(details)
    elif event.event == AuditEventType.VIEW:
        asked, shown, withheld = _view(event.subject, details)
    else:
        asked = "; ".join(part for part in (event.subject or "", pairs(details)) if part)
        shown = withheld = ""
    via_client = event.client_id is not None
    return AuditRow(
        id=event.id,
        when=show_time(event.occurred_at, zone),
        who=(event.client_name or "") if via_client else (event.username or "Unknown"),
        on_behalf_of=(event.username or "") if via_client else "",
        event=EVENT_LABELS.get(event.event, event.event),
        outcome=event.outcome,
        asked=asked,
        shown=shown,
        withheld=withheld,
        request_id=event.request_id or "",
        break_glass=bool(details.get("break_glass")),
        redaction=readable.reason or "",
    )


@dataclass(frozen=True)
class MisuseSection:
    """One signal of the misuse report as a table: a row per flagged user, username first."""

    caption: str
    id: str
    columns: list[tuple[str, bool]]
    rows: list[tuple[str, ...]]
    empty: str
    # What counts, in a sentence the page shows under the caption.
    description: str = ""


def misuse_sections(
    report: MisuseReport, *, zone: ZoneInfo, rules: MisuseRules | None = None
) -> list[MisuseSection]:
    """The five signals of `report`, unreviewed break glass first: the most serious reading."""
    rules = rules or MisuseRules()

    def when(value: str) -> str:
        return show_time(datetime.fromisoformat(value), zone)

    days = rules.review_working_days
    return [
        MisuseSection(
            f"Break glass not reviewed after {days} working days",
            "unreviewed-break-glass",
            [("User", False), ("Child", False), ("Authority", False), ("When", False)],
            [
                (
                    f.username + (f" (through {f.client_name})" if f.client_name else ""),
                    f.identifier,
                    f.authority or "None on record",
                    when(f.broken_at),
                )
                for f in report.unreviewed_break_glass
            ],
            f"Every break glass was reviewed within {days} working days.",
            f"Each break glass waits for a manager of the child's authority to record whether it "
            f"was justified. Listed: those still waiting {days} working days (Monday to Friday; "
            f"bank holidays are not counted out) after the glass was broken, whenever that was.",
        ),
        MisuseSection(
            "Shielded or sensitive records viewed, and break-glass",
            "sensitive-views",
            [("User", False), ("Views", True), ("Shielded", True), ("Sensitive", True)]
            + [("Break-glass", True), ("Records", False)],
            [
                (f.username, str(f.views), str(f.shielded), str(f.sensitive), str(f.break_glass))
                + (", ".join(f.identifiers),)
                for f in report.sensitive_views
            ],
            "No one viewed a shielded or sensitive record, or broke the glass.",
        ),
        MisuseSection(
            "Searches far above their peers",
            "volume",
            [("User", False), ("Searches", True), ("Peers' median", True), ("Threshold", True)],
            [
                (f.username, str(f.searches), f"{f.peer_median:g}", f"{f.threshold:g}")
                for f in report.volume
            ],
            "No one searched far more than their peers.",
        ),
        MisuseSection(
            "Searches and views outside working hours",
            "out-of-hours",
            [("User", False), ("Events", True), ("First", False), ("Last", False)],
            [
                (f.username, str(f.events), when(f.first_at), when(f.last_at))
                for f in report.out_of_hours
            ],
            "No one searched or viewed records outside working hours.",
        ),
        MisuseSection(
            "Fishing: searches that found nothing or too much, and refusals",
            "fishing",
            [("User", False), ("Searches finding nothing", True), ("Too many matches", True)]
            + [("Refused requests", True), ("All searches", True)],
            [
                (
                    f.username,
                    str(f.zero_result_searches),
                    str(f.too_many_matches),
                    str(f.refusals),
                    str(f.searches),
                )
                for f in report.fishing
            ],
            "No one made many searches that found nothing or too much, or had many refusals.",
            f"Counted together per user: searches that found nothing, searches with too many "
            f"matches to show, and refused requests (too little to search on, an invalid field, "
            f"an action their role does not allow). Listed from {rules.zero_result_threshold}.",
        ),
        MisuseSection(
            "Archived records opened, and refused attempts",
            "archive-access",
            [("User", False), ("Child", False), ("Reason", False), ("Outcome", False)]
            + [("When", False)],
            [
                (
                    f.username,
                    f.identifier or "",
                    ARCHIVE_REASONS.get(f.reason or "", "None given or not on the list"),
                    OUTCOME_LABELS.get(f.outcome, f.outcome),
                    when(f.occurred_at),
                )
                for f in report.archive_access
            ],
            "No one opened, or tried to open, an archived record.",
            "Every attempt on the archive, granted or refused: each must fit one of the "
            "regulations' purposes (the words given are in the audit).",
        ),
    ]
