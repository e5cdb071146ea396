"""The SQLAlchemy models of the ContactPoint schema."""

from db.models.access import (
    ApiClient,
    AppUser,
    IdempotencyRecord,
    SavedSearch,
    SignInLockout,
    SignInThrottle,
    UserAuthority,
    UserSession,
)
from db.models.audit import AuditEvent, AuditRedaction, AuditSeal, AuditSealEntry
from db.models.base import Base
from db.models.break_glass import BreakGlassReview, ReviewOutcome
from db.models.children import Carer, Child
from db.models.corrections import ChildCorrection, CorrectionConfirmation
from db.models.feeds import (
    ChildFieldSource,
    ChildMerge,
    ChildSourceIdentifier,
    FeedReview,
    ReceivedRecord,
)
from db.models.history import OtherName, PreviousAddress
from db.models.involvements import Involvement, Shield, ShieldAccess
from db.models.lifecycle import ChildExtension, LifecycleRun
from db.models.match_frequency import MatchFrequency, MatchFrequencyTotal, MatchLevelCount
from db.models.notifications import Notification, NotificationDelivery, WebhookSubscription
from db.models.organisations import LocalAuthority, Organisation, PostcodeAuthority, Practitioner
from db.models.requests import ContactRequest, ShieldRequest

__all__ = [
    "ApiClient",
    "AppUser",
    "AuditEvent",
    "AuditRedaction",
    "AuditSeal",
    "AuditSealEntry",
    "Base",
    "BreakGlassReview",
    "Carer",
    "Child",
    "ChildExtension",
    "ChildCorrection",
    "ChildFieldSource",
    "ChildMerge",
    "ContactRequest",
    "CorrectionConfirmation",
    "ChildSourceIdentifier",
    "FeedReview",
    "IdempotencyRecord",
    "Involvement",
    "LifecycleRun",
    "LocalAuthority",
    "PostcodeAuthority",
    "MatchFrequency",
    "MatchFrequencyTotal",
    "MatchLevelCount",
    "Notification",
    "NotificationDelivery",
    "Organisation",
    "OtherName",
    "Practitioner",
    "PreviousAddress",
    "ReceivedRecord",
    "ReviewOutcome",
    "SavedSearch",
    "Shield",
    "ShieldRequest",
    "ShieldAccess",
    "SignInLockout",
    "SignInThrottle",
    "UserAuthority",
    "UserSession",
    "WebhookSubscription",
]
