"""A record's life as the law sets it: the daily job after 18 (archive, expiry of ended
involvements, destruction that leaves no trace), extensions recorded with the young person's
consent, and subject access reports. Works on db/; never on searchapi/, whose access decision
the callers apply."""

from lifecycle.extensions import (
    ExtensionState,
    extension_in_force,
    reason_choices,
    record_extension,
)
from lifecycle.rules import (
    EXTENSION_REASON_LABELS,
    ExtensionReason,
    anniversary,
    archive_day,
    destruction_day,
    extension_limit,
    latest_start,
)
from lifecycle.run import LifecycleBusy, LifecycleJob, RunReport, report_lines, run_lifecycle

__all__ = [
    "EXTENSION_REASON_LABELS",
    "ExtensionReason",
    "ExtensionState",
    "LifecycleBusy",
    "LifecycleJob",
    "RunReport",
    "anniversary",
    "archive_day",
    "destruction_day",
    "extension_in_force",
    "extension_limit",
    "latest_start",
    "reason_choices",
    "record_extension",
    "report_lines",
    "run_lifecycle",
]
