"""The request and answer of recording an extension past 18 (lifecycle/extensions.py)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from lifecycle.rules import ExtensionReason


class ExtensionRequest(BaseModel):
    """Why the record stays on, when the young person consented, and when to review it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "care_leaver",
                    "consent_given_on": "2026-11-20",
                    "review_on": "2027-11-20",
                }
            ]
        },
    )

    reason: ExtensionReason
    # Required by the service, with its own message: an extension needs explicit consent.
    consent_given_on: date | None = None
    review_on: date


class ExtensionResponse(BaseModel):
    """The extension now in force: until the review date, at the latest the day before 25."""

    reason: ExtensionReason
    consent_given_on: date
    consent_recorded_by: str
    review_on: date
    kept_until: date = Field(description="The last day the record stays unless renewed.")
    request_id: str
