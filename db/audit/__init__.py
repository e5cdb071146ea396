"""The append-only audit: writing it, reading it back, watching it for misuse and sealing it."""

from db.audit.context import AuditContext
from db.audit.events import AuditEventType, Outcome, SearchDetails, SignInDetails, ViewDetails
from db.audit.kept import raise_kept, was_kept
from db.audit.misuse import MisuseReport, MisuseRules, misuse_report, volume_outliers
from db.audit.query import AuditFilter, event_as_dict, iter_events, list_events
from db.audit.seal import SealKeyError, trusted_keys
from db.audit.sealer import SealerWaiting, SealSummary, run_sealer, seal_once
from db.audit.verify import Misfit, Problem, VerifyReport, verify_audit
from db.audit.writer import record_audit

__all__ = [
    "AuditContext",
    "AuditEventType",
    "AuditFilter",
    "MisuseReport",
    "Misfit",
    "MisuseRules",
    "Outcome",
    "Problem",
    "SealKeyError",
    "SealSummary",
    "SealerWaiting",
    "SearchDetails",
    "SignInDetails",
    "VerifyReport",
    "ViewDetails",
    "event_as_dict",
    "iter_events",
    "list_events",
    "misuse_report",
    "raise_kept",
    "record_audit",
    "run_sealer",
    "seal_once",
    "trusted_keys",
    "verify_audit",
    "volume_outliers",
    "was_kept",
]
