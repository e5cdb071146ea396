"""A record's life after 18: the daily job (archive, expiry of ended involvements,
destruction that leaves no trace) and extensions recorded with the young person's consent."""

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
