"""The vocabulary of the audit: event types, outcomes and the detail keys of each event."""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict


class AuditEventType(StrEnum):
    """What happened (the CHECK of `audit_event.event` lists the same values)."""

    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    ACCESS_DENIED = "access_denied"
    SEARCH = "search"
    VIEW = "view"
    SHIELD_APPLIED = "shield_applied"
    SHIELD_REMOVED = "shield_removed"
    CONSENT_OVERRIDE = "consent_override"
    CONTACT_BROKERED = "contact_brokered"
    USER_CREATED = "user_created"
    USER_SUSPENDED = "user_suspended"
    USER_REINSTATED = "user_reinstated"
    USER_RESET = "user_reset"
    CLIENT_CREATED = "client_created"
    CLIENT_REVOKED = "client_revoked"
    AUDIT_READ = "audit_read"
    AUDIT_EXPORTED = "audit_exported"
    MISUSE_REPORT = "misuse_report"
    LOAD = "load"
    REINDEX = "reindex"
    SHIELD_ACCESS_GRANTED = "shield_access_granted"
    SHIELD_ACCESS_REVOKED = "shield_access_revoked"
    CONSENT_RECORDED = "consent_recorded"
    BREAK_GLASS_REVIEWED = "break_glass_reviewed"
    # A refused request of a known principal (422, too little to search on, ...): the
    # misuse report counts these as fishing.
    REQUEST_REFUSED = "request_refused"
    # The feeds' review queue: an item shown to its team, and a person's decision on it.
    FEED_REVIEW_VIEWED = "feed_review_viewed"
    FEED_REVIEW_DECIDED = "feed_review_decided"
    CHILDREN_MERGED = "children_merged"
    CHILDREN_UNMERGED = "children_unmerged"
    # The managers' list of their authorities' shielded children, as read.
    SHIELD_LIST_READ = "shield_list_read"
    # Practitioners' requests to a child's authority team (a contact request's decision is
    # CONTACT_BROKERED, brokered or declined).
    SHIELD_REQUESTED = "shield_requested"
    SHIELD_REQUEST_DECIDED = "shield_request_decided"
    CONTACT_REQUESTED = "contact_requested"
    # Updates from CMS clients (migration 0016).
    INVOLVEMENT_STARTED = "involvement_started"
    INVOLVEMENT_CHANGED = "involvement_changed"
    ADDRESS_CHANGED = "address_changed"
    # Notifications (migration 0017): the inbox as shown (it names children), and a CMS
    # client's subscription to a child's notices.
    INBOX_READ = "inbox_read"
    CHILD_SUBSCRIBED = "child_subscribed"
    CHILD_UNSUBSCRIBED = "child_unsubscribed"
    CLIENT_WEBHOOK_SET = "client_webhook_set"
    # The lifecycle (migration 0019): one row per daily run (its counts, and the digest of the
    # audit rows it made forget a destroyed child), and an extension recorded or renewed.
    LIFECYCLE_RUN = "lifecycle_run"
    EXTENSION_RECORDED = "extension_recorded"
    # Corrections (migration 0020): a manager's correction of a field, a decision on a feed's
    # change that waits over one, and the history as read; and a subject access report.
    CHILD_CORRECTED = "child_corrected"
    CORRECTION_DECIDED = "correction_decided"
    CORRECTIONS_READ = "corrections_read"
    SUBJECT_ACCESS_REPORT = "subject_access_report"
    # A user's identity check, enhanced criminal-records check or training, as recorded
    # (migration 0021).
    USER_VETTING_RECORDED = "user_vetting_recorded"
    # Migration 0022: an archived record opened (or refused) with a reason from the
    # regulations' list, and a run of the audit's monthly maintenance (retention).
    ARCHIVE_OPENED = "archive_opened"
    AUDIT_RETENTION = "audit_retention"
    # Migration 0023: a backup of the whole database made, and one restored (db/backup.py).
    BACKUP_MADE = "backup_made"
    BACKUP_RESTORED = "backup_restored"


class Outcome(StrEnum):
    """Whether it succeeded, failed (e.g. a wrong password) or was refused by access control."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class SignInDetails(TypedDict, total=False):
    """`sign_in`: why it failed (never the secrets typed)."""

    reason: str
    failed_factors: list[str]
    locked_until: str
    # "vetting_lapsed": what lapsed or is missing (db.access.vetting's problem codes).
    vetting: list[str]


class SearchDetails(TypedDict):
    """`search`: the criteria as given, how many matched, and the identifiers shown."""

    criteria: dict[str, object]
    result_count: int
    identifiers_shown: list[str]


class ViewDetails(TypedDict):
    """`view` (subject = the child's identifier): what was shown, what withheld, and why."""

    identifier: str
    shown_fields: list[str]
    withheld_fields: list[str]
    shielded: bool
    sensitive: bool
    break_glass: bool
    reason: str | None
