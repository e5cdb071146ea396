"""The append-only audit: writing it, reading it back and watching it for misuse."""

from db.audit.context import AuditContext
from db.audit.events import AuditEventType, Outcome, SearchDetails, SignInDetails, ViewDetails
from db.audit.misuse import MisuseReport, MisuseRules, misuse_report, volume_outliers
from db.audit.query import AuditFilter, event_as_dict, iter_events, list_events
from db.audit.writer import record_audit

__all__ = [
    "AuditContext",
    "AuditEventType",
    "AuditFilter",
    "MisuseReport",
    "MisuseRules",
    "Outcome",
    "SearchDetails",
    "SignInDetails",
    "ViewDetails",
    "event_as_dict",
    "iter_events",
    "list_events",
    "misuse_report",
    "record_audit",
    "volume_outliers",
]
