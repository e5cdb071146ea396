"""Response bodies of the record view and request bodies of shield and consent changes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from db.vocabulary import ARCHIVE_REASONS
from searchapi.text_input import OneLine, Reason

SENSITIVE_SERVICE = "sensitive service"
# A shielded child's service: its name and contacts would locate the child.
WITHHELD_SERVICE = "service withheld (shielded)"


class Address(BaseModel):
    """Lines, town and postcode."""

    lines: list[str]
    town: str | None
    postcode: str | None


class OtherNameView(BaseModel):
    """A name the child was known by: a former family name or an alias (not location)."""

    family_name: str
    given_names: str | None
    kind: str | None


class PreviousAddressView(BaseModel):
    """Where the child lived before: location, shown only where the address is."""

    postcode: str
    town: str | None
    from_date: date | None
    to_date: date | None


class TeamContact(BaseModel):
    """A local authority's management team: whom to contact about a withheld detail."""

    code: str
    name: str
    team_phone: str | None
    team_email: str | None


class CarerView(BaseModel):
    """A parent or carer; `address` null when it is the child's or withheld; `phone` and
    `email` null when withheld (a shielded child: contact through the local authority team)."""

    name: str
    relationship: str
    parental_responsibility: bool
    phone: str | None
    email: str | None
    address: Address | None
    address_withheld: bool
    contact_withheld: bool


class OrganisationView(BaseModel):
    """A school or GP practice."""

    name: str
    phone: str | None
    email: str | None
    address: Address | None


class PractitionerView(BaseModel):
    """A named professional and how to reach them."""

    name: str
    job_title: str | None
    phone: str | None
    email: str | None


class InvolvementView(BaseModel):
    """A service working with the child; a sensitive one without consent shows only as
    "sensitive service" with the local authority team as contact. For a shielded child the
    service's name and contacts are withheld (`service_withheld`, `phone` and `email` are the
    team's) while its practitioner, kind and flags stay."""

    id: int
    service: str = Field(examples=["Leeds Health Visiting", SENSITIVE_SERVICE, WITHHELD_SERVICE])
    kind: str | None
    phone: str | None
    email: str | None
    practitioner: PractitionerView | None
    start_date: date | None
    end_date: date | None
    lead_professional: bool
    assessment_completed: bool
    sensitive: bool
    details_withheld: bool
    service_withheld: bool
    consent_recorded: bool
    override_recorded: bool
    # The local authority the service works in, where the service is shown (a child who moved
    # keeps the old area's services, marked with it and their end date).
    area: str | None = Field(default=None, examples=["Leeds"])


class FieldSourceView(BaseModel):
    """Which national feed said a field of the record, in which record, as of when."""

    field: str = Field(examples=["gp_practice"])
    source: str = Field(examples=["health"])
    record_id: str = Field(examples=["9434765013"])
    as_of: date


class ChildRecordView(BaseModel):
    """One child as the caller may see it; `withheld` names what was left out."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "identifier": "9202466335",
                    "given_names": "Jacob Elliott",
                    "family_name": "Leech",
                    "gender": "male",
                    "date_of_birth": "2019-04-27",
                    "status": "active",
                    "local_authority": {
                        "code": "E06000010",
                        "name": "Kingston upon Hull",
                        "team_phone": "01632 960417",
                        "team_email": "cp.team@kingston-upon-hull.example.gov.uk",
                    },
                    "other_names": [{"family_name": "Hart", "given_names": None, "kind": "former"}],
                    "address": None,
                    "previous_addresses": None,
                    "location_withheld": True,
                    "shielded": True,
                    "carers": [],
                    "education_setting": None,
                    "gp_practice": None,
                    "involvements": [],
                    "withheld": [
                        "address",
                        "previous_addresses",
                        "education_setting",
                        "gp_practice",
                    ],
                    "break_glass": False,
                    "record_version": 3,
                    "request_id": "5f0c2e9b8d3a4c1e9f7a6b5c4d3e2f10",
                }
            ]
        }
    )

    identifier: str
    given_names: str
    family_name: str
    gender: str
    date_of_birth: date
    status: str
    local_authority: TeamContact | None
    other_names: list[OtherNameView]
    address: Address | None
    # Null when the location is withheld, as the address is.
    previous_addresses: list[PreviousAddressView] | None
    location_withheld: bool
    # Shielded (withheld or, to its managers and named practitioners, shown with a tag).
    shielded: bool
    carers: list[CarerView]
    education_setting: OrganisationView | None
    gp_practice: OrganisationView | None
    involvements: list[InvolvementView]
    withheld: list[str]
    # Shown to the managers of the child's authority only (null to everyone else): each field a
    # national feed set, and which (docs/feeds/README.md); a field no feed set is the authority's.
    field_sources: list[FieldSourceView] | None = None
    break_glass: bool
    # The version a CMS sends back in If-Match to change the record (also the answer's ETag).
    record_version: int
    request_id: str


class ReasonRequest(BaseModel):
    """Why (kept in the record and the audit)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "Risk of harm from a relative"}]}
    )

    reason: Reason = Field(examples=["Risk of harm from a relative"])


class BreakGlassRequest(BaseModel):
    """Why a shielded child's location must be seen now (child protection): in the body, never
    in an address, where proxies and browser history would keep it."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(examples=["Section 47 enquiry, child at immediate risk"])


class ArchiveRequest(BaseModel):
    """Why an archived record must be opened: one of the regulations' purposes, and words.

    Checked by the service, not here, so that a refused reason is audited as an archive
    attempt (`searchapi.archive`).
    """

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        max_length=100,
        json_schema_extra={"enum": list(ARCHIVE_REASONS)},
        description="One of the regulations' purposes (docs/archive-access.md)",
    )
    words: str = Field(
        max_length=2000,
        description="Why this record is needed: at least 10 letters or digits, 200 characters",
        examples=["Serious case review 2026/14 commissioned by the safeguarding partnership"],
    )


class ShieldAccessRequest(BaseModel):
    """A practitioner to name (or un-name) for a shielded child's location, and why."""

    model_config = ConfigDict(extra="forbid")

    username: OneLine = Field(min_length=3, max_length=100, examples=["j.smith"])
    reason: Reason = Field(examples=["Allocated social worker"])


class ConsentRequest(BaseModel):
    """Who consented to the sensitive service being shown."""

    model_config = ConfigDict(extra="forbid")

    given_by: OneLine = Field(
        min_length=2, max_length=200, examples=["Jordan Leech (the young person)"]
    )


class ChangeResponse(BaseModel):
    """What changed; the index follows through the outbox within seconds."""

    message: str
    request_id: str
