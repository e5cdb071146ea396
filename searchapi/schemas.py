"""Request and response bodies of the access, audit and admin routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from db.access import Principal, Role, VettingChange
from searchapi.text_input import NoControl


class LoginRequest(BaseModel):
    """The three factors; each is required (an empty one fails like a wrong one)."""

    username: NoControl = Field(max_length=200)
    password: NoControl = Field(max_length=1024)
    pin: NoControl = Field(max_length=32)
    code: NoControl = Field(max_length=16, description="The current code of the security token")


class Me(BaseModel):
    """Who is acting, as the service sees it."""

    username: str
    roles: list[str]
    authorities: list[str]
    organisation: str | None
    child_protection: bool
    archive_access: bool
    client: str | None
    permissions: list[str]

    @classmethod
    def of(cls, principal: Principal, permissions: frozenset[str]) -> Me:
        """The view of `principal`."""
        return cls(
            username=principal.username,
            roles=sorted(principal.roles),
            authorities=sorted(principal.authorities),
            organisation=principal.organisation,
            child_protection=principal.child_protection,
            archive_access=principal.archive_access,
            client=principal.client_name,
            permissions=sorted(permissions),
        )


class LoginResponse(BaseModel):
    """The session token (also set as an HttpOnly cookie) and its limits."""

    token: str
    token_type: str = "bearer"
    expires_at: datetime
    idle_timeout_s: int
    me: Me


class ErrorBody(BaseModel):
    """Every error: a message and the request id to quote (a 422 may list the fields)."""

    message: str = Field(examples=["There is no child with this identifier."])
    request_id: str = Field(examples=["5f0c2e9b8d3a4c1e9f7a6b5c4d3e2f10"])


class FieldProblem(BaseModel):
    """One field of a refused request and what is wrong with it (never the value sent)."""

    field: str = Field(examples=["query.from"])
    problem: str = Field(examples=["Value error, the year must be between 1900 and 2200"])


class ValidationErrorBody(ErrorBody):
    """A 422: the fields that are not valid."""

    errors: list[FieldProblem]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of these error statuses, each with its body."""
    return {
        status: {"model": ValidationErrorBody if status == 422 else ErrorBody}
        for status in statuses
    }


class Done(BaseModel):
    """A change was made."""

    message: str


class AuditPage(BaseModel):
    """Newest first; pass `next_cursor` as `cursor` for the next page."""

    events: list[dict[str, Any]]
    next_cursor: str | None


class VettingRequest(BaseModel):
    """A user's vetting as recorded (the API twin of `contactpoint users record-vetting`):
    what is left out stays as it was; who checked the identity comes with its date. A field it
    does not have is refused (422), not ignored: a typo must not pass for a recorded check."""

    model_config = ConfigDict(extra="forbid")

    identity_checked_by: NoControl | None = Field(
        default=None, max_length=200, description="Who checked their identity (a name)"
    )
    identity_checked_on: date | None = None
    dbs_checked_on: date | None = Field(
        default=None, description="The date of the enhanced criminal-records (DBS) check"
    )
    training_completed_on: date | None = Field(
        default=None, description="When the mandatory training was completed"
    )

    def change(self) -> VettingChange:
        """The change as the service takes it."""
        return VettingChange(
            identity_checked_by=self.identity_checked_by,
            identity_checked_on=self.identity_checked_on,
            dbs_checked_on=self.dbs_checked_on,
            training_completed_on=self.training_completed_on,
        )


class VettingRecordedResponse(BaseModel):
    """The vetting was recorded: whether it is current, and the sessions it ended."""

    username: str
    current: bool
    not_current: list[str]
    sessions_ended: int


class CreateUserRequest(BaseModel):
    """A new account (the API twin of `contactpoint users create`)."""

    username: str = Field(max_length=100)
    roles: list[Role] = Field(min_length=1)
    authorities: list[str] = Field(default_factory=list)
    organisation: str | None = Field(default=None, max_length=200)
    child_protection: bool = False
    archive_access: bool = Field(
        default=False, description="May open archived records with a reason (la_manager only)"
    )
    expires_at: datetime | None = None
    email: str | None = Field(
        default=None,
        max_length=401,
        description="Their work e-mail: the practitioner (of involvements) whose notices they get",
    )
    password: str = Field(max_length=1024)
    pin: str = Field(max_length=32)
    vetting: VettingRequest | None = Field(
        default=None, description="Without it the account cannot sign in until it is recorded"
    )


class EnrolmentResponse(BaseModel):
    """Shown once: enrol the secret in the user's token or authenticator app."""

    username: str
    totp_secret: str
    provisioning_uri: str


class CreateClientRequest(BaseModel):
    """A new CMS client (the API twin of `contactpoint clients create`)."""

    name: str = Field(max_length=100)
    roles: list[Role] = Field(default_factory=lambda: [Role.PRACTITIONER], min_length=1)
    authority: str = Field(max_length=20)
    networks: list[Annotated[str, Field(max_length=50)]] = Field(
        default_factory=list,
        max_length=50,
        description="CIDR networks it may call from; the loopback when empty",
        examples=[["10.20.0.0/16"]],
    )
    organisation: str | None = Field(
        default=None,
        max_length=120,
        description="KIND:CODE of the organisation it writes for; none: read-only",
        examples=["gp_practice:B86010"],
    )


class IssuedKeyResponse(BaseModel):
    """Shown once: the client's API key (only its digest is stored)."""

    name: str
    key: str
