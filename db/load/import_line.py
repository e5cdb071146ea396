"""Pydantic models of one import line (docs/import-format.md), normalising as they validate.

Named `Imported*`: they are what a line says, not the rows of `db.models` (`Child`, `Carer`...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from db.normalise import (
    LOCAL_AUTHORITY_CODE,
    collapse_whitespace,
    has_control_characters,
    is_valid_nhs_number,
    normalise_email,
    normalise_identifier,
    normalise_phone,
)
from db.vocabulary import (
    CHILD_STATUSES,
    GENDERS,
    ORGANISATION_KINDS,
    RELATIONSHIPS,
    SENSITIVE_KINDS,
    ChildStatus,
    Gender,
    OrganisationKind,
    Relationship,
)
from mappings.postcodes import normalise_postcode

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
MAX_AGE_YEARS = 25


def _text(max_length: int) -> BeforeValidator:
    """Strip, collapse whitespace, then check length and characters (one call per field)."""

    def clean(value: Any) -> Any:
        if not isinstance(value, str):
            return value  # the strict str schema reports the wrong type
        text = collapse_whitespace(value)
        if not text:
            raise ValueError("must not be empty")
        if len(text) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        if has_control_characters(text):
            raise ValueError("must not contain control characters")
        return text

    return BeforeValidator(clean)


def _one_of(allowed: tuple[str, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in allowed:
            return value.strip().lower()
        raise ValueError(f"must be one of {', '.join(allowed)} (got {value!r})")

    return check


def _identifier(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    identifier = normalise_identifier(value)
    if len(identifier) != 10 or not identifier.isascii() or not identifier.isdigit():
        raise ValueError("must be 10 digits")
    if not is_valid_nhs_number(identifier):
        raise ValueError("fails the NHS-number check digit")
    return identifier


def _postcode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    postcode = normalise_postcode(value)
    if postcode is None:
        raise ValueError(f"{value!r} is not a valid UK postcode")
    return postcode


def _phone(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    phone = normalise_phone(value)
    if phone is None:
        raise ValueError(f"{value!r} is not a UK phone number (digits and spaces, +44 or 0 first)")
    return phone


def _email(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    email = normalise_email(value)
    if email is None:
        raise ValueError("is not a valid email address")
    return email


def _local_authority_code(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    if LOCAL_AUTHORITY_CODE.match(code) is None:
        raise ValueError(f"{value!r} is not an ONS local authority code such as E08000035")
    return code


def _name_characters(value: str) -> str:
    if not all(c.isalpha() or c in " -'’." for c in value):
        raise ValueError("may contain only letters, spaces, hyphens, apostrophes and full stops")
    return value


def _date(value: Any) -> Any:
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("is not a date in YYYY-MM-DD format")


def _timestamp(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 10 and _DATE.match(value[:10]):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            # A timestamp without an offset is taken as UTC (docs/import-format.md).
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise ValueError("is not an ISO 8601 timestamp such as 2024-05-01T09:30:00Z")


def _today(info: ValidationInfo) -> date:
    context = info.context or {}
    today = context.get("today")
    return today if isinstance(today, date) else date.today()


def _not_future(value: datetime, info: ValidationInfo) -> datetime:
    if value.astimezone(UTC).date() > _today(info):
        raise ValueError("is in the future")
    return value


Text50 = Annotated[str, _text(50)]
Text60 = Annotated[str, _text(60)]
Text100 = Annotated[str, _text(100)]
Text200 = Annotated[str, _text(200)]
PersonName = Annotated[str, _text(100), AfterValidator(_name_characters)]
Postcode = Annotated[str, BeforeValidator(_postcode)]
Phone = Annotated[str, BeforeValidator(_phone)]
Email = Annotated[str, BeforeValidator(_email)]
LocalAuthorityCode = Annotated[str, BeforeValidator(_local_authority_code)]
Day = Annotated[date, BeforeValidator(_date)]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp), AfterValidator(_not_future)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ImportedAddress(_Strict):
    lines: list[Text100] = Field(min_length=1, max_length=4)
    town: Text60
    postcode: Postcode


class ImportedLocalAuthority(_Strict):
    code: LocalAuthorityCode
    name: Text100
    team_phone: Phone | None = None
    team_email: Email | None = None


class ImportedOrganisation(_Strict):
    code: Annotated[Text50, AfterValidator(str.upper)]
    name: Text200
    phone: Phone | None = None
    email: Email | None = None
    address: ImportedAddress | None = None
    local_authority_code: LocalAuthorityCode | None = None


class ImportedService(ImportedOrganisation):
    kind: Annotated[OrganisationKind, BeforeValidator(_one_of(ORGANISATION_KINDS))]


class ImportedCarer(_Strict):
    name: Text200
    relationship: Annotated[Relationship, BeforeValidator(_one_of(RELATIONSHIPS))]
    parental_responsibility: StrictBool = False
    phone: Phone | None = None
    email: Email | None = None
    address: ImportedAddress | None = None


class ImportedPractitioner(_Strict):
    name: Text200
    email: Email
    phone: Phone | None = None
    job_title: Text100 | None = None


class ImportedConsent(_Strict):
    given_by: Text200
    recorded_by: Text200
    recorded_at: Timestamp


class ImportedOverride(_Strict):
    by: Text200
    reason: Text200
    at: Timestamp


class ImportedInvolvement(_Strict):
    service: ImportedService
    practitioner: ImportedPractitioner | None = None
    start_date: Day
    end_date: Day | None = None
    lead_professional: StrictBool = False
    assessment_completed: StrictBool = False
    sensitive: StrictBool = False
    consent: ImportedConsent | None = None
    override: ImportedOverride | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_sensitive(cls, data: Any) -> Any:
        if isinstance(data, dict) and "sensitive" not in data:
            service = data.get("service")
            kind = service.get("kind") if isinstance(service, dict) else None
            if isinstance(kind, str) and kind.strip().lower() in SENSITIVE_KINDS:
                return {**data, "sensitive": True}
        return data

    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("start_date")
        if value is not None and isinstance(start, date) and value < start:
            raise ValueError("is before start_date")
        return value


class ImportedShield(_Strict):
    applied_by: Text200
    reason: Text200
    applied_at: Timestamp | None = None


OTHER_NAME_KINDS: tuple[str, ...] = ("former", "alias", "other")
MAX_OTHER_NAMES = 10
MAX_PREVIOUS_ADDRESSES = 10


class ImportedOtherName(_Strict):
    """A name the child was known by: a former family name (before adoption, say) or an alias."""

    family_name: PersonName
    given_names: PersonName | None = None
    kind: Annotated[str, BeforeValidator(_one_of(OTHER_NAME_KINDS))] | None = None


class ImportedPreviousAddress(_Strict):
    """Where the child lived before: a postcode, and optionally the town and the dates."""

    postcode: Postcode
    town: Text60 | None = None
    from_: Annotated[Day | None, Field(alias="from")] = None
    to: Day | None = None

    @field_validator("from_", "to")
    @classmethod
    def _not_in_future(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None and value > _today(info):
            raise ValueError("is in the future")
        return value

    @field_validator("to")
    @classmethod
    def _not_before_from(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("from_")
        if value is not None and isinstance(start, date) and value < start:
            raise ValueError("is before from")
        return value


class ImportedChild(_Strict):
    """One child as an import line gives it, normalised."""

    identifier: Annotated[str, BeforeValidator(_identifier)]
    given_names: PersonName
    family_name: PersonName
    gender: Annotated[Gender, BeforeValidator(_one_of(GENDERS))]
    date_of_birth: Day
    address: ImportedAddress
    local_authority: ImportedLocalAuthority | None = None
    status: Annotated[ChildStatus, BeforeValidator(_one_of(CHILD_STATUSES))] = "active"
    carers: list[ImportedCarer] = Field(default_factory=list)
    education_setting: ImportedOrganisation | None = None
    gp_practice: ImportedOrganisation | None = None
    involvements: list[ImportedInvolvement] = Field(default_factory=list)
    shield: ImportedShield | None = None
    other_names: list[ImportedOtherName] = Field(default_factory=list, max_length=MAX_OTHER_NAMES)
    previous_addresses: list[ImportedPreviousAddress] = Field(
        default_factory=list, max_length=MAX_PREVIOUS_ADDRESSES
    )

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth(cls, value: date, info: ValidationInfo) -> date:
        today = _today(info)
        if value > today:
            raise ValueError("is in the future")
        try:
            oldest = today.replace(year=today.year - MAX_AGE_YEARS)
        except ValueError:  # 29 February
            oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
        if value < oldest:
            raise ValueError(f"is more than {MAX_AGE_YEARS} years ago")
        return value
