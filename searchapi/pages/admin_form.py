"""The administrators' forms: typed values in, what the account services take (or errors) out.

Pure (no I/O). The rules of a good account or client stay in `db.access`; this module checks
only the form's own shape (a date, the listed roles) and merges the services' refusals, which
name their fields, with its own, so that a form shows every error at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from db.access import CLIENT_ROLES, NewUser, Role
from db.errors import Conflict, DomainError
from searchapi.pages.form_dates import DATE_HINT, end_of, parse_day

ROLE_LABELS: Final[Mapping[str, str]] = {
    Role.PRACTITIONER: "Practitioner",
    Role.LA_MANAGER: "Local authority manager",
    Role.ADMIN: "Administrator",
    Role.AUDITOR: "Auditor",
}
CLIENT_ROLE_LABELS: Final = {
    role: label for role, label in ROLE_LABELS.items() if role in CLIENT_ROLES
}
USER_FIELDS: Final = ("username", "email", "organisation", "authorities", "expires")
CLIENT_FIELDS: Final = ("name", "authority", "networks")
# The fields as the forms show them, top to bottom: the error summary lists them so.
USER_FORM_ORDER: Final = (
    "username",
    "email",
    "password",
    "pin",
    "roles",
    "authorities",
    "organisation",
    "child_protection",
    "archive_access",
    "expires",
)
CLIENT_FORM_ORDER: Final = ("name", "roles", "authority", "networks")
_SEPARATORS: Final = re.compile(r"[\s,;]+")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _roles(form: FormData, labels: Mapping[str, str], errors: dict[str, str]) -> list[str]:
    chosen = [value for value in form.getlist("roles") if isinstance(value, str)]
    if any(value not in labels for value in chosen):
        errors["roles"] = "Choose roles from the list"
    return chosen


def sentence(message: str) -> str:
    """A service's message as a page says it: no command-line flags, a capital first letter."""
    text = message.replace("--", "")
    return text[:1].upper() + text[1:]


def form_errors(
    own: Mapping[str, str], problems: Mapping[str, DomainError], order: Sequence[str]
) -> tuple[dict[str, str], int]:
    """The form's own errors and the services' refusals, one a field (the form's first), in the
    form's order; and the status: 409 when the only refusal is a taken name."""
    merged = {**{name: sentence(error.message) for name, error in problems.items()}, **own}
    errors = {name: merged[name] for name in order if name in merged}
    taken = not own and all(isinstance(error, Conflict) for error in problems.values())
    return errors, 409 if taken else 400


@dataclass
class UserForm:
    """The account form: what to show again (never the secrets), and what to create."""

    values: dict[str, str]
    roles: list[str]
    child_protection: bool
    archive_access: bool
    new: NewUser
    password: str
    pin: str
    errors: dict[str, str] = field(default_factory=dict)


def parse_user_form(form: FormData, *, zone: ZoneInfo, today: date) -> UserForm:
    """The new account as `create_user` takes it, and the form's own errors (a value the form
    could not read is left out of `new`, so that the services still judge the rest)."""
    values = {name: _text(form, name) for name in USER_FIELDS}
    errors: dict[str, str] = {}
    roles = _roles(form, ROLE_LABELS, errors)
    child_protection = _text(form, "child_protection") == "yes"
    archive_access = _text(form, "archive_access") == "yes"
    expires_at: datetime | None = None
    if values["expires"]:
        day = parse_day(values["expires"])
        if day is None:
            errors["expires"] = f"Enter the expiry date as a real date. {DATE_HINT}"
        elif day < today:
            errors["expires"] = "The expiry date must be today or in the future"
        else:
            # The account works until the end of its last day.
            expires_at = end_of(day, zone)
    # The password is taken as typed: the service refuses spaces at its ends rather than trim them.
    password = form.get("password")
    return UserForm(
        values=values,
        roles=roles,
        child_protection=child_protection,
        archive_access=archive_access,
        errors=errors,
        new=NewUser(
            username=values["username"],
            roles=frozenset(Role(role) for role in roles if role in ROLE_LABELS),
            authorities=frozenset(
                code.upper() for code in _SEPARATORS.split(values["authorities"]) if code
            ),
            organisation=values["organisation"] or None,
            child_protection=child_protection,
            archive_access=archive_access,
            expires_at=expires_at,
            email=values["email"] or None,
        ),
        password=password if isinstance(password, str) else "",
        pin=_text(form, "pin"),
    )


@dataclass
class ClientForm:
    """The CMS client form: what to show again, and what to create."""

    values: dict[str, str]
    roles: list[str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def role_set(self) -> frozenset[Role]:
        """The chosen roles that are on the form's list."""
        return frozenset(Role(role) for role in self.roles if role in CLIENT_ROLE_LABELS)

    @property
    def networks(self) -> list[str]:
        """The networks typed, separated by spaces, commas or semicolons."""
        return [part for part in _SEPARATORS.split(self.values["networks"]) if part]


def parse_client_form(form: FormData) -> ClientForm:
    """The new client as `create_client` takes it, and the form's own errors."""
    values = {name: _text(form, name) for name in CLIENT_FIELDS}
    values["authority"] = values["authority"].upper()
    errors: dict[str, str] = {}
    roles = _roles(form, CLIENT_ROLE_LABELS, errors)
    return ClientForm(values=values, roles=roles, errors=errors)
