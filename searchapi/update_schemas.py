"""Request and response bodies of the updates from CMS clients, normalised as the loader does."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from db.normalise import has_control_characters, normalise_email, normalise_phone
from mappings.postcodes import normalise_postcode
from searchapi.record_schemas import ChildRecordView
from searchapi.text_input import OneLine, Reason


def _normalised(normalise: Any, problem: str) -> BeforeValidator:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the str schema reports the wrong type
        normal = None if has_control_characters(value) else normalise(value)
        if normal is None:
            raise ValueError(problem)
        return normal

    return BeforeValidator(check)


def _required(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return value


def _not_future(value: datetime) -> datetime:
    if value > datetime.now(UTC):
        raise ValueError("is in the future")
    return value


def _not_future_day(value: date) -> date:
    if value > datetime.now(UTC).date():
        raise ValueError("is in the future")
    return value


Phone = Annotated[
    str,
    _normalised(normalise_phone, "is not a UK phone number (digits and spaces, +44 or 0 first)"),
]
Email = Annotated[str, _normalised(normalise_email, "is not a valid email address")]
Postcode = Annotated[str, _normalised(normalise_postcode, "is not a valid UK postcode")]
# One line once whitespace is collapsed, not empty, of at most so many characters.
AddressLine = Annotated[OneLine, Field(max_length=100), AfterValidator(_required)]
Town = Annotated[OneLine, Field(max_length=60), AfterValidator(_required)]
Name = Annotated[OneLine, Field(max_length=200), AfterValidator(_required)]
JobTitle = Annotated[OneLine, Field(max_length=100), AfterValidator(_required)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PractitionerRequest(_Request):
    """The practitioner who works with the child for the client's organisation."""

    name: Name = Field(examples=["Amara Okafor"])
    email: Email = Field(examples=["amara.okafor@leeds.example.nhs.uk"])
    phone: Phone | None = Field(default=None, examples=["0113 496 0203"])
    job_title: JobTitle | None = Field(default=None, examples=["Health visitor"])


class ConsentGiven(_Request):
    """Who consented to a sensitive service being shown, and when."""

    given_by: Name = Field(examples=["Jordan Leech (the young person)"])
    given_at: Annotated[AwareDatetime, AfterValidator(_not_future)] = Field(
        examples=["2025-03-01T10:00:00Z"]
    )


class OverrideRequest(_Request):
    """A child-protection override: the sensitive service is shown without consent."""

    reason: Reason = Field(examples=["Section 47 enquiry: the team must know who is involved"])


class StartInvolvementRequest(_Request):
    """A new involvement of the client's organisation with the child."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "practitioner": {
                        "name": "Amara Okafor",
                        "email": "amara.okafor@leeds.example.nhs.uk",
                        "phone": "0113 496 0203",
                        "job_title": "Health visitor",
                    },
                    "start_date": "2025-03-01",
                    "lead_professional": True,
                }
            ]
        },
    )

    practitioner: PractitionerRequest
    # Today when omitted.
    start_date: Annotated[date, AfterValidator(_not_future_day)] | None = None
    lead_professional: StrictBool = False
    assessment_completed: StrictBool = False
    # A service is sensitive by its kind or flag; a CMS may mark any of its involvements so.
    sensitive: StrictBool = False
    consent: ConsentGiven | None = None
    child_protection_override: OverrideRequest | None = None


class ChangeInvolvementRequest(_Request):
    """End an involvement, or set or clear its flags (at least one field)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"lead_professional": True}, {"end_date": "2025-06-30"}]},
    )

    end_date: date | None = None
    lead_professional: StrictBool | None = None
    assessment_completed: StrictBool | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.end_date is None and self.lead_professional is None:
            if self.assessment_completed is None:
                raise ValueError(
                    "send end_date, lead_professional or assessment_completed (at least one)"
                )
        return self


class AddressRequest(_Request):
    """The child's new address, from a permitted source."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"lines": ["12 Mill Lane"], "town": "Leeds", "postcode": "LS6 2AB"}]
        },
    )

    lines: list[AddressLine] = Field(min_length=1, max_length=4)
    town: Town
    postcode: Postcode


class UpdateResponse(BaseModel):
    """The record after the change, as the caller may see it (the index follows within
    seconds); `record_version` is the new ETag."""

    message: str
    record_version: int
    # The involvement started or changed, if any.
    involvement_id: int | None
    record: ChildRecordView
    request_id: str
